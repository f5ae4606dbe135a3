"""Style mixing (StyleGAN): do coarse styles carry the digit and fine styles the stroke?"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.errors import GankitError
from gankit.metrics.probes import digit_classes


def stroke_thickness(images: torch.Tensor) -> torch.Tensor:
    """Mean stroke width in pixels of gray digits (B, 1, S, S) in [-1, 1]: ink area (pixels above
    mid-gray) over the length of its skeleton. (B,), NaN where an image has no ink."""
    from skimage.morphology import skeletonize

    ink = (images[:, 0] > 0).cpu().numpy()
    widths = [m.sum() / s if (s := skeletonize(m).sum()) else np.nan for m in ink]
    return torch.tensor(widths, dtype=torch.float64)


def _corr(x: torch.Tensor, y: torch.Tensor) -> float:
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / (x.norm() * y.norm()).clamp_min(1e-12))


@register_capability("style_mixing")
@torch.no_grad()
def style_mixing(model: Any, data: HeldOut, baselines: bool = False, n: int = 1000,
                 split: str | None = None) -> dict[str, float]:
    """`n` pairs of latents (A, B); each mix takes A's styles up to `split` (default 8 px: the
    paper's coarse styles) and B's above, with fixed noise. `mix/digit_is_a`: the share lenet-mnist
    reads as A's digit (the issue's target: at least 90%), `mix/digit_is_b` as B's, both over pairs
    whose A and B the reader sees as different digits. `mix/thickness_nearer_b`: the share of mixes
    whose stroke width (ink area over skeleton length) is nearer B's than A's; `mix/thickness_corr_b`
    and `_a`: the correlation of the mix's width with B's and with A's. Meant for gray digits."""
    if data.test.images.shape[1] != 1:
        raise GankitError(f"{model.name}'s style mixing is judged by the MNIST digit reader: train on gray digits")
    splits = model.mixing_splits()
    split = split or ("8px" if "8px" in splits else next(iter(splits)))
    if split not in splits:
        raise GankitError(f"unknown split {split!r}: choose from {', '.join(splits)}")
    gen = torch.Generator(model.device).manual_seed(data.seed)
    za = torch.randn(n, model.config.latent_dim, device=model.device, generator=gen)
    zb = torch.randn(n, model.config.latent_dim, device=model.device, generator=gen)
    parts = [(model.render(a), model.render(b), model.mix(a, b, splits[split])) for a, b in zip(za.split(250), zb.split(250))]
    a, b, mix = (torch.cat(p) for p in zip(*parts))  # (n, 1, S, S) each
    da, db, dm = digit_classes(a), digit_classes(b), digit_classes(mix)
    distinct = da != db
    ta, tb, tm = stroke_thickness(a), stroke_thickness(b), stroke_thickness(mix)
    ok = ~(ta.isnan() | tb.isnan() | tm.isnan()) & (ta != tb)
    nearer_b = ((tm - tb).abs() < (tm - ta).abs())[ok]
    return {"mix/digit_is_a": (dm == da)[distinct].float().mean().item(),
            "mix/digit_is_b": (dm == db)[distinct].float().mean().item(),
            "mix/distinct_pairs": distinct.float().mean().item(),
            "mix/thickness_nearer_b": nearer_b.double().mean().item(),
            "mix/thickness_corr_b": _corr(tm[ok], tb[ok]), "mix/thickness_corr_a": _corr(tm[ok], ta[ok])}
