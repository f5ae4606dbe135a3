"""Sample quality per variant at an equal wall-clock budget, and each variant's own proof.

Default mode: each registered variant trains for `--minutes` (its `cpu` preset where it has
one, else its paper defaults), then its final weights are scored on 10,000 samples against
the MNIST test split with the lenet-mnist extractor (not comparable with Inception FIDs in
papers). Writes benchmarks/results/quality.{json,md,png}.

`--proofs`: each variant with a recipe in benchmarks/recipes/<name>.json trains at that full
budget (every run and seed the recipe lists) and is measured on its paper's capabilities
(gankit.capabilities, with baselines) plus fid[lenet-mnist] (and label_acc for class-conditional generators). Writes
benchmarks/results/proofs/<model>.json and sample grids, and rebuilds proofs.md from all of them.
`--keep DIR` trains in DIR instead of a temporary folder and keeps the runs: each run checkpoints as it
goes and writes its measured row beside it, so the same command after a stop skips the finished runs,
resumes the interrupted ones from their last checkpoint and trains only what is left; a recipe whose
steps were raised extends its kept runs to the new budget (the same as a fresh run at that budget
unless a learning-rate schedule reads the total steps).
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
from figures import proof_figure

import gankit
from gankit.api import resume, train
from gankit.engine.checkpoint import latest_checkpoint
from gankit.evaluation import evaluate_model, measure_capability
from gankit.fileio import atomic_write_bytes, atomic_write_text
from gankit.registry import get_model_class

METRICS = ("fid", "kid", "is", "pr", "dc")
RECIPES = Path(__file__).parent / "recipes"


def load_recipe(name: str) -> dict:
    """benchmarks/recipes/<name>.json: TrainConfig fields plus optional preset, model_config, runs,
    seeds, figure and why; empty when the variant has no proof."""
    path = RECIPES / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}
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


def proof_runs(name: str, default_seed: int) -> list[dict]:
    """The recipe's runs x seeds, each a dict of train() arguments plus its label."""
    recipe = load_recipe(name)
    runs, seeds = recipe.pop("runs", [{}]), recipe.pop("seeds", [default_seed])
    recipe.pop("figure", None), recipe.pop("why", None)
    out = []
    for run in runs:
        spec = {**recipe, **run, "model_config": {**recipe.get("model_config", {}), **run.get("model_config", {})}}
        label = spec.pop("name", None)
        for seed in seeds:
            tag = "-".join(str(p) for p in (name, label, f"s{seed}" if len(seeds) > 1 else None) if p)
            out.append({**spec, "seed": seed, "run": label, "tag": tag})
    return out


KEPT_ROW = "proof-row.json"  # a kept run's measured row, written once it is measured
KEPT_CHECKPOINT_EVERY = 500  # steps between a kept run's checkpoints (~2-5 min of CPU at recipe widths)


def proof_row(name: str, spec: dict, n: int, workdir: Path, out: Path, threads: int | None = None,
              keep: bool = False) -> tuple:
    """Train one run x seed of the recipe and measure it: (label, row, run dir). With `keep`, a run in
    `workdir` that was measured is read back, and one that was stopped is resumed."""
    spec = dict(spec)
    if threads:  # --threads, or a worker's share of the cores (the trainer would otherwise take them all)
        spec["threads"] = threads
    tag, label, data = spec.pop("tag"), spec.pop("run"), spec.pop("data", "mnist")
    sample_metrics = spec.pop("sample_metrics", None)  # a recipe's own list; [] where no offline extractor fits
    run = workdir / tag
    if keep and (run / KEPT_ROW).exists():
        kept = json.loads((run / KEPT_ROW).read_text())
        if kept["steps"] == spec.get("steps", kept["steps"]):
            print(f"{tag}: kept, measured before ({run / KEPT_ROW})", flush=True)
            return label, kept, run
        (run / KEPT_ROW).unlink()  # the recipe's budget changed: train on to it and measure again
    start, resumed_from = time.perf_counter(), None
    if keep and (run / "config.json").exists():
        checkpoint = latest_checkpoint(run)
        resumed_from = int(checkpoint.name.split("-")[-1]) if checkpoint else 0
        print(f"{tag}: resuming the kept run {run} from step {resumed_from}", flush=True)
        # Bit for bit the run it would have been, to the recipe's steps (a longer budget extends it);
        # train_seconds then counts this part only.
        resume(run, **({"steps": spec["steps"]} if "steps" in spec else {}))
    else:
        print(f"{tag}: training ({', '.join(f'{k}={v}' for k, v in spec.items() if v)}) ...", flush=True)
        run = train(name, data, out=workdir, name=tag, preset=spec.pop("preset", None),
                    model_config=spec.pop("model_config"), sample_every=10**9,
                    checkpoint_every=KEPT_CHECKPOINT_EVERY if keep else 10**9, log_every=100, **spec)
    train_s = time.perf_counter() - start
    model = gankit.load(run)
    info = gankit.api.read_run_config(run)
    data_spec = model.data_spec()
    metrics = ["fid"] + (["label_acc"] if data_spec.needs_labels and not data_spec.labels_per_class else [])
    metrics = metrics if sample_metrics is None else sample_metrics
    # Translation, adaptation and restoration are scored inside their capability, not by sample FID.
    sampled = model.task == "generate" and data_spec.pairing == "none" and metrics
    quality = evaluate_model(model, info, metrics, n=n, seed=spec["seed"]) if sampled else {"metrics": {}}
    capability = measure_capability(model, info, baselines=True)
    steps = json.loads((run / "log.jsonl").read_text().splitlines()[-1])["step"]
    atomic_write_bytes(out / "proofs" / f"{tag}.png", (run / "samples.png").read_bytes())
    row = {"model": name, "run": label, "seed": spec["seed"], "steps": steps, "train_seconds": round(train_s, 1),
           "model_config": model.config.to_dict(), "preset": info.get("preset"),
           "metrics": {**quality["metrics"], **capability}}
    if resumed_from is not None:
        row["resumed_from_step"] = resumed_from
    print(f"{tag}: {steps} steps in {train_s / 60:.1f} min: "
          + ", ".join(f"{k} {v:.4f}" for k, v in row["metrics"].items()), flush=True)
    if keep:
        atomic_write_text(run / KEPT_ROW, json.dumps(row, indent=2))
    return label, row, run


def run_proof(name: str, n: int, seed: int, workdir: Path, out: Path, jobs: int = 1,
              threads: int | None = None, keep: bool = False) -> dict:
    specs = proof_runs(name, seed)
    jobs = max(1, min(jobs, len(specs)))
    if jobs == 1:
        results = [proof_row(name, spec, n, workdir, out, threads, keep) for spec in specs]
        used = torch.get_num_threads()  # what the trainer chose (or was given)
    else:  # independent runs (seeds, data) in worker processes, each with its share of the cores
        from workers import worker_pool

        used = threads or max(1, (os.cpu_count() or 1) // jobs)
        with worker_pool(jobs) as pool:
            futures = [pool.submit(proof_row, name, spec, n, workdir, out, used, keep) for spec in specs]
            results = [f.result() for f in futures]  # recipe order, whatever finishes first
    rows = [row for _, row, _ in results]
    run_dirs = {label: run for label, _, run in results}
    figure = proof_figure(load_recipe(name).get("figure"), run_dirs, out / "proofs" / f"{name}-figure.png")
    return {"model": name, "paper": get_model_class(name).paper, "arxiv": get_model_class(name).arxiv,
            "recipe": load_recipe(name), "rows": rows,
            "figure": figure.name if figure is not None else None,
            "meta": {"n": n, "cpus": os.cpu_count(), "threads": used, "jobs": jobs, "torch": torch.__version__,
                     "date": time.strftime("%Y-%m-%d"),
                     "command": f"python benchmarks/quality.py --proofs --models {name}"
                                + (f" --jobs {jobs}" if jobs > 1 else "")
                                + (f" --threads {threads}" if threads else "")}}


def write_proofs_md(out: Path) -> None:
    lines = ["# Capability proofs", "",
             "Each variant trained at its recipe's budget (benchmarks/recipes/) on its recipe's embedded data (MNIST unless the "
             "command's model names another: MNIST-M, edge maps, scikit-image photos), then measured on its "
             "paper's own claim on the held-out test split (`baseline/...` keys: what the claim is judged "
             "against). fid/label_acc use the lenet-mnist extractor on 10,000 samples. Reproduce a row with "
             "the command under its table.", ""]
    for path in sorted((out / "proofs").glob("*.json")):
        result = json.loads(path.read_text())
        if "rows" not in result or "model" not in result:  # a benchmark's own (progan_stages.py, techniques.py)
            continue
        keys = list(dict.fromkeys(k for r in result["rows"] for k in r["metrics"]))
        lines += [f"## {result['model']}: {result['paper']} (arXiv {result['arxiv']})", "",
                  "| run | seed | steps | minutes | " + " | ".join(keys) + " |",
                  "|---|---:|---:|---:|" + "---:|" * len(keys)]
        for r in result["rows"]:
            cells = [f"{r['metrics'][k]:.4f}" if k in r["metrics"] else "" for k in keys]
            minutes = f"{r['train_seconds'] / 60:.1f}" + (f" from step {r['resumed_from_step']}"
                                                           if "resumed_from_step" in r else "")
            lines.append(f"| {r['run'] or '-'} | {r['seed']} | {r['steps']} | {minutes} | "
                         + " | ".join(cells) + " |")
        if result.get("figure"):
            lines += ["", f"Figure: `proofs/{result['figure']}`"]
        meta = result["meta"]
        procs = f"{meta['jobs']} processes of {meta['threads']} thread(s)" if meta.get("jobs", 1) > 1 \
            else f"{meta['threads']} threads"
        lines += ["", f"`{meta['command']}` ({meta['date']}, {meta['cpus']} CPUs, {procs}, "
                  f"torch {meta['torch']})", ""]
        if meta.get("note"):  # how a row was made when it was not by the command alone
            lines += [meta["note"], ""]
    atomic_write_text(out / "proofs.md", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget per variant")
    parser.add_argument("--models", help="comma list (default: every registered variant)")
    parser.add_argument("-n", type=int, default=10_000, help="generated images per evaluation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--proofs", action="store_true", help="train each variant's proof recipe and measure its capability")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--jobs", type=int, default=1,
                        help="--proofs: train a recipe's runs and seeds in this many processes, sharing the cores")
    parser.add_argument("--threads", type=int, help="--proofs: CPU threads per process (default: the cores / --jobs)")
    parser.add_argument("--keep", metavar="DIR",
                        help="--proofs: train in DIR/<model> and keep the runs; run again to skip measured runs "
                             "and resume stopped ones (default: a temporary folder, deleted)")
    args = parser.parse_args()
    out = Path(args.out)
    if args.proofs:
        names = args.models.split(",") if args.models else [m for m in gankit.list_models() if load_recipe(m)]
        (out / "proofs").mkdir(parents=True, exist_ok=True)
        for name in names:
            if not load_recipe(name):
                raise SystemExit(f"{name} has no proof recipe ({RECIPES / (name + '.json')} does not exist)")
            if args.keep:
                workdir = Path(args.keep) / name
                workdir.mkdir(parents=True, exist_ok=True)
                result = run_proof(name, args.n, args.seed, workdir, out, args.jobs, args.threads, keep=True)
            else:
                with tempfile.TemporaryDirectory() as workdir:
                    result = run_proof(name, args.n, args.seed, Path(workdir), out, args.jobs, args.threads)
            atomic_write_text(out / "proofs" / f"{name}.json", json.dumps(result, indent=2))
            write_proofs_md(out)
        return
    names = args.models.split(",") if args.models else gankit.list_models()
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
