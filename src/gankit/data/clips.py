"""Clips (short videos) as the engine holds them: frames stacked along channels, frame-major.

A clip of T frames with C channels each travels as one image (T*C, H, W), so datasets, batch
streams, EMA and checkpoints need nothing new; a model whose `DataSpec.frames` is T reads it back
as (T, C, H, W). These helpers convert between the two layouts and write clips as animated GIFs.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch

from gankit.errors import GankitError


def unstack_frames(images: torch.Tensor, frames: int) -> torch.Tensor:
    """(N, T*C, H, W) -> (N, T, C, H, W) (a view)."""
    n, tc, h, w = images.shape
    if frames < 1 or tc % frames:
        raise GankitError(f"clips of {frames} frames cannot hold {tc} channels")
    return images.view(n, frames, tc // frames, h, w)


def stack_frames(clips: torch.Tensor) -> torch.Tensor:
    """(N, T, C, H, W) -> (N, T*C, H, W)."""
    n, t, c, h, w = clips.shape
    return clips.reshape(n, t * c, h, w)


def frame_grid(clips: torch.Tensor, nrow: int | None = None, pad: int = 2) -> torch.Tensor:
    """uint8 clips (N, T, C, H, W) -> uint8 (T, C, H', W'): per time step, one grid of the N clips' frames."""
    n, t, c, h, w = clips.shape
    nrow = nrow or max(1, int(round(n**0.5)))
    rows = -(-n // nrow)
    grid = torch.zeros(t, c, rows * (h + pad) + pad, nrow * (w + pad) + pad, dtype=torch.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, :, top : top + h, left : left + w] = clips[i]
    return grid


def save_gif(frames: torch.Tensor, path: str | os.PathLike, fps: float = 8.0) -> None:
    """Write uint8 frames (T, C, H, W) (C 1 or 3) as a looping animated GIF, atomically."""
    from PIL import Image

    from gankit.fileio import atomic_write_bytes

    pixels = frames.permute(0, 2, 3, 1).numpy()  # (T, H, W, C)
    images = [Image.fromarray(p[..., 0] if p.shape[-1] == 1 else p) for p in pixels]
    buf = io.BytesIO()
    images[0].save(buf, format="gif", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(path), buf.getvalue())
