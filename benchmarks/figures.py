"""Proof figures beside a proof's numbers, named by a recipe's "figure" key (benchmarks/recipes/).

Each figure is a function of the recipe's run folders (by run name) and the PNG path to write; it
returns the path, or None when the runs given do not make that figure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch

import gankit
from gankit.data import to_signed_unit, to_unit_range
from gankit.data.sources import load_data, photo_crops
from gankit.engine.artifacts import save_grid
from gankit.errors import GankitError
from gankit.metrics.probes import predict

FIGURES: dict[str, Callable[[dict[str | None, Path], Path], Path | None]] = {}


def register_figure(name: str):
    def wrap(fn):
        FIGURES[name] = fn
        return fn
    return wrap


def proof_figure(name: str | None, runs: dict[str | None, Path], out: Path) -> Path | None:
    if name is None:
        return None
    if name not in FIGURES:
        raise GankitError(f"unknown proof figure {name!r}; choose from {', '.join(sorted(FIGURES))}")
    return FIGURES[name](runs, out)


@register_figure("bigan_reconstructions")
def bigan_reconstructions(runs: dict[str | None, Path], out: Path) -> Path | None:
    """Held-out MNIST digits above their reconstructions G(E(x)), 4 x 10 digits; with several runs (in the
    recipe's order) one row of reconstructions per run under each row of digits."""
    if not runs:
        return None
    models = [gankit.load(run) for run in runs.values()]
    c = models[0].config
    test = load_data("mnist", c.image_size, c.channels, split="test")
    idx = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:40]
    x = to_signed_unit(test.images[idx])  # (40, C, H, W) in [-1, 1]
    recons = [predict(m.reconstruct, test.images[idx], m.device) for m in models]  # each (40, C, H, W)
    rows = torch.stack([t.view(4, 10, *x.shape[1:]) for t in [x, *recons]], 1)  # (4, 1 + runs, 10, C, H, W)
    save_grid(rows.flatten(0, 2), out, nrow=10)
    return Path(out)


@register_figure("srgan_comparison")
def srgan_comparison(runs: dict[str | None, Path], out: Path) -> Path | None:
    """Held-out crops: bicubic | SRResNet | SRGAN | original, from the recipe's two runs."""
    if "srresnet" not in runs or "srgan" not in runs:
        return None
    return comparison_png(runs["srresnet"], runs["srgan"], out, n=6, size=96)


def comparison_png(srresnet_run: str | os.PathLike, srgan_run: str | os.PathLike, out: str | os.PathLike,
                   n: int = 4, size: int = 96, seed: int = 0) -> Path:
    """Write `out`: rows of held-out photo crops (`size` px, `--data photos` test split), columns
    bicubic | SRResNet | SRGAN | original, each x`scale` from the crop's bicubic-downsampled copy."""
    from gankit.models.srgan import bicubic, downsample

    models = [gankit.load(r) for r in (srresnet_run, srgan_run)]
    s = models[0].config.scale
    if any(m.name != "srgan" or m.config.scale != s for m in models):
        raise GankitError("comparison_png needs two srgan runs with the same scale")
    size = size - size % s
    crops = photo_crops("test", size).images  # (2000, 3, size, size) uint8, held-out photos
    idx = torch.randperm(len(crops), generator=torch.Generator().manual_seed(seed))[:n]
    hr = to_unit_range(crops[idx])
    if models[0].config.channels == 1:
        hr = hr.mean(1, keepdim=True)
    lr = downsample(hr, s)
    cols = [bicubic(lr, s).clamp(-1, 1)] + [m.upscale(lr).cpu() for m in models] + [hr]
    path = Path(out)
    save_grid(torch.stack(cols, 1).flatten(0, 1), path, nrow=4)
    return path


@register_figure("style_mixing_grid")
def style_mixing_grid(runs: dict[str | None, Path], out: Path) -> Path | None:
    """The run's style-mixing grid at the 8 px crossover (as `gankit sample RUN --mix`, seed 0): top
    row B sources, left column A sources, cell (i, j) = A_i's styles up to 8 px, B_j's above."""
    if len(runs) != 1:
        return None
    model = gankit.load(next(iter(runs.values())))
    grids = model.mixing_grids(generator=torch.Generator(model.device).manual_seed(0))
    grid, nrow = grids.get("coarse-up-to-8px", next(iter(grids.values())))
    save_grid(grid, out, nrow=nrow)
    return Path(out)


@register_figure("ada_curves")
def ada_curves(runs: dict[str | None, Path], out: Path) -> Path | None:
    """ADA's p (the ADA run) and the overfitting heuristic r_t = E[sign(D(real))] (both runs) over
    training, from the runs' logs; the dashed line is ADA's target 0.6."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if "ada" not in runs or "no-ada" not in runs:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, run in (("ada", runs["ada"]), ("no-ada", runs["no-ada"])):
        rows = [json.loads(line) for line in (Path(run) / "log.jsonl").read_text().splitlines()]
        rows = [r for r in rows if "ada/rt" in r]
        steps = [r["step"] for r in rows]
        ax.plot(steps, [r["ada/rt"] for r in rows], label=f"r_t ({label})")
        if label == "ada":
            ax.plot(steps, [r["ada/p"] for r in rows], label="p (ada)", linewidth=2)
    ax.axhline(0.6, color="gray", linestyle="--", linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return Path(out)


@register_figure("single_image_pyramid")
def single_image_pyramid(runs: dict[str | None, Path], out: Path) -> Path | None:
    """Per pyramid run (the single-scale baselines are skipped), one row: the training image, its
    fixed-noise reconstruction, two random samples, one sample twice as wide, and an edit (a block copied
    to the right-hand side, entered at scale 1 and blended by its mask, as `gankit edit`), seed 0."""
    import numpy as np
    from PIL import Image

    from gankit import inference
    from gankit.data import to_uint8

    rows = []
    for run in runs.values():
        model = gankit.load(run)
        if model.config.single_scale:
            continue
        gen = torch.Generator(model.device).manual_seed(0)
        h, w = model.config.image_shape
        image = to_uint8(model.image)[0]  # (C, H, W)
        edited, mask = image.clone(), torch.zeros(1, h, w)
        block = w // 3
        edited[:, :, w - block:] = image[:, :, :block]
        mask[:, :, w - block:] = 1
        pieces = [image, to_uint8(model.reconstruct())[0], *to_uint8(model.sample_at(2, generator=gen)),
                  to_uint8(model.sample_at(1, size=(h, 2 * w), generator=gen))[0],
                  inference.inject(model, edited, scale=1, mask=mask)[0]]
        rows.append(pieces)
    if not rows:
        return None
    gap = 4
    width = max(sum(p.shape[-1] for p in row) + gap * (len(row) - 1) for row in rows)
    height = sum(max(p.shape[-2] for p in row) for row in rows) + gap * (len(rows) - 1)
    canvas = np.full((height, width, 3), 255, np.uint8)
    top = 0
    for row in rows:
        left = 0
        for p in row:
            px = p.expand(3, -1, -1).permute(1, 2, 0).numpy()
            canvas[top:top + px.shape[0], left:left + px.shape[1]] = px
            left += px.shape[1] + gap
        top += max(p.shape[-2] for p in row) + gap
    scale = 3  # small images, enlarged for the eye (nearest: no smoothing added)
    Image.fromarray(canvas).resize((width * scale, height * scale), Image.Resampling.NEAREST).save(out)
    return Path(out)


@register_figure("pyramid_levels_strip")
def pyramid_levels_strip(runs: dict[str | None, Path], out: Path) -> Path | None:
    """Eight chained draws of the run with the most pyramid levels (runs of one level are skipped), one
    draw per row: its image at every level, coarsest first, each enlarged to one side of at least 96 px (nearest), seed 0."""
    import torch.nn.functional as F

    models = [m for m in map(gankit.load, runs.values()) if hasattr(m, "sample_levels") and len(m.config.sizes) > 1]
    if not models:
        return None
    model = max(models, key=lambda m: len(m.config.sizes))
    levels = model.sample_levels(8, generator=torch.Generator(model.device).manual_seed(0))
    side = max(96, levels[-1].shape[-1])  # small images, enlarged for the eye (nearest: no smoothing added)
    cols = [F.interpolate(x, size=(side, side), mode="nearest") for x in levels]  # (8, C, side, side) each
    save_grid(torch.stack(cols, 1).flatten(0, 1).cpu(), out, nrow=len(cols))
    return Path(out)
