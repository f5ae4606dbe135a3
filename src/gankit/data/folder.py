"""Any folder of images, searched recursively, decoded once and cached as uint8.

Files with an image extension that cannot be decoded are skipped with one counted
warning; other files are ignored. Images in first-level subfolders get those subfolders'
names as class labels (the torchvision ImageFolder convention).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from gankit.data.core import ImageDataset
from gankit.data.mnist import cache_dir
from gankit.errors import GankitError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MAX_IN_MEMORY_BYTES = 8 * 2**30


def find_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def to_8bit(img: Image.Image, channels: int) -> np.ndarray:
    """A PIL image as uint8 `(H, W)` (channels 1) or `(H, W, 3)`. 16-bit and 32-bit gray images are
    scaled to 0..255: PIL's own convert clips them, which turns nearly every pixel of a 16-bit PNG white."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(img, dtype=np.float64)
        if img.mode == "F":
            top = 1.0 if values.max(initial=0.0) <= 1.0 else max(float(values.max()), 1.0)
        else:  # 16-bit, the only integer depth PNG stores above 8; wider integer data by its own maximum
            top = max(65535.0, float(values.max(initial=0.0)))
        gray = Image.fromarray(np.clip(np.rint(values / top * 255), 0, 255).astype(np.uint8))
        img = gray
    return np.array(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)  # writable copy


def _decode(path: Path, size: int, channels: int) -> np.ndarray | str:
    """One image as uint8 (C, size, size): shorter side resized to `size`, centre crop."""
    try:
        with Image.open(path) as img:
            img = Image.fromarray(to_8bit(img, channels))  # 16-bit PNGs scaled, not clipped
            w, h = img.size
            scale = size / min(w, h)
            nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
            img = img.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=3.0)
            left, top = (nw - size) // 2, (nh - size) // 2
            img = img.crop((left, top, left + size, top + size))
            arr = np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return f"{path.name}: {exc}"
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def load_folder(root: str | os.PathLike, size: int, channels: int, use_cache: bool = True) -> ImageDataset:
    root = Path(root)
    if not root.is_dir():
        raise GankitError(f"data folder {root} does not exist or is not a folder")
    files = find_images(root)
    if not files:
        raise GankitError(f"no images found in {root} (looked recursively for {', '.join(IMAGE_EXTENSIONS)})")
    if len(files) * channels * size * size > MAX_IN_MEMORY_BYTES:
        raise GankitError(
            f"{len(files)} images at {size}x{size} need more than {MAX_IN_MEMORY_BYTES >> 30} GiB in memory: "
            "use a smaller --set image_size or a subset of the folder"
        )
    relative = [f.relative_to(root) for f in files]
    in_subfolders = all(len(r.parts) > 1 for r in relative)
    class_names = sorted({r.parts[0] for r in relative}) if in_subfolders else None

    fingerprint = hashlib.sha1(f"{root.resolve()}|{size}|{channels}".encode())
    for f in files:
        st = f.stat()
        fingerprint.update(f"{f}|{st.st_size}|{st.st_mtime_ns}".encode())
    cache_file = cache_dir() / "folders" / f"{fingerprint.hexdigest()[:16]}.npz"
    if use_cache and cache_file.is_file():
        try:
            with np.load(cache_file) as data:
                images, labels = torch.from_numpy(data["images"]), data["labels"]
            return ImageDataset(images, torch.from_numpy(labels) if labels.size else None, str(root), tuple(class_names or ()) or None)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt below

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        decoded = list(pool.map(lambda f: _decode(f, size, channels), files))
    keep = [i for i, d in enumerate(decoded) if not isinstance(d, str)]
    bad = [d for d in decoded if isinstance(d, str)]
    if not keep:
        raise GankitError(f"none of the {len(files)} image files in {root} could be read (first: {bad[0]})")
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable image file(s) in {root} (first: {bad[0]})", stacklevel=2)
    images = torch.from_numpy(np.stack([decoded[i] for i in keep]))  # (N, C, size, size)
    labels = None
    if class_names is not None:
        index = {name: i for i, name in enumerate(class_names)}
        labels = torch.tensor([index[relative[i].parts[0]] for i in keep], dtype=torch.int64)
    if use_cache:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, images=images.numpy(), labels=np.array([]) if labels is None else labels.numpy())
        os.replace(tmp, cache_file)
    return ImageDataset(images, labels, str(root), tuple(class_names) if class_names else None)
