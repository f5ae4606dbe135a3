"""`gankit` command line: list | train | sample | eval."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gankit.errors import GankitError


def _train_overrides(args: argparse.Namespace) -> dict:
    keys = ("steps", "epochs", "minutes", "batch_size", "seed", "device", "ema", "sample_every",
            "checkpoint_every", "log_every", "threads", "eval_every", "eval_n")
    values = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    if getattr(args, "amp", None) is not None:
        values["amp"] = args.amp == "on"
    if getattr(args, "progress", None) is not None:
        values["progress"] = args.progress
    return values


def cmd_list(args: argparse.Namespace) -> None:
    from gankit.registry import get_model_class, list_models

    rows = [("name", "task", "data", "paper (arXiv)")]
    for name in list_models():
        cls = get_model_class(name)
        rows.append((name, cls.task, cls.data_needs, f"{cls.paper} ({cls.arxiv})"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3])


def cmd_train(args: argparse.Namespace) -> None:
    from gankit import api
    from gankit.config import parse_override

    overrides = _train_overrides(args)
    if args.resume:
        if args.model or args.set or args.preset:
            raise GankitError("--resume continues a run with its own model and config: drop the model name, --set and --preset")
        run = api.resume(args.resume, **overrides)
    else:
        if not args.model:
            raise GankitError("name a model to train (see `gankit list`), or --resume RUN")
        model_config = dict(parse_override(s) for s in args.set or [])
        run = api.train(args.model, args.data, out=args.out, name=args.name, preset=args.preset,
                        model_config=model_config, data_dir=args.data_dir, max_images=args.max_images, **overrides)
    from gankit.engine import distributed

    distributed.shutdown()
    print(f"run written to {run}")


def cmd_sample(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from gankit import api
    from gankit.data import to_uint8
    from gankit.engine.artifacts import save_grid
    from gankit.sampling import sample_many

    model = api.load(args.run, device=args.device)
    if args.n < 1:
        raise GankitError("-n must be at least 1")
    gen = torch.Generator(model.device).manual_seed(args.seed)
    images, labels = sample_many(model, args.n, batch_size=args.batch_size, generator=gen)
    out = Path(args.out)
    if out.suffix.lower() == ".png":
        out.parent.mkdir(parents=True, exist_ok=True)
        save_grid(images, out, nrow=model.grid_nrow(args.n))
    elif out.suffix.lower() == ".npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"images": to_uint8(images).permute(0, 2, 3, 1).numpy()}  # (N, H, W, C) uint8
        if labels is not None:
            arrays["labels"] = labels.cpu().numpy()
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, out)
    elif out.suffix == "":
        from PIL import Image

        out.mkdir(parents=True, exist_ok=True)
        pixels = to_uint8(images).permute(0, 2, 3, 1).numpy()
        for i, px in enumerate(pixels):
            Image.fromarray(px[..., 0] if px.shape[-1] == 1 else px).save(out / f"{i:06d}.png")
    else:
        raise GankitError(f"--out {out}: use a .png grid, a .npz file or a folder (no extension)")
    print(f"wrote {args.n} samples to {out}")


def cmd_eval(args: argparse.Namespace) -> None:
    from gankit.evaluation import format_table

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    extractor_kwargs = {"weights": args.inception_weights} if args.inception_weights else None
    if args.real or args.fake:
        if not (args.real and args.fake) or args.run:
            raise GankitError("compare two folders with --real DIR --fake DIR (and no run)")
        from gankit.data import load_folder
        from gankit.metrics import compare

        extractor = args.extractor or "inception-v3"
        size, channels = (28, 1) if extractor == "lenet-mnist" else (299, 3)
        real = load_folder(args.real, size, channels).images
        fake = load_folder(args.fake, size, channels).images
        kwargs = extractor_kwargs if extractor == "inception-v3" else None
        result = compare(real, fake, metrics, extractor=extractor, seed=args.seed, extractor_kwargs=kwargs)
        result["protocol"].update(real=str(args.real), fake=str(args.fake))
        print(format_table(result["metrics"]))
        if args.json:
            import json

            from gankit.engine.checkpoint import atomic_write_text

            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(Path(args.json), json.dumps(result, indent=2))
        return
    if not args.run:
        raise GankitError("name a run folder to evaluate, or --real DIR --fake DIR")
    from gankit import api
    from gankit.evaluation import evaluate_model, write_report

    model = api.load(args.run, device=args.device)
    info = api.read_run_config(args.run)
    result = evaluate_model(model, info, metrics, n=args.n, extractor=args.extractor, split=args.split,
                            seed=args.seed, inception_weights=args.inception_weights)
    path = write_report(args.run, result)
    p = result["protocol"]
    print(f"{model.name}: {p['n_fake']} generated vs {p['n_real']} real ({p['reference']}), "
          f"extractor {p['extractor']} ({p['weights_hash']})")
    print(format_table(result["metrics"]))
    print(f"wrote {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description="Train, sample and evaluate GANs.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="the registered variants, their papers, tasks and data").set_defaults(func=cmd_list)

    t = sub.add_parser("train", help="train a variant (or --resume a run)")
    t.add_argument("model", nargs="?", help="variant name, see `gankit list`")
    t.add_argument("--data", default="mnist", help="mnist (embedded), fashion-mnist, cifar10, or an image folder")
    t.add_argument("--data-dir", help="folder holding torchvision's dataset layout")
    t.add_argument("--max-images", type=int, help="train on the first N images only (quick experiments)")
    t.add_argument("--preset", help="a named config preset of the variant (e.g. tiny, cpu)")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a model config value (repeatable)")
    t.add_argument("--out", default="runs", help="parent folder of run folders (default: runs)")
    t.add_argument("--name", help="run folder name (default: <model>-<time>)")
    t.add_argument("--resume", metavar="RUN", help="continue a run from its latest checkpoint")
    t.add_argument("--steps", type=int, help="total steps of the run (default 5000 if no budget is given)")
    t.add_argument("--epochs", type=float, help="budget in passes over the data")
    t.add_argument("--minutes", type=float, help="wall-clock budget of this invocation")
    t.add_argument("--batch-size", type=int)
    t.add_argument("--seed", type=int)
    t.add_argument("--device", help="auto (default), cpu, cuda, cuda:N, mps")
    t.add_argument("--ema", type=float, help="EMA decay of G's weights, e.g. 0.999 (default off)")
    t.add_argument("--amp", choices=["on", "off"], help="mixed precision on CUDA (default on)")
    t.add_argument("--sample-every", type=int)
    t.add_argument("--checkpoint-every", type=int)
    t.add_argument("--log-every", type=int)
    t.add_argument("--threads", type=int, help="CPU threads (default: one per core)")
    t.add_argument("--eval-every", type=int, help="evaluate FID every N steps into the log and plots (default off)")
    t.add_argument("--eval-n", type=int, help="generated images per in-training evaluation (default 2000)")
    t.add_argument("--progress", choices=["auto", "on", "off"])
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("run", help="run folder")
    s.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    s.add_argument("--out", required=True, help="grid.png, a folder of PNGs, or file.npz")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--batch-size", type=int, default=500)
    s.add_argument("--device", default="auto")
    s.set_defaults(func=cmd_sample)

    e = sub.add_parser("eval", help="score a run (FID, KID, IS, precision/recall, density/coverage)")
    e.add_argument("run", nargs="?", help="run folder")
    e.add_argument("--metrics", default="fid,kid,is,pr,dc", help="comma list of fid, kid, is, pr, dc, label_acc")
    e.add_argument("-n", type=int, default=10_000, help="generated images (default 10000)")
    e.add_argument("--extractor", help="lenet-mnist (default for MNIST runs) or inception-v3")
    e.add_argument("--inception-weights", metavar="FILE", help="pt_inception-2015-12-05 weights file, for offline use")
    e.add_argument("--split", default="test", help="held-out split of a named dataset (default test)")
    e.add_argument("--real", help="folder of real images (with --fake, compares two folders)")
    e.add_argument("--fake", help="folder of generated images")
    e.add_argument("--json", help="with --real/--fake: also write the result to this file")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", default="auto")
    e.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except GankitError as exc:
        print(f"gankit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted; resume from the last checkpoint with `gankit train --resume RUN`", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
