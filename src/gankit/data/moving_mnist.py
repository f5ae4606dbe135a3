"""Moving MNIST, made offline from the embedded MNIST (the dataset of Srivastava et al., arXiv 1502.04681).

A clip: `digits` (2, or 1 for `moving-mnist-1`) 28x28 MNIST digits bouncing inside a 64x64 black
canvas for `frames` frames. Each digit starts at a uniform position (its top-left corner in
[0, 36]^2) with a uniform direction and a speed uniform in [2, 5] px per frame; at a border its
position is mirrored back inside and that velocity component flips. Digits drawn over each other
combine by the pixel-wise maximum; positions are rounded to whole pixels. Frames are drawn at 64x64
and shrunk to the model's size (box averaging, or an antialiased resize where 64 is no multiple of it).

Deterministic: split `train` draws 10,000 clips from the MNIST train digits (the embedded 50k) with
seed 0, `test` 2,000 clips from the test digits (10k) with seed 1; the same call gives the same clips.
Clips travel as uint8 (N, T*C, H, W), frames stacked along channels (see gankit.data.clips); the
labels are each clip's digit (one digit) or 10 * first + second (two digits; class names "00".."99").
"""

from __future__ import annotations

import numpy as np
import torch

from gankit.data.clips import stack_frames
from gankit.data.core import ImageDataset, fit_images
from gankit.data.mnist import load_mnist
from gankit.errors import GankitError

CANVAS, DIGIT = 64, 28
SOURCES = {"moving-mnist": 2, "moving-mnist-1": 1}  # --data name -> digits per clip
SPLITS = {"train": ("train", 10_000, 0), "test": ("test", 2_000, 1)}  # MNIST split, clips, seed
SPEED = (2.0, 5.0)  # px per frame on the 64 px canvas


def trajectories(n: int, frames: int, digits: int, rng: np.random.Generator) -> np.ndarray:
    """Top-left corners (n, frames, digits, 2) in whole pixels, bouncing inside [0, CANVAS - DIGIT]."""
    room = CANVAS - DIGIT
    pos = rng.uniform(0, room, (n, digits, 2))
    angle = rng.uniform(0, 2 * np.pi, (n, digits))
    vel = np.stack([np.sin(angle), np.cos(angle)], -1) * rng.uniform(*SPEED, (n, digits, 1))
    out = np.empty((n, frames, digits, 2))
    for t in range(frames):
        out[:, t] = pos
        pos = pos + vel
        low, high = pos < 0, pos > room  # reflect at the borders
        pos = np.where(low, -pos, np.where(high, 2 * room - pos, pos))
        vel = np.where(low | high, -vel, vel)
    return np.rint(out).astype(np.int64)


def render(glyphs: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """uint8 digits (n, digits, 28, 28) at corners (n, T, digits, 2) -> uint8 frames (n, T, 64, 64)."""
    n, t, d, _ = corners.shape
    canvas = np.zeros((n, t, CANVAS, CANVAS), dtype=np.uint8)
    room = CANVAS - DIGIT + 1
    s = canvas.strides  # every 28x28 window of every frame, as a writeable view (n, T, 37, 37, 28, 28)
    windows = np.lib.stride_tricks.as_strided(canvas, (n, t, room, room, DIGIT, DIGIT), (*s, s[2], s[3]))
    clip = np.arange(n)
    for ti in range(t):
        for di in range(d):  # one window per clip: the writes of one assignment never overlap
            y, x = corners[:, ti, di, 0], corners[:, ti, di, 1]
            windows[clip, ti, y, x] = np.maximum(windows[clip, ti, y, x], glyphs[:, di])
    return canvas


def shrink(frames: np.ndarray, size: int, channels: int) -> torch.Tensor:
    """uint8 (N, 64, 64) -> (N, channels, size, size): exact box averaging (in integers, rounding half up)
    where 64 is a multiple of `size`, else the antialiased resize of gankit.data.fit_images."""
    if CANVAS % size:
        return fit_images(torch.from_numpy(frames)[:, None], size, channels)
    k = CANVAS // size
    if k == 1:
        return torch.from_numpy(frames)[:, None].expand(-1, channels, -1, -1).contiguous()
    sums = np.zeros((frames.shape[0], size, size), dtype=np.uint32)
    for dy in range(k):  # k * k strided adds: far faster than numpy's reduction over two strided axes
        for dx in range(k):
            sums += frames[:, dy::k, dx::k]
    small = torch.from_numpy(((sums + k * k // 2) // (k * k)).astype(np.uint8))[:, None]  # (N, 1, S, S)
    return small.expand(-1, channels, -1, -1).contiguous()


def moving_mnist(split: str = "train", frames: int = 16, size: int = 64, channels: int = 1, digits: int = 2,
                 n: int | None = None, seed: int | None = None, chunk: int = 500) -> ImageDataset:
    """Clips uint8 (N, frames * channels, size, size) with labels (N,); see the module docstring."""
    if split not in SPLITS:
        raise GankitError(f"moving-mnist has splits {', '.join(SPLITS)}, not {split!r}")
    if digits not in (1, 2):
        raise GankitError(f"moving-mnist clips hold 1 or 2 digits, not {digits}")
    if frames < 1 or size < 1:
        raise GankitError(f"moving-mnist needs at least 1 frame of at least 1 px, got {frames} frames of {size} px")
    mnist_split, default_n, default_seed = SPLITS[split]
    n = default_n if n is None else n
    rng = np.random.default_rng(default_seed if seed is None else seed)
    images, labels = load_mnist(mnist_split)
    pick = rng.integers(0, len(images), (n, digits))  # (n, digits) digit indices
    corners = trajectories(n, frames, digits, rng)
    glyphs = images[:, 0].numpy()
    out = torch.empty(n, frames * channels, size, size, dtype=torch.uint8)
    for start in range(0, n, chunk):
        part = slice(start, min(n, start + chunk))
        clips = render(glyphs[pick[part]], corners[part])  # (b, T, 64, 64)
        b = clips.shape[0]
        fitted = shrink(clips.reshape(b * frames, CANVAS, CANVAS), size, channels)  # (b*T, C, S, S)
        out[part] = stack_frames(fitted.view(b, frames, channels, size, size))
    digit_labels = labels[torch.from_numpy(pick)]  # (n, digits)
    if digits == 1:
        return ImageDataset(out, digit_labels[:, 0].contiguous(), f"moving-mnist-1-{split}", tuple(map(str, range(10))))
    names = tuple(f"{a}{b}" for a in range(10) for b in range(10))
    return ImageDataset(out, digit_labels[:, 0] * 10 + digit_labels[:, 1], f"moving-mnist-{split}", names)


def load_moving_mnist(source: str, split: str, image_size: int | tuple[int, int], channels: int,
                      frames: int) -> ImageDataset:
    """`--data moving-mnist` / `moving-mnist-1` for a model of clips of `frames` frames, `channels` in all."""
    if not frames:
        raise GankitError(f"{source} holds clips (video): train a model whose data has frames on it")
    if source not in SOURCES:
        raise GankitError(f"this model learns from clips of {frames} frames: use --data {' or '.join(SOURCES)}")
    if not isinstance(image_size, int):
        raise GankitError(f"{source} clips are square, not {image_size}")
    if channels % frames or channels // frames not in (1, 3):
        raise GankitError(f"clips of {frames} frames with {channels} channels in all: each frame needs 1 or 3")
    return moving_mnist(split, frames, image_size, channels // frames, SOURCES[source])
