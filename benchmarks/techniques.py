"""Ablation of the Improved-GAN techniques (Salimans et al., arXiv 1606.03498) on the classic MNIST GAN and DCGAN.

The plan is benchmarks/recipes/ablations/improved_gan.json: every (arch, dataset, technique, seed) is one
training run at the arch's step budget, measured by fid[lenet-mnist] (MNIST) or by the capability
`stacked_modes` (Stacked MNIST: modes covered of 1,000 and KL to uniform). Each finished run is written at
once to `<out>/proofs/improved-gan.json`, so an interrupted ablation resumes where it stopped; the table of
means and standard deviations over seeds goes to `<out>/proofs/improved-gan.md`.

    python benchmarks/techniques.py [--archs gan,dcgan] [--techniques "none,all five"] [--seeds 0,1,2]
                                    [--datasets mnist,stacked-mnist] [--jobs 2 --threads 1] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from workers import worker_pool

PLAN = Path(__file__).parent / "recipes" / "ablations" / "improved_gan.json"
RESULTS = Path(__file__).parent / "results"
N_FID = 5000


def run_key(arch: str, dataset: str, technique: str, seed: int) -> str:
    return f"{arch}|{dataset}|{technique}|{seed}"


def one_run(arch: str, dataset: str, technique: str, seed: int, threads: int | None) -> dict:
    """Train one cell of the plan in a temporary folder and measure it."""
    import gankit
    from gankit.api import read_run_config, train
    from gankit.capabilities import measure
    from gankit.evaluation import evaluate_model, held_out

    plan = json.loads(PLAN.read_text())
    setting, data = plan["archs"][arch], plan["datasets"][dataset]
    model_config = {**plan["techniques"][technique], "channels": data["channels"]}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run = train(arch, dataset, out=tmp, name="r", preset=setting["preset"], model_config=model_config,
                    steps=setting["steps"], batch_size=setting["batch_size"], seed=seed, threads=threads,
                    sample_every=10**9, checkpoint_every=10**9, log_every=100)
        train_s = time.perf_counter() - start
        model, info = gankit.load(run), read_run_config(run)
        if data["measure"] == "fid":
            metrics = evaluate_model(model, info, ("fid",), n=N_FID, seed=seed)["metrics"]
        else:
            metrics = measure(model, held_out(info, model), names=(data["measure"],))
    row = {"arch": arch, "dataset": dataset, "technique": technique, "seed": seed, "steps": setting["steps"],
           "train_seconds": round(train_s, 1), "metrics": metrics}
    print(f"{run_key(arch, dataset, technique, seed)}: {train_s / 60:.1f} min, "
          + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()), flush=True)
    return row


def table(rows: list[dict], plan: dict) -> str:
    """Mean ± std over seeds, one row per technique, one column group per arch and dataset."""
    def cell(arch: str, dataset: str, technique: str, key: str) -> str:
        values = [r["metrics"][key] for r in rows if (r["arch"], r["dataset"], r["technique"]) == (arch, dataset, technique)
                  and key in r["metrics"]]
        if not values:
            return "not run"
        spread = f" ± {statistics.stdev(values):.3g}" if len(values) > 1 else ""
        return f"{statistics.mean(values):.4g}{spread} (n={len(values)})"

    keys = {"mnist": ["fid[lenet-mnist]"], "stacked-mnist": ["modes/covered", "modes/kl"]}
    columns = [(a, d, k) for a in plan["archs"] for d in plan["datasets"] for k in keys.get(d, [])]
    lines = ["# Improved-GAN techniques: ablation", "", plan["why"], "",
             "| technique | " + " | ".join(f"{a} {d} {k}" for a, d, k in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for technique in plan["techniques"]:
        lines.append(f"| {technique} | " + " | ".join(cell(a, d, technique, k) for a, d, k in columns) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from gankit.fileio import atomic_write_text

    plan = json.loads(PLAN.read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default=",".join(plan["archs"]))
    parser.add_argument("--datasets", default=",".join(plan["datasets"]))
    parser.add_argument("--techniques", default=",".join(plan["techniques"]))
    parser.add_argument("--seeds", default=",".join(str(s) for s in plan["seeds"]))
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes, sharing the cores")
    parser.add_argument("--threads", type=int, help="CPU threads per run (default: the cores / --jobs)")
    parser.add_argument("--fresh", action="store_true", help="discard finished runs instead of resuming")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    chosen = {"archs": args.archs.split(","), "datasets": args.datasets.split(","),
              "techniques": args.techniques.split(",")}
    for field, names in chosen.items():
        unknown = [n for n in names if n not in plan[field]]
        if unknown:
            parser.error(f"unknown {field} {', '.join(unknown)}: choose from {', '.join(plan[field])}")
    out = Path(args.out) / "proofs"
    path = out / "improved-gan.json"
    done = {} if args.fresh or not path.is_file() else {
        run_key(r["arch"], r["dataset"], r["technique"], r["seed"]): r for r in json.loads(path.read_text())["rows"]}
    todo = [(a, d, t, int(s)) for a in chosen["archs"] for d in chosen["datasets"] for t in chosen["techniques"]
            for s in args.seeds.split(",") if run_key(a, d, t, int(s)) not in done]
    print(f"{len(todo)} runs to do, {len(done)} already done ({path})", flush=True)
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    command = "python benchmarks/techniques.py" + (f" --jobs {args.jobs}" if args.jobs > 1 else "") \
        + (f" --threads {args.threads}" if args.threads else "")

    def save() -> None:
        rows = sorted(done.values(), key=lambda r: (r["arch"], r["dataset"], list(plan["techniques"]).index(r["technique"]),
                                                    r["seed"]))
        meta = {"cpus": os.cpu_count(), "threads": threads, "jobs": args.jobs, "torch": torch.__version__,
                "date": time.strftime("%Y-%m-%d"), "command": command}
        atomic_write_text(path, json.dumps({"plan": plan, "rows": rows, "meta": meta}, indent=1))
        atomic_write_text(out / "improved-gan.md", table(rows, plan) + f"\n`{command}` ({meta['date']}, "
                          f"{meta['cpus']} CPUs, {args.jobs} process(es) of {threads} thread(s))\n")

    out.mkdir(parents=True, exist_ok=True)
    with worker_pool(args.jobs) as pool:
        futures = [pool.submit(one_run, *cell, threads) for cell in todo]
        for future in futures:
            row = future.result()
            done[run_key(row["arch"], row["dataset"], row["technique"], row["seed"])] = row
            save()
    save()


if __name__ == "__main__":
    main()
