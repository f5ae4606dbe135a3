"""BigGAN proof, parts (b) and (c) (#36): the truncation curve and the EMA generator against the raw one.

One run of the proof recipe (benchmarks/recipes/biggan.json: MNIST-M, `digits` preset, 6,000 steps,
batch 32, G's EMA 0.999, seed 0), kept in --keep so a second call only measures. Read in the 128-d
hidden layer of the digit classifier trained on real MNIST-M training images (the reader of the
proof's label accuracy; its held-out accuracy is stated): for each truncation threshold, improved
precision and recall (Kynkaanniemi et al., k = 3) and FID of 5,000 class-balanced samples against
5,000 held-out images, and the share read as the asked class. (b) holds when precision rises and recall
falls from threshold 2 to 0.25 (the paper's Figure 4 in kind); (c) when the EMA generator's FID is
below the raw generator's (no truncation).

    python benchmarks/biggan_truncation.py --threads 2     # ~10 min on 2 cores; writes
        benchmarks/results/proofs/biggan_truncation.{json,png}
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from gankit.fileio import atomic_write_text

RECIPE = Path(__file__).resolve().parent / "recipes" / "biggan.json"
THRESHOLDS = (2.0, 1.5, 1.0, 0.75, 0.5, 0.25)
N = 5000


def trained_run(keep: Path, threads: int, steps: int | None = None) -> Path:
    """The recipe's run in `keep`, trained (or finished) unless it is complete."""
    from gankit.api import resume, train
    from gankit.engine.checkpoint import latest_checkpoint

    recipe = json.loads(RECIPE.read_text())
    run = keep / "biggan-truncation"
    if latest_checkpoint(run) is None:
        if run.exists():  # killed before its first checkpoint: start it again
            import shutil

            shutil.rmtree(run)
        return train("biggan", recipe["data"], out=keep, name=run.name, preset=recipe["preset"],
                     steps=steps or recipe["steps"], batch_size=recipe["batch_size"], ema=recipe["ema"], seed=0,
                     threads=threads, checkpoint_every=500, sample_every=1000, log_every=100)
    return resume(run, threads=threads)


@torch.no_grad()
def measure(run: Path, judge_steps: int) -> dict:
    import gankit
    from gankit.api import read_run_config
    from gankit.capabilities.scales import scale_reader
    from gankit.evaluation import held_out
    from gankit.metrics.functional import fid, precision_recall
    from gankit.metrics.probes import accuracy, predict

    model = gankit.load(run).eval()
    data = held_out(read_run_config(run), model)
    features, logits, reader, real_acc = scale_reader(model, data, judge_steps)
    k = model.config.num_classes
    labels = torch.arange(N, device=model.device) % k  # class-balanced
    real = predict(features, data.test.images[:N], model.device)

    def score(draw) -> dict[str, float]:
        gen = torch.Generator(model.device).manual_seed(0)  # the same classes and seeds at every setting
        fake = torch.cat([draw(len(part), part, gen).cpu() for part in labels.split(500)])  # (N, C, S, S)
        fake_feats = predict(features, fake, model.device)
        p, r = precision_recall(real, fake_feats)
        out = {"precision": p, "recall": r, f"fid[{reader}]": fid(real, fake_feats)}
        if logits is not None:
            out["label_acc"] = accuracy(predict(logits, fake, model.device), labels.cpu())
        return out

    curve = []
    for t in THRESHOLDS:
        row = {"threshold": t, **score(lambda n, y, g, t=t: model.sample_truncated(n, t, y, g))}
        print(json.dumps(row), flush=True)
        curve.append(row)
    ema = score(lambda n, y, g: model.sample(n, y, g))
    shadow = model.ema.pop("generator")  # the raw generator, as trained, for (c)
    raw = score(lambda n, y, g: model.sample(n, y, g))
    model.ema["generator"] = shadow
    fid_key = f"fid[{reader}]"
    first, last = curve[0], curve[-1]
    return {"reader": reader, "reader_acc/real_test": real_acc, "n": N, "curve": curve,
            "untruncated": {"ema": ema, "raw": raw},
            "b_precision_rises": last["precision"] > first["precision"],
            "b_recall_falls": last["recall"] < first["recall"],
            "c_ema_beats_raw": ema[fid_key] < raw[fid_key]}


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["threshold"] for r in result["curve"]]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot(t, [r["precision"] for r in result["curve"]], "o-", label="precision")
    ax.plot(t, [r["recall"] for r in result["curve"]], "s-", label="recall")
    if "label_acc" in result["curve"][0]:
        ax.plot(t, [r["label_acc"] for r in result["curve"]], "^--", label="read as the asked class")
    ax.invert_xaxis()
    ax.set_xlabel("truncation threshold (smaller: truncated harder)")
    ax.set_title(f"BigGAN on MNIST-M, {result['n']:,} samples, {result['reader']} features", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=Path("runs/proofs"), help="where the run is kept")
    ap.add_argument("--judge-steps", type=int, default=3000)
    ap.add_argument("--steps", type=int, default=None, help="training steps (default: the recipe's; fewer: a smoke test)")
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results/proofs"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    start = time.time()
    run = trained_run(args.keep, args.threads, args.steps)
    result = {"command": "python benchmarks/biggan_truncation.py --threads 2", "recipe": json.loads(RECIPE.read_text()),
              "seed": 0, "run": str(run), **measure(run, args.judge_steps), "seconds": round(time.time() - start)}
    args.results.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.results / "biggan_truncation.json", json.dumps(result, indent=1))
    plot(result, args.results / "biggan_truncation.png")
    print(json.dumps({k: result[k] for k in ("b_precision_rises", "b_recall_falls", "c_ema_beats_raw", "seconds")}))


if __name__ == "__main__":
    main()
