"""How long fid[lenet-mnist] takes for 10,000 generated vs 10,000 real images, generation included.

Generator: DCGAN at the demo's `cpu` preset (32x32, the size `make demo` trains). Timed twice:
with a cold real-statistics cache (real features computed) and a warm one (read from disk).
Writes benchmarks/results/metrics_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

import gankit
from gankit.engine.trainer import default_threads
from gankit.evaluation import evaluate_model, reference_set
from gankit.fileio import atomic_write_text

TARGET_S = 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    torch.set_num_threads(default_threads())
    torch.manual_seed(0)
    model = gankit.create_model("dcgan", preset="cpu").eval()
    info = {"data": {"source": "mnist"}}
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GANKIT_CACHE"] = cache  # a private cache: the first run is truly cold
        for label in ("cold cache", "warm cache"):
            start = time.perf_counter()
            reference = reference_set(info, model, "test")
            result = evaluate_model(model, info, ("fid",), n=args.n, reference=reference)
            seconds = time.perf_counter() - start
            rows.append({"case": label, "seconds": seconds, "fid": result["metrics"]["fid[lenet-mnist]"]})
            print(f"{label}: {seconds:.2f} s")
        gen_start = time.perf_counter()
        with torch.no_grad():
            for _ in range(0, args.n, 500):
                model.sample(500)
        generation = time.perf_counter() - gen_start
    report = {
        "what": f"fid[lenet-mnist], {args.n} generated (dcgan cpu preset, 32x32) vs {args.n} real (MNIST test)",
        "target_seconds": TARGET_S,
        "generation_only_seconds": generation,
        "runs": rows,
        "machine": {"cpus": os.cpu_count(), "threads": torch.get_num_threads(), "torch": torch.__version__,
                    "processor": platform.processor() or platform.machine(), "date": time.strftime("%Y-%m-%d")},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics_speed.json", json.dumps(report, indent=2))
    lines = [
        "# Metric speed", "", report["what"] + f"; target at most {TARGET_S:.0f} s.", "",
        "| case | seconds (generation + features + FID) |", "|---|---:|",
        *[f"| {r['case']} | {r['seconds']:.2f} |" for r in rows], "",
        f"Generation alone: {generation:.2f} s. {report['machine']['cpus']} CPUs, {report['machine']['threads']} threads, "
        f"torch {torch.__version__}, {report['machine']['date']}.", "",
    ]
    atomic_write_text(out / "metrics_speed.md", "\n".join(lines))


if __name__ == "__main__":
    main()
