"""ProGAN proof, part one (#37): fid[lenet-mnist] of the EMA generator at the end of every stage and
during every fade-in, read from the run log (`--eval-every` also measures each stage's end).

    python benchmarks/progan_stages.py            # 32 px MNIST, writes benchmarks/results/proofs/progan_stages.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from gankit.api import train
from gankit.fileio import atomic_write_text

CONFIG = {"latent_dim": 128, "widths": (128, 128, 64, 32), "stage_steps": (500, 1000, 1000)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3500)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="runs/proofs")
    ap.add_argument("--result", default="benchmarks/results/proofs/progan_stages.json")
    args = ap.parse_args()
    torch.manual_seed(0)
    start = time.time()
    run = train("progan", "mnist", out=args.out, name=f"progan-stages-{int(start)}", model_config=CONFIG,
                steps=args.steps, seed=0, batch_size=32, eval_every=args.eval_every, eval_n=2000,
                sample_every=500, checkpoint_every=500, log_every=50, threads=args.threads)
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
    result = {"command": "python benchmarks/progan_stages.py", "config": CONFIG, "steps": args.steps, "batch_size": 32,
              "ema": 0.999, "eval_n": 2000, "fid_at_stage_end": ends, "fade_in": spikes,
              "falls_stage_by_stage": falls, "max_fade_ratio": max(s["ratio"] for s in spikes),
              "target": "falls stage by stage, no spike above 1.5x at a fade-in",
              "met": falls and max(s["ratio"] for s in spikes) <= 1.5,
              "curve": [(r["step"], r["eval/fid[lenet-mnist]"]) for r in evals],
              "seconds": round(time.time() - start), "run": str(run)}
    path = Path(args.result)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(result, indent=1))
    print(json.dumps({k: result[k] for k in ("fid_at_stage_end", "max_fade_ratio", "met", "seconds")}))


if __name__ == "__main__":
    main()
