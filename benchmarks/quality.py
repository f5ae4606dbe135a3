"""Sample quality per variant at an equal wall-clock budget on the embedded MNIST.

Each registered variant trains for `--minutes` (its `cpu` preset where it has one, else its
paper defaults), then its final weights are scored on 10,000 samples against the MNIST
test split with the lenet-mnist extractor (not comparable with Inception FIDs in papers).
Writes benchmarks/results/quality.{json,md,png}.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time
from pathlib import Path

import torch

import gankit
from gankit.api import train
from gankit.engine.checkpoint import atomic_write_bytes, atomic_write_text
from gankit.evaluation import evaluate_model
from gankit.registry import get_model_class

METRICS = ("fid", "kid", "is", "pr", "dc")
CHART = ("fid", "is", "precision", "recall", "density", "coverage")


def run_variant(name: str, minutes: float, n: int, seed: int, workdir: Path) -> dict:
    cls = get_model_class(name)
    preset = "cpu" if "cpu" in cls.config_class.presets else None
    start = time.perf_counter()
    run = train(name, "mnist", out=workdir, name=name, preset=preset, minutes=minutes, seed=seed,
                sample_every=10**9, checkpoint_every=10**9, log_every=100)
    train_s = time.perf_counter() - start
    model = gankit.load(run)
    steps = json.loads((run / "log.jsonl").read_text().splitlines()[-1])["step"]
    result = evaluate_model(model, {"data": {"source": "mnist"}}, METRICS, n=n, seed=seed)
    scores = {k.split("[")[0]: v for k, v in result["metrics"].items()}
    grid = run / "samples.png"
    return {"model": name, "preset": preset, "steps": steps, "train_seconds": train_s, "metrics": scores,
            "protocol": result["protocol"], "grid_png": grid.read_bytes() if grid.is_file() else None}


def chart(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CHART), figsize=(3 * len(CHART), 3.2))
    names = [r["model"] for r in rows]
    for ax, key in zip(axes, CHART):
        ax.bar(names, [r["metrics"].get(key, float("nan")) for r in rows], color="#4c72b0")
        ax.set_title(f"{key}[lenet-mnist]" + (" (lower is better)" if key == "fid" else ""), fontsize=9)
        ax.tick_params(axis="x", rotation=45, labelsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget per variant")
    parser.add_argument("--models", help="comma list (default: every registered variant)")
    parser.add_argument("-n", type=int, default=10_000, help="generated images per evaluation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    names = args.models.split(",") if args.models else gankit.list_models()
    out = Path(args.out)
    (out / "quality").mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            print(f"{name}: training for {args.minutes} min ...", flush=True)
            row = run_variant(name, args.minutes, args.n, args.seed, Path(workdir))
            if row.pop("grid_png") is not None:
                atomic_write_bytes(out / "quality" / f"{name}.png", (Path(workdir) / name / "samples.png").read_bytes())
            rows.append(row)
            print(f"{name}: {row['steps']} steps, " + ", ".join(f"{k} {v:.3f}" for k, v in row["metrics"].items()))
    meta = {"minutes_per_variant": args.minutes, "n": args.n, "seed": args.seed, "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(), "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
            "command": f"python benchmarks/quality.py --minutes {args.minutes}"}
    atomic_write_text(out / "quality.json", json.dumps({"meta": meta, "rows": rows}, indent=2))
    keys = ["fid", "kid", "is", "precision", "recall", "density", "coverage"]
    lines = [
        "# Sample quality at an equal budget", "",
        f"Each variant trained {args.minutes} min on the embedded MNIST ({meta['cpus']} CPUs), then scored on "
        f"{args.n} samples against the MNIST test split with the lenet-mnist extractor (`{meta['command']}`). "
        "These are domain-classifier scores: not comparable with Inception FIDs in papers.", "",
        "| model | preset | steps | " + " | ".join(f"{k}[lenet-mnist]" for k in keys) + " |",
        "|---|---|---:|" + "---:|" * len(keys),
        *[f"| {r['model']} | {r['preset'] or 'paper'} | {r['steps']} | "
          + " | ".join(f"{r['metrics'][k]:.3f}" for k in keys) + " |" for r in rows],
        "", "Sample grids: `benchmarks/results/quality/<model>.png`. Chart: `quality.png`.", "",
    ]
    atomic_write_text(out / "quality.md", "\n".join(lines))
    chart(rows, out / "quality.png")


if __name__ == "__main__":
    main()
