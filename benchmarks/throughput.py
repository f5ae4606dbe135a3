"""Training and sampling throughput of every registered model, beside the classic MNIST GAN script.

For each model in `gankit.list_models()` (paper-default config, batch 64): train-step
images/s through the engine's own data path (embedded MNIST in memory -> BatchStream ->
`model.train_step(Batch)`) and sampling images/s (`model.sample`). In the same run, as a
baseline, the classic one-script PyTorch MNIST GAN (the PyTorch-GAN collection's
`implementations/gan/gan.py`, rewritten here line by line): torchvision MNIST + PIL
transforms + DataLoader, numpy noise, G step then D step. The ratio compares gankit's `gan`
(the same nets and optimizers) with it. Models are timed a group at a time (`--group`, the
baseline with `gan`), interleaved within the group in rounds of a few steps each, and rated by
their median step, so that other work on shared cores skews them alike.

    python benchmarks/throughput.py [--steps 50] [--warmup 3] [--models gan,dcgan] [--device auto]

Writes `<out>/throughput.json` and `<out>/throughput.md`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch
import torchvision
from torch import nn

import gankit
from gankit.data import ImageDataset, load_data
from gankit.data.batches import BatchStream
from gankit.data.idx import export_embedded_mnist
from gankit.data.pairs import TwoDomainDataset
from gankit.engine.trainer import TrainConfig, default_threads, plan_stages
from gankit.fileio import atomic_write_text
from gankit.models.base import GANModel
from gankit.models.verbs import has_verb
from gankit.registry import get_model_class

BATCH = 64
ROUND = 5  # train steps per model per turn of the interleaved timing
BASELINE = "classic gan.py"
RESULTS = Path(__file__).resolve().parent / "results"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def setup_like_engine(model: GANModel, device: torch.device) -> None:
    """The engine's defaults (Trainer._setup_device): channels_last and AMP on CUDA, no EMA."""
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
        bf16 = torch.cuda.is_bf16_supported()
        model.amp.enabled = True
        model.amp.dtype = torch.bfloat16 if bf16 else torch.float16
        if not bf16:
            model.amp.scalers = {name: torch.amp.GradScaler("cuda") for name in model.optimizers}


@dataclass
class Runner:
    """A model ready to be timed: warm-up done, one train step and one sampling call as closures."""

    step: Callable[[], object]
    sample: Callable[[int], torch.Tensor]
    info: dict[str, Any]
    times: list[float] = field(default_factory=list)  # seconds of each timed train step


def prepare_model(name: str, device: torch.device, args: argparse.Namespace) -> Runner:
    torch.manual_seed(0)
    presets = get_model_class(name).config_class.presets
    preset = args.preset if args.preset in presets else None  # without it: the paper's defaults
    model = gankit.create_model(name, preset=preset)
    spec = model.data_spec()
    batch = min(BATCH, type(model).train_defaults.get("batch_size", BATCH))  # e.g. CycleGAN's batch 1
    if spec.pairing != "none":  # translation at the paper's size: random images
        g = torch.Generator().manual_seed(0)
        def domain(c: int) -> ImageDataset:
            shape = (4 * batch, c, spec.image_size, spec.image_size)
            labels = torch.randint(0, 10, (4 * batch,), generator=g)  # domain A is labelled for e.g. PixelDA
            return ImageDataset(torch.randint(0, 256, shape, dtype=torch.uint8, generator=g), labels)
        dataset = TwoDomainDataset(domain(spec.channels), domain(spec.channels_b), spec.pairing == "paired", "random")
    elif spec.frames or spec.image_shape is not None:  # clips and one-photo variants: random data of their shape
        g = torch.Generator().manual_seed(0)
        dataset = ImageDataset(torch.randint(0, 256, (4 * batch, spec.channels, *spec.hw), dtype=torch.uint8, generator=g))
    else:
        dataset = load_data("mnist", spec.image_size, spec.channels, split="train")
    # Timed in the run's first stage (e.g. SRGAN's MSE pre-training, ProGAN's 4 px) or, with --stage last,
    # in its last one after the engine's stage hooks (ProGAN grown to full size, faded in).
    plan = plan_stages(model, TrainConfig(batch_size=batch, steps=10**9), len(dataset))[0]
    timed = plan[-1] if args.stage == "last" else plan[0]
    for planned in plan[: timed.index + 1]:
        model.begin_stage(planned.progress(planned.start))
    model.progress = timed.progress(timed.end - 1 if args.stage == "last" else timed.start)
    batch = timed.batch_size
    # The engine's own batches (labels travel with the images; semi-supervised: the small labelled batch).
    stream = BatchStream(dataset, spec, batch, seed=0, image_size=timed.image_size).to(device)
    next_batch = stream.next
    setup_like_engine(model, device)
    model.train()

    def step() -> dict[str, float]:
        losses = model.train_step(next_batch())
        return {k: float(v) for k, v in losses.items()}  # the engine reads every loss each step

    for _ in range(args.warmup):
        step()
    h, w = spec.hw
    info = {"params": sum(p.numel() for p in model.parameters()), "channels": spec.channels, "image_size": spec.image_size,
            "image_hw": [h, w], "batch": batch, "sample_batch": sample_batch_for(max(h, w), args.sample_batch),
            "preset": preset or "paper", "stage": f"{timed.index + 1}/{len(plan)} {timed.stage.name}",
            "stage_image_size": timed.image_size}
    return Runner(step, lambda n: model.sample(n, labels=model.grid_labels(n)), info)


def sample_batch_for(image_size: int, requested: int) -> int:
    """`requested` images per sampling call at 32x32 and below, fewer for larger images (the same
    pixels per call, at least 8), so that 128 and 256 px models neither run out of memory nor take minutes."""
    return max(8, min(requested, requested * 32 * 32 // image_size**2))


def time_round_robin(runners: dict[str, Runner], device: torch.device, args: argparse.Namespace) -> dict[str, str]:
    """Time every runner's steps in interleaved rounds; returns the error of each runner that failed.

    The CPU cores may be shared with other work that comes and goes; interleaving rounds of
    ROUND steps exposes every model (and the baseline) to the same conditions, and the median
    step time that the results use ignores the slow outliers that remain.
    """
    errors: dict[str, str] = {}
    active = dict(runners)
    while active:
        for name, r in list(active.items()):
            try:
                for _ in range(ROUND):
                    t = time.perf_counter()
                    r.step()
                    sync(device)
                    r.times.append(time.perf_counter() - t)
                    if len(r.times) >= args.steps or sum(r.times) >= args.max_seconds:
                        del active[name]  # done, or too slow to finish its steps in the budget
                        break
            except Exception as exc:  # any failure, future variants included: one row, not the benchmark
                errors[name] = error_text(exc)
                del active[name]
    return errors


def time_sampling(sample: Callable[[int], torch.Tensor], device: torch.device, batch: int, calls: int) -> float:
    """Images/s of `sample(batch)`, from the median of `calls` timed calls after one warm-up call."""
    sample(batch)
    times = []
    for _ in range(calls):
        sync(device)
        t = time.perf_counter()
        sample(batch)
        sync(device)
        times.append(time.perf_counter() - t)
    return batch / statistics.median(times)


TRANSLATE_SIZES = ((64, 8), (256, 2))  # (side, images per call)


def time_translation(names: list[str], device: torch.device, args: argparse.Namespace) -> list[dict[str, Any]]:
    """`translate` images/s of every translation variant at 64x64 and 256x256 (paper widths,
    eval mode, random inputs), median of a few calls after a warm-up call."""
    rows = []
    for name in names:
        cls = get_model_class(name)
        if not has_verb(cls, "translate"):
            continue
        for size, batch in TRANSLATE_SIZES:
            try:
                model = gankit.create_model(name, image_size=size).to(device).eval()
                spec = model.data_spec()
                x = torch.rand(batch, spec.channels, size, size, device=device) * 2 - 1
                rate = time_sampling(lambda n, m=model, x=x: m.translate(x), device, batch, args.sample_batches)
                rows.append({"model": name, "size": size, "batch": batch, "img_per_s": rate})
            except Exception as exc:
                rows.append({"model": name, "size": size, "batch": batch, "error": error_text(exc)})
    return rows


def summarize(r: Runner, device: torch.device, args: argparse.Namespace) -> dict[str, Any]:
    median = statistics.median(r.times)
    return {
        **r.info,
        "timed_steps": len(r.times),
        "train_img_per_s": r.info.get("batch", BATCH) / median,
        "train_img_per_s_mean": r.info.get("batch", BATCH) * len(r.times) / sum(r.times),
        "train_ms_per_step_median": 1000 * median,
        "sample_img_per_s": time_sampling(r.sample, device, r.info.get("sample_batch", args.sample_batch), args.sample_batches),
    }


# ---- the classic script, rewritten ------------------------------------------------------
# Modern spellings replace `Variable` and `torch.cuda.FloatTensor` (both no-ops today), but
# every step the script takes is kept: PIL transforms per image, numpy noise, D's weight
# gradients during G's step, `.item()` for the per-batch print, and a PNG every 400 batches.

LATENT, IMG_SHAPE = 100, (1, 28, 28)


class ClassicGenerator(nn.Module):
    def __init__(self) -> None:
        super().__init__()

        def block(in_feat: int, out_feat: int, normalize: bool = True) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Linear(in_feat, out_feat)]
            if normalize:
                layers.append(nn.BatchNorm1d(out_feat, 0.8))  # 0.8 lands in eps, as in the script
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(
            *block(LATENT, 128, normalize=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            nn.Linear(1024, int(np.prod(IMG_SHAPE))),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        img = self.model(z)
        return img.view(img.size(0), *IMG_SHAPE)


class ClassicDiscriminator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(int(np.prod(IMG_SHAPE)), 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
            nn.Sigmoid(),
        )

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        img_flat = img.view(img.size(0), -1)
        return self.model(img_flat)


def prepare_classic(root: Path, device: torch.device, log: TextIO, args: argparse.Namespace) -> Runner:
    from torchvision import transforms
    from torchvision.utils import save_image

    torch.manual_seed(0)
    np.random.seed(0)
    generator, discriminator = ClassicGenerator().to(device), ClassicDiscriminator().to(device)
    adversarial_loss = nn.BCELoss().to(device)
    dataloader = torch.utils.data.DataLoader(
        torchvision.datasets.MNIST(
            str(root),
            train=True,
            download=False,
            transform=transforms.Compose([transforms.Resize(28), transforms.ToTensor(), transforms.Normalize([0.5], [0.5])]),
        ),
        batch_size=BATCH,
        shuffle=True,
    )
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    images_dir = root / "images"
    images_dir.mkdir(exist_ok=True)
    n_epochs = 200

    def epochs() -> Iterator[tuple[int, int, torch.Tensor]]:  # the script's two loops, one step at a time
        for epoch in range(n_epochs):
            for i, (imgs, _) in enumerate(dataloader):
                yield epoch, i, imgs

    batches = epochs()

    def step() -> None:
        epoch, i, imgs = next(batches)
        valid = torch.ones(imgs.size(0), 1, device=device)
        fake = torch.zeros(imgs.size(0), 1, device=device)
        real_imgs = imgs.to(device, torch.float32)

        optimizer_G.zero_grad()
        z = torch.tensor(np.random.normal(0, 1, (imgs.shape[0], LATENT)), dtype=torch.float32, device=device)
        gen_imgs = generator(z)
        g_loss = adversarial_loss(discriminator(gen_imgs), valid)
        g_loss.backward()
        optimizer_G.step()

        optimizer_D.zero_grad()
        real_loss = adversarial_loss(discriminator(real_imgs), valid)
        fake_loss = adversarial_loss(discriminator(gen_imgs.detach()), fake)
        d_loss = (real_loss + fake_loss) / 2
        d_loss.backward()
        optimizer_D.step()

        print(
            f"[Epoch {epoch}/{n_epochs}] [Batch {i}/{len(dataloader)}] [D loss: {d_loss.item():f}] [G loss: {g_loss.item():f}]",
            file=log,  # the script prints every batch; here the cost that stays is the .item() calls
        )
        batches_done = epoch * len(dataloader) + i
        if batches_done % 400 == 0:
            save_image(gen_imgs.data[:25], images_dir / f"{batches_done}.png", nrow=5, normalize=True)

    def sample(n: int) -> torch.Tensor:  # the script never calls eval(); sampling does, like gankit's
        generator.eval()
        with torch.no_grad():
            return generator(torch.randn(n, LATENT, device=device))

    for _ in range(args.warmup):
        step()
    info = {"params": sum(p.numel() for m in (generator, discriminator) for p in m.parameters()), "channels": 1, "image_size": 28}
    return Runner(step, sample, info)


# ---- driver -----------------------------------------------------------------------------

def machine_info(device: torch.device) -> dict[str, Any]:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
        with contextlib.suppress(OSError):
            name = next(
                (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), name
            )
    return {"device": str(device), "device_name": name, "cpu_count": os.cpu_count(), "threads": torch.get_num_threads()}


def load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def bench_device(device: torch.device, names: list[str], root: Path, log: TextIO, args: argparse.Namespace) -> dict[str, Any]:
    """Models are prepared and timed `args.group` at a time (the baseline and `gan` in the first
    group), so only a few paper-size models are in memory at once; each group is interleaved."""
    ordered = sorted(names, key=lambda n: n != "gan")
    groups = [ordered[i : i + args.group] for i in range(0, len(ordered), args.group)] or [[]]
    rows: dict[str, dict[str, Any]] = {}
    for gi, group in enumerate(groups):
        prepares: dict[str, Callable[[], Runner]] = {name: partial(prepare_model, name, device, args) for name in group}
        if gi == 0:
            prepares[BASELINE] = partial(prepare_classic, root, device, log, args)
        runners: dict[str, Runner] = {}
        errors: dict[str, str] = {}
        for name, prepare in prepares.items():
            print(f"[{device}] preparing {name} ...", file=sys.stderr, flush=True)
            try:
                runners[name] = prepare()
            except Exception as exc:  # any failure, future variants included: one row, not the benchmark
                errors[name] = error_text(exc)
        print(f"[{device}] timing train steps of {', '.join(runners)} in rounds of {ROUND} ...", file=sys.stderr, flush=True)
        errors.update(time_round_robin(runners, device, args))
        for name in prepares:
            try:
                rows[name] = {"error": errors[name]} if name in errors else summarize(runners[name], device, args)
            except Exception as exc:  # sampling failed
                rows[name] = {"error": error_text(exc)}
        del runners, prepares
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    print(f"[{device}] timing translation ...", file=sys.stderr, flush=True)
    baseline = rows.pop(BASELINE, {"error": "not run"})
    run = {"machine": machine_info(device), "models": {n: rows[n] for n in names if n in rows}, "baseline": baseline,
           "translation": time_translation(names, device, args)}
    gan, base = rows.get("gan", {}), run["baseline"]
    if "train_img_per_s" in gan and "train_img_per_s" in base:
        run["ratio"] = gan["train_img_per_s"] / base["train_img_per_s"]
    return run


def img_per_s(value: float) -> str:
    """At a useful precision: 4,192 and 17, but 5.3 and 0.052 (a 256 px train step takes seconds)."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"


def note(row: dict[str, Any]) -> str:
    """Preset and timed stage where they are not the plain one-stage paper run."""
    parts = [f"preset {row['preset']}"] if row.get("preset", "paper") != "paper" else []
    if not str(row.get("stage", "1/1")).startswith("1/1"):
        size = f"{row['stage_image_size']}px"
        parts.append(f"stage {row['stage']}" + ("" if size in row["stage"] else f" at {size}"))
    return "; ".join(parts)


def markdown(result: dict[str, Any]) -> str:
    a = result["settings"]
    lines = [
        "# Throughput",
        "",
        f"{result['date']}; torch {result['torch']}, torchvision {result['torchvision']}, gankit {result['gankit']}; "
        f"{result['cpu_count']} CPUs, 1-min load average {result['load_avg_1min_start']} at start, "
        f"{result['load_avg_1min_end']} at end. "
        + (f"Preset `{a['preset']}` where a model has it, else paper-default configs (column `note`)"
           if a.get("preset", "paper") != "paper" else "Paper-default configs")
        + f", {a.get('stage', 'first')} training stage timed; batch {a['batch']} (or the paper's smaller batch, "
        "column `batch`; translation, clip and one-photo variants train on random images of their paper shape); gankit models read the "
        f"embedded MNIST through the engine's BatchStream. Train: {a['warmup']} warm-up steps, then up to "
        f"{a['steps']} timed steps (at most {a['max_seconds']:g} s) per model, interleaved in rounds of {a['round']}; "
        "img/s = batch / median step time (the mean-based figure beside it). Models are timed "
        f"{a.get('group', 'all')} at a time. Sampling: `sample(n)` with n = {a['sample_batch']} at 32 px and below, "
        f"the same pixels per call above (at least 8), median of {a['sample_batches']} calls.",
        "",
        "Baseline: the classic one-script PyTorch MNIST GAN (PyTorch-GAN `gan.py`: the same MLPs, torchvision "
        "MNIST with PIL transforms per image, DataLoader with num_workers=0), timed in the same rounds.",
        "",
    ]
    busy = result["load_avg_1min_start"] or 0  # at the end it includes this benchmark's own load
    if busy > 0.5 and any(run["machine"]["device"] == "cpu" for run in result["runs"]):
        lines += [
            f"> **Warning**: other work was running on these {result['cpu_count']} CPUs (load average {busy} at start); "
            "CPU timings with one thread per core suffer most from it. Rerun on an idle machine.",
            "",
        ]
    for run in result["runs"]:
        m = run["machine"]
        lines += [
            f"## {m['device']} ({m['device_name']}, {m['threads']} threads)",
            "",
            "| model | params | image | batch | timed steps | train img/s | ms/step | train img/s (mean) | sample img/s | note |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        rows = [*run["models"].items(), (f"{BASELINE} (baseline)", run["baseline"])]
        for name, row in rows:
            if "error" in row:
                lines.append(f"| {name} | | | | | | | | | {row['error'].replace('|', '/')} |")
                continue
            c, size = row.get("channels", 1), row.get("image_size", 28)
            h, w = row.get("image_hw", (size, size))
            lines.append(
                f"| {name} | {row['params']:,} | {c}×{h}×{w} | {row.get('batch', BATCH)} | {row['timed_steps']} "
                f"| {img_per_s(row['train_img_per_s'])} | {row['train_ms_per_step_median']:.1f} "
                f"| {img_per_s(row['train_img_per_s_mean'])} | {img_per_s(row['sample_img_per_s'])} | {note(row)} |"
            )
        if run.get("translation"):
            lines += ["", "Translation (`model.translate`, paper widths, eval mode, random inputs):", "",
                      "| model | image | images per call | img/s |", "|---|---|---:|---:|"]
            for t in run["translation"]:
                rate = t["error"].replace("|", "/") if "error" in t else f"{t['img_per_s']:,.1f}"
                lines.append(f"| {t['model']} | {t['size']}×{t['size']} | {t['batch']} | {rate} |")
        ratio = run.get("ratio")
        lines += ["", f"**gankit `gan` / classic script, train images/s: {ratio:.2f}x**" if ratio else
                  "**ratio unavailable (gan or baseline failed)**", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=50, help="timed train steps per model (default 50)")
    p.add_argument("--warmup", type=int, default=3, help="untimed train steps first (default 3)")
    p.add_argument("--max-seconds", type=float, default=30.0,
                   help="stop timing a model's train steps early after this long (default 30)")
    p.add_argument("--models", default="", help="comma-separated subset of `gankit list` (default: all)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CPU, and CUDA too when available")
    p.add_argument("--sample-batch", type=int, default=500, help="images per model.sample call (default 500)")
    p.add_argument("--sample-batches", type=int, default=4, help="timed sample calls (default 4)")
    p.add_argument("--group", type=int, default=4, help="models prepared and timed together (default 4; fewer: less memory)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0: the engine's default (one per core)")
    p.add_argument("--preset", default="paper",
                   help="config preset for the models that have it, e.g. cpu (the others: their paper defaults)")
    p.add_argument("--stage", choices=("first", "last"), default="first",
                   help="the training stage timed: the run's first (as a run starts) or its last, after the "
                        "stage hooks (e.g. ProGAN at full size; default first)")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"results folder (default {RESULTS})")
    args = p.parse_args(argv)
    if min(args.steps, args.sample_batch, args.sample_batches, args.group) < 1 or min(args.warmup, args.threads) < 0 or args.max_seconds <= 0:
        p.error("--steps, --sample-batch, --sample-batches, --group and --max-seconds must be positive, --warmup and --threads non-negative")

    names = gankit.list_models()
    if args.models:
        wanted = [n.strip() for n in args.models.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            p.error(f"unknown model(s) {', '.join(unknown)}; registered: {', '.join(names)}")
        names = wanted
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda but no CUDA GPU is available")
    devices = [torch.device("cpu")] if args.device != "cuda" else []
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        devices.append(torch.device("cuda"))

    torch.set_num_threads(args.threads or default_threads())  # as the engine does
    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "gankit": gankit.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        # Other work on the machine skews CPU timings: the 1-minute load average says how much there was.
        "load_avg_1min_start": load_average(),
        "settings": {"batch": BATCH, "round": ROUND, "steps": args.steps, "warmup": args.warmup, "max_seconds": args.max_seconds,
                     "sample_batch": args.sample_batch, "sample_batches": args.sample_batches, "group": args.group,
                     "preset": args.preset, "stage": args.stage},
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="gankit-bench-") as tmp, open(os.devnull, "w") as log:
        root = Path(tmp)
        export_embedded_mnist(root)  # torchvision's raw layout, so the classic script runs offline
        for device in devices:
            result["runs"].append(bench_device(device, names, root, log, args))

    result["load_avg_1min_end"] = load_average()
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "throughput.json", json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    atomic_write_text(args.out / "throughput.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
