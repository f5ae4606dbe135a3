"""Live measures of a 2-D GAN: divergences on a grid histogram and the mode-collapse papers' counts.

- `histogram_divergences`: real and fake points binned on the same bins x bins grid over the view
  (points outside fall into the edge bins), each histogram smoothed by `eps` per bin, then
  KL(real || fake) and JS(real, fake) in nats (JS is at most ln 2 = 0.693).
- `mode_quality`: the protocol of Unrolled GAN / VEEGAN / PacGAN on 8 Gaussians and the 25-grid: a
  sample is high-quality when it lies within 3 std of its nearest mode centre; a mode is covered when
  at least `min_count` high-quality samples fall to it (20 of 2,500 by default, as in PacGAN).
"""

from __future__ import annotations

import torch


def histogram(points: torch.Tensor, view: tuple[float, float, float], bins: int) -> torch.Tensor:
    """Counts (bins, bins) of `points` (N, 2) over the view square, row = y bin, column = x bin."""
    cx, cy, half = view
    scaled = (points.double() - torch.tensor([cx - half, cy - half], dtype=torch.float64)) / (2 * half)
    idx = (scaled * bins).floor().long().clamp(0, bins - 1)  # (N, 2) bin of x, bin of y
    flat = idx[:, 1] * bins + idx[:, 0]
    return torch.bincount(flat, minlength=bins * bins).double().view(bins, bins)


def histogram_divergences(real: torch.Tensor, fake: torch.Tensor, view: tuple[float, float, float],
                          bins: int = 32, eps: float = 1e-6) -> dict[str, float]:
    """`kl` = KL(real || fake) and `js` = JS(real, fake), in nats, of the two smoothed histograms."""
    p = histogram(real, view, bins).flatten()
    q = histogram(fake, view, bins).flatten()
    p = (p / p.sum() + eps) / (1 + eps * p.numel())
    q = (q / q.sum() + eps) / (1 + eps * q.numel())
    m = (p + q) / 2
    kl = float((p * (p / q).log()).sum())
    js = float(0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum())
    return {"kl": kl, "js": js}


def mode_quality(fake: torch.Tensor, centres: torch.Tensor, std: float, min_count: int = 20) -> dict[str, float]:
    """`modes` covered (of K = len(centres)) and `high_quality`, the share of `fake` (N, 2) within 3 std
    of its nearest centre."""
    distance = torch.cdist(fake.double(), centres.double())  # (N, K)
    nearest, which = distance.min(1)
    good = nearest <= 3 * std  # (N,)
    counts = torch.bincount(which[good], minlength=len(centres))  # (K,)
    return {"modes": float((counts >= min_count).sum()), "high_quality": float(good.double().mean())}
