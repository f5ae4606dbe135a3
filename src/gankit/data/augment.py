"""Augmentations on batches in [-1, 1]: the background (-1) fills what moves in from outside."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def random_shift(x: Tensor, pixels: int, generator: torch.Generator | None = None) -> Tensor:
    """Translate each image by up to `pixels` in x and y (zero-padded with -1, the background)."""
    if pixels <= 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (pixels,) * 4, value=-1.0)
    dx = torch.randint(0, 2 * pixels + 1, (b,), generator=generator)
    dy = torch.randint(0, 2 * pixels + 1, (b,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None]).to(x.device)  # (B, H)
    cols = (dx[:, None] + torch.arange(w)[None]).to(x.device)  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def random_affine(x: Tensor, degrees: float, scale: float, pixels: float,
                  generator: torch.Generator | None = None) -> Tensor:
    """Rotate each image by up to `degrees`, scale it by 1 +- `scale` and translate it by up to
    `pixels`, bilinearly, filling with -1 (the background): `(B, C, H, W)` -> the same shape."""
    b, _, h, w = x.shape
    u = torch.rand(b, 4, generator=generator) * 2 - 1  # uniform in [-1, 1]: angle, scale, dx, dy
    angle, factor = u[:, 0] * math.radians(degrees), 1 + u[:, 1] * scale
    cos, sin = angle.cos() / factor, angle.sin() / factor
    # affine_grid maps output to input coordinates in [-1, 1] units: a pixel is 2 / size of them.
    theta = torch.stack([torch.stack([cos, -sin, u[:, 2] * pixels * 2 / w], 1),
                         torch.stack([sin, cos, u[:, 3] * pixels * 2 / h], 1)], 1).to(x)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # grid_sample pads with 0, so sample x + 1 (background 0) and shift back.
    return F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1
