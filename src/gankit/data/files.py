"""Reading the images a command is pointed at: one file, a folder, or an `.npz` from `gankit sample`.

For commands that act on given images (classify, encode, and later translate, upscale,
inpaint). A file that is not an image is an error naming it; inside a folder such files are
skipped with one counted warning, as in training folders.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from gankit.data.core import fit_images
from gankit.data.folder import IMAGE_EXTENSIONS, find_images, to_8bit
from gankit.errors import GankitError


@dataclass
class Inputs:
    images: torch.Tensor  # (N, C, H, W) uint8
    names: list[str]  # one per image, relative to the input (file names, or npz row numbers)
    labels: torch.Tensor | None = None  # from integer-named subfolders, or the npz "labels" array


def read_image(path: str | os.PathLike, channels: int) -> torch.Tensor:
    """One image file at its own size as uint8 `(C, H, W)`, converted to `channels` (1 or 3)."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            arr = to_8bit(img, channels)
    except FileNotFoundError:
        raise GankitError(f"{path} does not exist") from None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise GankitError(f"{path} is not an image gankit can read (use {', '.join(IMAGE_EXTENSIONS)})") from None
    return torch.from_numpy(np.ascontiguousarray(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)))


def read_alpha(path: str | os.PathLike) -> torch.Tensor | None:
    """The alpha channel of an image file as uint8 `(1, H, W)`, or None when it has none."""
    try:
        with Image.open(path) as img:
            if "A" not in img.getbands() and "transparency" not in img.info:
                return None
            alpha = np.asarray(img.convert("RGBA"))[..., 3]
    except (OSError, ValueError, Image.DecompressionBombError):
        return None  # read_image gives the one-line error for files it cannot read
    return torch.from_numpy(np.ascontiguousarray(alpha))[None]


def read_each(files: list[Path], channels: int, root: Path) -> tuple[list[torch.Tensor], list[int]]:
    """The readable ones of `files` (found under the folder `root`) at their own sizes as uint8 `(C, H, W)`,
    with their indices in `files`; the others are skipped with one counted warning, an error if none is left."""
    images, kept, bad = [], [], []
    for i, f in enumerate(files):
        try:
            images.append(read_image(f, channels))
            kept.append(i)
        except GankitError as exc:
            bad.append(str(exc))
    report_unreadable(bad, len(files), root)
    return images, kept


def report_unreadable(bad: list, total: int, root: Path) -> None:
    """One counted warning for the `bad` of `total` files under `root`; an error when all were bad."""
    if bad and len(bad) == total:
        raise GankitError(f"none of the {total} image files in {root} could be read (first: {bad[0]})")
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable image file(s) in {root} (first: {bad[0]})", stacklevel=3)


def read_inputs(path: str | os.PathLike, size: int, channels: int) -> Inputs:
    """Images under `path`, fitted to `size` x `size` and `channels` (resize shorter side, centre crop)."""
    path = Path(path)
    if not path.exists():
        raise GankitError(f"{path} does not exist: give an image file, a folder of images or an .npz of images")
    if path.is_file() and path.suffix.lower() == ".npz":
        return _read_npz(path, size, channels)
    if path.is_file():
        image = read_image(path, channels)[None]
        return Inputs(fit_images(image, size, channels), [path.name])
    files = find_images(path)
    if not files:
        raise GankitError(f"no images found in {path} (looked recursively for {', '.join(IMAGE_EXTENSIONS)})")
    raw, kept = read_each(files, channels, path)
    images = [fit_images(image[None], size, channels) for image in raw]
    names = [str(files[i].relative_to(path)) for i in kept]
    parents = [Path(n).parts[0] if len(Path(n).parts) > 1 else "" for n in names]
    labels = torch.tensor([int(p) for p in parents]) if all(p.isdigit() for p in parents) else None
    return Inputs(torch.cat(images), names, labels)


def _read_npz(path: Path, size: int, channels: int) -> Inputs:
    try:
        with np.load(path, allow_pickle=False) as data:
            if "images" not in data:
                raise GankitError(f"{path} has no 'images' array (arrays: {', '.join(data.files)})")
            arr, labels = data["images"], data["labels"] if "labels" in data else None
    except (OSError, ValueError) as exc:
        raise GankitError(f"{path} is not a readable .npz file ({exc})") from None
    if arr.dtype != np.uint8 or arr.ndim not in (3, 4):
        raise GankitError(f"{path}: 'images' must be uint8 (N, H, W) or (N, H, W, C), got {arr.dtype} {arr.shape}")
    images = torch.from_numpy(arr[..., None] if arr.ndim == 3 else arr).permute(0, 3, 1, 2).contiguous()
    names = [f"{path.name}[{i}]" for i in range(len(images))]
    return Inputs(fit_images(images, size, channels), names, None if labels is None else torch.from_numpy(labels).long())
