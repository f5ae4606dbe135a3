"""Full-reference image quality: PSNR and SSIM (Wang et al. 2004), for translation, super-resolution
and inpainting. Inputs are float images in [-1, 1] (or uint8), NCHW; scores are means over images."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.metrics.extractors import to_signed_unit


def _unit(x: Tensor) -> Tensor:
    return (to_signed_unit(x).double() + 1) / 2  # [0, 1]


def psnr(x: Tensor, y: Tensor, mask: Tensor | None = None) -> float:
    """Mean per-image PSNR in dB with data range 1 (pixels in [0, 1]); `mask` (N, 1, H, W) in {0, 1}
    restricts the error to a region (e.g. an inpainted hole)."""
    if x.shape != y.shape:
        raise ValueError(f"psnr: shapes differ {tuple(x.shape)} vs {tuple(y.shape)}")
    err = (_unit(x) - _unit(y)).pow(2)
    if mask is None:
        mse = err.flatten(1).mean(1)
    else:
        m = mask.double().expand_as(err)
        mse = (err * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp_min(1)
    return (10 * torch.log10(1 / mse.clamp_min(1e-10))).mean().item()


def ssim(x: Tensor, y: Tensor, window: int = 11, sigma: float = 1.5) -> float:
    """Mean SSIM with an 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, per channel, valid region."""
    if x.shape != y.shape:
        raise ValueError(f"ssim: shapes differ {tuple(x.shape)} vs {tuple(y.shape)}")
    a, b = _unit(x), _unit(y)
    c = a.shape[1]
    window = min(window, a.shape[-1], a.shape[-2])
    coords = torch.arange(window, dtype=torch.float64) - (window - 1) / 2
    g = torch.exp(-coords.pow(2) / (2 * sigma**2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).expand(c, 1, window, window).to(a.device)

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, kernel, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a.pow(2)
    var_b = blur(b * b) - mu_b.pow(2)
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a.pow(2) + mu_b.pow(2) + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1).mean().item()
