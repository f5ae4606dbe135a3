"""Laplacian pyramids and the per-level nets that generate their band-pass images.

The pyramid uses a fixed decimation (2x2 average pooling) and a fixed upsampling (bilinear x2), and
each band is defined as `x - up(down(x))`, so `collapse(build_laplacian(x, levels))` gives `x` back
to float rounding whatever the two filters are.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError


def down(x: torch.Tensor) -> torch.Tensor:
    """Halve the sides: the mean of each 2x2 block. (B, C, H, W) -> (B, C, H/2, W/2)"""
    return F.avg_pool2d(x, 2)


def up(x: torch.Tensor) -> torch.Tensor:
    """Double the sides, bilinearly. (B, C, h, w) -> (B, C, 2h, 2w)"""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def check_levels(size: int, levels: int) -> None:
    if levels < 1:
        raise GankitError(f"a pyramid needs at least 1 level, got {levels}")
    if size % 2 ** (levels - 1):
        raise GankitError(f"a {levels}-level pyramid needs image sides divisible by {2 ** (levels - 1)}, got {size}")


def gaussian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """The low-pass images, coarsest first: [down^(L-1)(x), ..., down(x), x]."""
    check_levels(min(x.shape[-2:]), levels)
    out = [x]
    for _ in range(levels - 1):
        out.append(down(out[-1]))
    return out[::-1]


def build_laplacian(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """`levels` - 1 band-pass images, finest first, then the coarsest low-pass image:
    [x - up(down(x)), ..., down^(L-1)(x)]; the k-th entry has sides H / 2^k."""
    lows = gaussian_pyramid(x, levels)[::-1]  # finest first
    return [lows[k] - up(lows[k + 1]) for k in range(levels - 1)] + [lows[-1]]


def collapse(pyramid: list[torch.Tensor]) -> torch.Tensor:
    """The exact inverse of `build_laplacian`: from the coarsest image, upsample and add each band."""
    x = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        x = up(x) + band
    return x


class BandGenerator(nn.Module):
    """(upsampled coarser image, one noise plane) -> the band-pass residual at that size: 3x3 convs with
    BatchNorm and ReLU, a linear output (a band is signed and not bounded by tanh)."""

    def __init__(self, channels: int, width: int, layers: int = 3) -> None:
        super().__init__()
        body: list[nn.Module] = []
        c_in = channels + 1  # the noise enters as an extra colour plane, as in the paper
        for _ in range(layers - 1):
            body += [nn.Conv2d(c_in, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            c_in = width
        body.append(nn.Conv2d(c_in, channels, 3, padding=1))
        self.net = nn.Sequential(*body)

    def forward(self, noise: torch.Tensor, coarse_up: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([coarse_up, noise], 1))  # (B, C+1, H, W) -> (B, C, H, W)


class BandDiscriminator(nn.Module):
    """image = upsampled coarser image + band -> one logit: two stride-2 4x4 convs with LeakyReLU 0.2 and a
    linear head. The condition reaches D added to the band, as in the paper (and its code's CAddTable)."""

    def __init__(self, channels: int, size: int, width: int) -> None:
        super().__init__()
        if size % 4:
            raise GankitError(f"a band discriminator needs sides divisible by 4, got {size}")
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, W, H/2, W/2)
            nn.Conv2d(width, width, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, W, H/4, W/4)
            nn.Flatten(), nn.Linear(width * (size // 4) ** 2, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image).squeeze(1)  # (B, C, H, W) -> (B,) logits
