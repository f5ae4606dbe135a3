"""The shape of "Are GANs Created Equal?" (Lucic et al., arXiv 1711.10337) at CPU scale.

Every loss trains with the same architecture (the `conv` preset: a CPU-sized DCGAN at
32x32, or `--preset mlp`), the same number of steps (one D update each; n_critic variants
update G less often, as their papers prescribe) and several seeds, then is scored with
fid[lenet-mnist] on 5,000 samples against the MNIST test split. The point of the paper is
the spread over seeds, so the table reports median, min and max, and the chart is a box
plot. Writes benchmarks/results/study.{json,md,png}.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

import gankit
from gankit.api import train
from gankit.evaluation import evaluate_model
from gankit.fileio import atomic_write_bytes, atomic_write_text

LOSSES = ("mmgan", "nsgan", "lsgan", "wgan", "wgan_gp", "dragan", "began", "bgan")


def box_plot(results: dict[str, list[float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, ax = plt.subplots(figsize=(1.1 * len(names) + 2, 4))
    ax.boxplot([results[n] for n in names], showmeans=False)
    for i, name in enumerate(names, start=1):
        ax.scatter([i] * len(results[name]), results[name], s=12, color="#c44e52", zorder=3)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=30)
    ax.set_ylabel("fid[lenet-mnist] (lower is better)")
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--losses", default=",".join(LOSSES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--preset", default="conv")
    parser.add_argument("-n", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: the engine's default)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    names = [n for n in args.losses.split(",") if n]
    available = set(gankit.list_models())
    missing = [n for n in names if n not in available]
    names = [n for n in names if n in available]
    runs, fids = [], {n: [] for n in names}
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            for seed in range(args.seeds):
                start = time.perf_counter()
                run = train(name, "mnist", out=workdir, name=f"{name}-{seed}", preset=args.preset, steps=args.steps,
                            seed=seed, threads=args.threads, sample_every=10**9, checkpoint_every=10**9, log_every=100)
                seconds = time.perf_counter() - start
                fid = evaluate_model(gankit.load(run), {"data": {"source": "mnist"}}, ("fid",), n=args.n, seed=seed)
                value = fid["metrics"]["fid[lenet-mnist]"]
                fids[name].append(value)
                runs.append({"loss": name, "seed": seed, "fid": value, "train_seconds": seconds})
                print(f"{name} seed {seed}: fid[lenet-mnist] {value:.1f} ({seconds:.0f} s)", flush=True)
    command = f"python benchmarks/study.py --steps {args.steps} --seeds {args.seeds} --preset {args.preset}"
    meta = {"steps": args.steps, "seeds": args.seeds, "preset": args.preset, "n": args.n, "cpus": os.cpu_count(),
            "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"), "command": command, "not_registered": missing}
    summary = {n: {"median": statistics.median(v), "min": min(v), "max": max(v)} for n, v in fids.items()}
    atomic_write_text(Path(args.out) / "study.json", json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=2))
    ranked = sorted(summary, key=lambda n: summary[n]["median"])
    lines = [
        "# Are GANs created equal? At CPU scale", "",
        f"Same architecture (`{args.preset}` preset), {args.steps} steps, seeds 0..{args.seeds - 1}, fid[lenet-mnist] on "
        f"{args.n} samples vs the MNIST test split (`{command}`). Lower is better.", "",
        "| loss | median | min | max | spread (max - min) |", "|---|---:|---:|---:|---:|",
        *[f"| {n} | {summary[n]['median']:.0f} | {summary[n]['min']:.0f} | {summary[n]['max']:.0f} | "
          f"{summary[n]['max'] - summary[n]['min']:.0f} |" for n in ranked],
        "", "Box plot: `study.png`." + (f" Not registered yet, so not run: {', '.join(missing)}." if missing else ""), "",
    ]
    atomic_write_text(Path(args.out) / "study.md", "\n".join(lines))
    box_plot(fids, Path(args.out) / "study.png", f"{args.steps} steps, {args.seeds} seeds, {args.preset} preset")


if __name__ == "__main__":
    main()
