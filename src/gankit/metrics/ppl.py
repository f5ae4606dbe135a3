"""Perceptual path length (StyleGAN, arXiv 1812.04948, section 4.1): how much the image changes,
perceptually, for a tiny step along an interpolation between two latents.

PPL = E[ d(G(path(t)), G(path(t + eps))) / eps^2 ], t ~ U[0, 1], in Z along slerp and in W along
lerp, the 1% smallest and 1% largest values dropped, as in the official metric. d here is the
squared distance of the extractor's unit-normalised features (the paper's LPIPS is a VGG16 distance
with channel-normalised features; no VGG is at hand offline, so the project's own feature network
stands in, and figures from different extractors are not comparable).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gankit.errors import GankitError


def unit_rows(f: Tensor) -> Tensor:
    """Each row scaled to unit length (the feature normalisation PPL and the projector compare)."""
    return f / f.norm(dim=1, keepdim=True).clamp_min(1e-12)


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation of rows of a, b (B, D) at t (B, 1); the norm is interpolated linearly,
    so a generator that does not normalise z still gets latents of the usual length (for StyleGAN,
    which normalises z first, this is the official slerp)."""
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua, ub = a / na, b / nb
    cos = (ua * ub).sum(-1, keepdim=True).clamp(-1, 1)
    ortho = ub - cos * ua
    ortho = ortho / ortho.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    angle = t * torch.acos(cos)
    direction = ua * torch.cos(angle) + ortho * torch.sin(angle)
    return direction * torch.lerp(na, nb, t)


def interpolate_latents(a: Tensor, b: Tensor, t: Tensor, space: str) -> Tensor:
    """Points at t (B, 1) between a and b: slerp in z (a Gaussian latent), lerp in any learned space."""
    return slerp(a, b, t) if space == "z" else torch.lerp(a, b, t)


@torch.no_grad()
def perceptual_path_length(
    render: Callable[[Tensor, str], Tensor],
    to_space: Callable[[Tensor, str], Tensor],
    features: Callable[[Tensor], Tensor],
    latent_dim: int,
    space: str,
    n: int = 10_000,
    eps: float = 1e-4,
    batch_size: int = 250,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> float:
    """PPL over `n` pairs in `space`. `render(latents, space)` -> images (B, C, S, S) with fixed
    noise; `to_space(z, space)` maps z (B, latent_dim); `features(images)` -> (B, F)."""
    if n < 2:
        raise GankitError(f"perceptual path length needs at least 2 pairs, got n={n}")
    distances = []
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        z = torch.randn(2 * b, latent_dim, device=device, generator=generator)
        t = torch.rand(b, 1, device=device, generator=generator)
        ends = to_space(z, space)
        e0, e1 = ends[:b], ends[b:]
        points = torch.cat([interpolate_latents(e0, e1, t, space), interpolate_latents(e0, e1, t + eps, space)])
        f = unit_rows(features(render(points, space)).double())  # (2b, F)
        distances.append(((f[:b] - f[b:]) ** 2).sum(1) / eps**2)
    d = torch.cat(distances)
    lo, hi = torch.quantile(d, 0.01), torch.quantile(d, 0.99)
    return d[(d >= lo) & (d <= hi)].mean().item()
