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
    """Held-out MNIST digits (odd rows) above their reconstructions G(E(x)) (even rows), 4 x 10 pairs."""
    if len(runs) != 1:
        return None
    model = gankit.load(next(iter(runs.values())))
    c = model.config
    test = load_data("mnist", c.image_size, c.channels, split="test")
    idx = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:40]
    x = to_signed_unit(test.images[idx])  # (40, C, H, W) in [-1, 1]
    recon = predict(model.reconstruct, test.images[idx], model.device)
    rows = torch.stack([x.view(4, 10, *x.shape[1:]), recon.view(4, 10, *x.shape[1:])], 1)  # (4, 2, 10, C, H, W)
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
