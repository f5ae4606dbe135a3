"""Hole masks for inpainting variants (context encoder, CC-GAN) and the `gankit inpaint` verb.

A mask is a float tensor `(N, 1, H, W)` with 1 in the hole (the pixels to fill) and 0 in the
context; mask PNGs are read the same way (white = hole). Boxes are `(x, y, w, h)` in pixels,
x to the right and y down from the top-left corner, as image editors show them.
Also here: the fills every inpainting capability is judged against (mean-fill, blur-fill) and
the hole PSNR that scores them, so all inpainting variants report comparable numbers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from gankit.errors import GankitError


class Box(NamedTuple):
    x: int
    y: int
    w: int
    h: int


def centre_box(size: int, hole: int) -> Box:
    """The `hole` x `hole` box centred in a `size` x `size` image (the paper's centre region)."""
    if not 0 < hole <= size:
        raise GankitError(f"a hole of {hole} pixels does not fit a {size}x{size} image")
    start = (size - hole) // 2
    return Box(start, start, hole, hole)


def parse_box(text: str) -> Box:
    """`"x,y,w,h"` (pixels) -> Box; a one-line error for anything else."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise GankitError(f"--box takes four integers x,y,w,h (pixels from the top-left corner), got {text!r}")
    box = Box(*values)
    if box.w < 1 or box.h < 1 or box.x < 0 or box.y < 0:
        raise GankitError(f"--box {text}: x and y must be >= 0 and w and h >= 1")
    return box


def check_box(box: Box, height: int, width: int, what: str = "box") -> None:
    """Error unless `box` lies inside an image of `height` x `width`."""
    if box.x < 0 or box.y < 0 or box.w < 1 or box.h < 1 or box.x + box.w > width or box.y + box.h > height:
        raise GankitError(f"{what} x={box.x},y={box.y},w={box.w},h={box.h} is not inside the {width}x{height} image")


def box_masks(boxes: list[Box] | Box, height: int, width: int, device: torch.device | str | None = None) -> torch.Tensor:
    """One mask per box: `(N, 1, H, W)` float, 1 inside the box."""
    boxes = [boxes] if isinstance(boxes, Box) else boxes
    b = torch.tensor(boxes, dtype=torch.long, device=device).view(-1, 4)  # (N, 4) x, y, w, h
    ys = torch.arange(height, device=device).view(1, height, 1)
    xs = torch.arange(width, device=device).view(1, 1, width)
    x0, y0, w, h = (b[:, i].view(-1, 1, 1) for i in range(4))
    inside = (xs >= x0) & (xs < x0 + w) & (ys >= y0) & (ys < y0 + h)  # (N, H, W)
    return inside[:, None].float()


def centre_masks(n: int, size: int, hole: int, device: torch.device | str | None = None) -> torch.Tensor:
    """`n` copies of the centred `hole` x `hole` mask: `(n, 1, size, size)`."""
    return box_masks(centre_box(size, hole), size, size, device).expand(n, -1, -1, -1).contiguous()


def random_box_masks(n: int, size: int, hole: int, boxes: int = 2, generator: torch.Generator | None = None,
                     device: torch.device | str | None = None) -> torch.Tensor:
    """The paper's random blocks: per image the union of `boxes` boxes with sides drawn in
    [hole / 2, hole] at uniform positions, `(n, 1, size, size)`. Drawn from `generator` (on its own
    device), so a seed gives the same masks."""
    if not 0 < hole <= size or boxes < 1:
        raise GankitError(f"random holes need 0 < hole <= {size} and at least one box, got hole {hole}, boxes {boxes}")
    gdev = generator.device if generator is not None else device
    lo = max(1, hole // 2)
    sides = torch.randint(lo, hole + 1, (n * boxes, 2), generator=generator, device=gdev)  # (n*k, 2) w, h
    # Positions uniform over where each box fits: scale a uniform draw by the free room.
    u = torch.rand(n * boxes, 2, generator=generator, device=gdev)
    starts = (u * (size - sides + 1)).long().clamp_max(size - 1)
    b = torch.cat([starts, sides], 1).to(device)  # (n*k, 4) x, y, w, h
    ys = torch.arange(size, device=b.device).view(1, size, 1)
    xs = torch.arange(size, device=b.device).view(1, 1, size)
    x0, y0, w, h = (b[:, i].view(-1, 1, 1) for i in range(4))
    inside = (xs >= x0) & (xs < x0 + w) & (ys >= y0) & (ys < y0 + h)  # (n*k, S, S)
    return inside.view(n, boxes, size, size).any(1, keepdim=True).float()  # (n, 1, S, S)


def read_mask(path: str | os.PathLike, height: int | None = None, width: int | None = None) -> torch.Tensor:
    """A mask image as `(1, 1, H, W)` float, white (> 127 in gray) = hole; checks its size against
    the image it is for and that it has a hole at all."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            gray = np.array(img.convert("L"), dtype=np.uint8)  # (H, W)
    except FileNotFoundError:
        raise GankitError(f"mask {path} does not exist") from None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise GankitError(f"mask {path} is not an image gankit can read (white = hole, black = keep)") from None
    if height is not None and width is not None and gray.shape != (height, width):
        raise GankitError(f"mask {path} is {gray.shape[1]}x{gray.shape[0]} but the image is {width}x{height}: "
                          "they must be the same size")
    mask = torch.from_numpy(gray > 127).float()[None, None]
    if not mask.any():
        raise GankitError(f"mask {path} has no hole: paint the region to fill white (pixel values > 127)")
    return mask


def hole_bbox(mask: torch.Tensor) -> Box:
    """The bounding box of the hole of one mask `(1, H, W)` or `(H, W)`."""
    m = mask.reshape(mask.shape[-2:]) > 0.5
    if not m.any():
        raise GankitError("the mask has no hole")
    rows, cols = m.any(1).nonzero().flatten(), m.any(0).nonzero().flatten()
    y0, x0 = int(rows[0]), int(cols[0])
    return Box(x0, y0, int(cols[-1]) - x0 + 1, int(rows[-1]) - y0 + 1)


def window_around(hole: Box, height: int, width: int, size: int) -> Box:
    """The `size` x `size` window of an image that holds `hole` with as much context as possible
    on every side (centred on the hole, shifted to stay inside the image)."""
    if height < size or width < size:
        raise GankitError(f"the image is {width}x{height}, smaller than the model's {size}x{size} window")
    if hole.w > size or hole.h > size:
        raise GankitError(f"the hole ({hole.w}x{hole.h}) is larger than the model's {size}x{size} window: "
                          f"fill it in parts of at most {size}x{size}")
    x = min(max(hole.x + hole.w // 2 - size // 2, 0), width - size)
    y = min(max(hole.y + hole.h // 2 - size // 2, 0), height - size)
    return Box(x, y, size, size)


def apply_mask(x: torch.Tensor, mask: torch.Tensor, fill: float | torch.Tensor = 0.0) -> torch.Tensor:
    """`x` with the hole replaced by `fill` (a value, or an image broadcastable to x)."""
    return x * (1 - mask) + mask * fill


def composite(context: torch.Tensor, filled: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The context of `context` with the hole taken from `filled` (same shapes; mask broadcasts)."""
    return context * (1 - mask) + filled * mask


def dilate(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """The hole grown by `pixels` on every side (square structuring element)."""
    if pixels <= 0:
        return mask
    return F.max_pool2d(mask, 2 * pixels + 1, stride=1, padding=pixels)


# ---- baselines: what a learned fill is judged against ---------------------------------------
def mean_fill(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each hole filled with the mean colour of its own image's context, per channel."""
    keep = 1 - mask
    mean = (x * keep).sum((2, 3), keepdim=True) / keep.sum((2, 3), keepdim=True).clamp_min(1)  # (N, C, 1, 1)
    return apply_mask(x, mask, mean)


def _gaussian_blur(t: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(3 * sigma))
    coords = torch.arange(-radius, radius + 1, dtype=t.dtype, device=t.device)
    g = torch.exp(-coords.pow(2) / (2 * sigma**2))
    g = g / g.sum()
    c = t.shape[1]
    pad = (radius, radius, radius, radius)
    t = F.conv2d(F.pad(t, pad, mode="constant"), g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(t, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def blur_fill(x: torch.Tensor, mask: torch.Tensor, iterations: int = 50) -> torch.Tensor:
    """The context diffused into the hole: a Gaussian blur of the context normalised by the blurred
    context mask (sigma = a quarter of the largest hole side) to start, then `iterations` steps of
    3x3 averaging inside the hole with the context held fixed (a smooth, harmonic-like fill)."""
    keep = 1 - mask
    rows, cols = mask.amax(3).sum(2), mask.amax(2).sum(2)  # (N, 1): hole rows and columns per image
    sigma = max(1.0, float(torch.maximum(rows, cols).max()) / 4)
    init = _gaussian_blur(x * keep, sigma) / _gaussian_blur(keep, sigma).clamp_min(1e-6)
    out = composite(x, init, mask)
    for _ in range(iterations):
        avg = F.avg_pool2d(F.pad(out, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        out = composite(x, avg, mask)
    return out


def cutmix_masks(n: int, size: int, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> torch.Tensor:
    """CutMix's boxes (Yun et al., arXiv 1905.04899) as U-Net GAN mixes real and fake: per image a
    box covering a share 1 - lambda of the area, lambda ~ U(0, 1), at a uniform centre (clipped to the
    image). Returns `(n, 1, size, size)` float, 1 outside the box (the real image's pixels), 0 inside."""
    gdev = generator.device if generator is not None else device
    lam = torch.rand(n, generator=generator, device=gdev)
    side = (size * (1 - lam).sqrt()).round().long()  # (n,)
    centre = (torch.rand(n, 2, generator=generator, device=gdev) * size).long()  # (n, 2) x, y
    lo = (centre - side[:, None] // 2).clamp(0, size)
    hi = (centre + (side[:, None] + 1) // 2).clamp(0, size)
    ys = torch.arange(size, device=gdev).view(1, size, 1)
    xs = torch.arange(size, device=gdev).view(1, 1, size)
    inside = ((xs >= lo[:, 0, None, None]) & (xs < hi[:, 0, None, None])
              & (ys >= lo[:, 1, None, None]) & (ys < hi[:, 1, None, None]))  # (n, S, S)
    return (~inside)[:, None].float().to(device)
