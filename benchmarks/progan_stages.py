"""ProGAN proof (#37): fid[lenet-mnist] of the EMA generator at the end of every stage and during every
fade-in, read from the run log (`--eval-every` also measures each stage's end); a figure of the same
samples at the end of each stage; and the paper's test of minibatch stddev: modes covered on Stacked
MNIST (three digits as RGB channels, 1,000 modes) with and without it.

    python benchmarks/progan_stages.py --jobs 2 --threads 1   # ~35 min on 2 cores; writes
        benchmarks/results/proofs/progan_stages.json, progan-stages.png and progan_modes.json
    python benchmarks/progan_stages.py --parts stages --threads 2   # the FID curve and figure only (~11 min)
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path

from workers import worker_pool

from gankit.fileio import atomic_write_text

CONFIG = {"latent_dim": 128, "widths": (128, 128, 64, 32), "stage_steps": (500, 1000, 1000)}
STEPS, BATCH, EVAL_N = 3500, 32, 2000
MBSTD_GROUPS = (4, 0)  # the paper's group of 4, and 0: no minibatch stddev layer
RESULTS = Path("benchmarks/results/proofs")


def stage_run(out: str, threads: int, eval_every: int) -> dict:
    """The 32 px MNIST run: FID at each stage end and through each fade-in."""
    from gankit.api import train

    start = time.time()
    ends = [*itertools.accumulate(CONFIG["stage_steps"]), STEPS]
    run = train("progan", "mnist", out=out, name=f"progan-stages-{int(start)}", model_config=CONFIG,
                steps=STEPS, seed=0, batch_size=BATCH, eval_every=eval_every, eval_n=EVAL_N,
                sample_every=math.gcd(*ends), checkpoint_every=500, log_every=50, threads=threads)  # a grid at each end
    rows = [json.loads(line) for line in (Path(run) / "log.jsonl").read_text().splitlines()]
    stages = [r for r in rows if r.get("event") == "stage"]
    evals = [r for r in rows if "eval/fid[lenet-mnist]" in r]
    ends = {r["stage_end"]: r["eval/fid[lenet-mnist]"] for r in evals if "stage_end" in r}
    spikes = []
    for prev, stage in zip(stages, stages[1:]):
        before = ends[prev["stage"]]
        fade_end = stage["step"] + stage["steps"] // 2
        inside = [r["eval/fid[lenet-mnist]"] for r in evals if stage["step"] < r["step"] <= fade_end]
        spikes.append({"stage": stage["stage"], "fid_before": before, "max_in_fade": max(inside, default=None),
                       "ratio": max(inside, default=before) / before})
    order = [s["stage"] for s in stages]
    falls = all(ends[a] > ends[b] for a, b in zip(order, order[1:]))
    stage_ends = [(s["stage"], s["step"] + s["steps"]) for s in stages]
    return {"command": "python benchmarks/progan_stages.py --jobs 2 --threads 1", "config": CONFIG, "steps": STEPS,
            "batch_size": BATCH, "ema": 0.999, "eval_n": EVAL_N, "fid_at_stage_end": ends, "fade_in": spikes,
            "falls_stage_by_stage": falls, "max_fade_ratio": max(s["ratio"] for s in spikes),
            "target": "falls stage by stage, no spike above 1.5x at a fade-in",
            "met": falls and max(s["ratio"] for s in spikes) <= 1.5,
            "curve": [(r["step"], r["eval/fid[lenet-mnist]"]) for r in evals], "stage_ends": stage_ends,
            "threads": threads, "seconds": round(time.time() - start), "run": str(run)}


def modes_run(out: str, threads: int, mbstd_group: int) -> dict:
    """The same recipe on Stacked MNIST, with D's minibatch stddev group as given (0: none)."""
    import gankit
    from gankit.api import read_run_config, train
    from gankit.capabilities import measure
    from gankit.evaluation import held_out

    start = time.time()
    run = train("progan", "stacked-mnist", out=out, name=f"progan-modes-g{mbstd_group}-{int(start)}",
                model_config={**CONFIG, "channels": 3, "mbstd_group": mbstd_group}, steps=STEPS, seed=0,
                batch_size=BATCH, sample_every=500, checkpoint_every=500, log_every=50, threads=threads)
    train_s = time.time() - start
    model, info = gankit.load(run), read_run_config(run)
    metrics = measure(model, held_out(info, model), names=("stacked_modes",))
    print(f"progan stacked-mnist mbstd_group {mbstd_group}: {train_s / 60:.1f} min, "
          + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()), flush=True)
    return {"mbstd_group": mbstd_group, "metrics": metrics, "train_seconds": round(train_s), "threads": threads,
            "run": str(run)}


def stage_figure(result: dict, path: Path) -> None:
    """The run's fixed-noise sample grid at the end of each stage, side by side (same z throughout)."""
    from PIL import Image, ImageDraw

    run = Path(result["run"])
    grids = [(name, Image.open(run / "samples" / f"step-{step:08d}.png").convert("RGB"))
             for name, step in result["stage_ends"]]
    w, h = grids[0][1].size
    label, gap = 18, 8
    figure = Image.new("RGB", (len(grids) * (w + gap) - gap, h + label), "white")
    draw = ImageDraw.Draw(figure)
    for i, (name, grid) in enumerate(grids):
        x = i * (w + gap)
        figure.paste(grid.resize((w, h), Image.NEAREST), (x, label))
        fid = result["fid_at_stage_end"][name]
        draw.text((x + 2, 3), f"end of {name} (fid {fid:.0f})", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    figure.save(tmp)
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="stages,modes", help="stages (FID curve, figure), modes (mbstd ablation)")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel processes, sharing the cores")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads per run")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--out", default="runs/proofs", help="where the runs are kept")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not parts or parts - {"stages", "modes"}:
        ap.error(f"--parts takes stages and/or modes, got {args.parts!r}")
    with worker_pool(args.jobs) as pool:
        stages = pool.submit(stage_run, args.out, args.threads, args.eval_every) if "stages" in parts else None
        modes = [pool.submit(modes_run, args.out, args.threads, g) for g in MBSTD_GROUPS] if "modes" in parts else []
        if stages is not None:
            result = stages.result()
            atomic_write_text(args.results / "progan_stages.json", json.dumps(result, indent=1))
            stage_figure(result, args.results / "progan-stages.png")
            print(json.dumps({k: result[k] for k in ("fid_at_stage_end", "max_fade_ratio", "met", "seconds")}))
        if modes:
            rows = [m.result() for m in modes]
            with_mbstd, without = rows
            better = (with_mbstd["metrics"]["modes/covered"] > without["metrics"]["modes/covered"]
                      and with_mbstd["metrics"]["modes/kl"] < without["metrics"]["modes/kl"])
            summary = {"command": "python benchmarks/progan_stages.py --jobs 2 --threads 1", "config": CONFIG,
                       "channels": 3, "data": "stacked-mnist", "steps": STEPS, "batch_size": BATCH, "seed": 0,
                       "rows": rows, "target": "more modes covered and a lower KL to uniform with minibatch stddev "
                       "than without (the paper's Stacked-MNIST test)", "met": better}
            atomic_write_text(args.results / "progan_modes.json", json.dumps(summary, indent=1))
            print(json.dumps({r["mbstd_group"]: r["metrics"] for r in rows}), "met" if better else "short")


if __name__ == "__main__":
    main()
