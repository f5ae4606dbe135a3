"""Embedded image-to-image and domain-adaptation tasks, built offline and deterministically.

- `edges2digits`: MNIST digits (B) and their edge maps (A): Sobel gradient magnitude of the
  digit, thresholded, a paired task in the spirit of pix2pix's edges2shoes.
- `mnist_m`: MNIST blended with colour photo patches, |patch - digit| per channel (Ganin et
  al., arXiv 1505.07818). The paper cut patches from BSDS500; here they come from the CC0 /
  public-domain photos bundled in scikit-image's wheel (astronaut, chelsea, coffee, hubble
  deep field, rocket), read as files, so nothing is downloaded. Built once per split and
  cached as uint8 npz (a few seconds for the 50k training split).
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from gankit.data.core import ImageDataset
from gankit.data.mnist import cache_dir, load_mnist
from gankit.errors import GankitError

PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "rocket.jpg")
MNIST_M_VERSION = 1  # bump when the construction changes, so stale caches are rebuilt
SPLIT_SEEDS = {"train": 0, "valid": 1, "test": 2, "train+valid": 3}


def sobel_edges(images: torch.Tensor, threshold: float = 0.25) -> torch.Tensor:
    """Binary edge maps (0 or 255) of uint8 gray images `(N, 1, H, W)`: Sobel magnitude above
    `threshold` times the largest possible magnitude."""
    x = images.float() / 255.0
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    kernels = torch.stack([kx, kx.t()])[:, None]  # (2, 1, 3, 3)
    grad = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernels)  # (N, 2, H, W)
    magnitude = grad.pow(2).sum(1, keepdim=True).sqrt() / (4 * 2**0.5)  # in [0, 1]
    return ((magnitude > threshold).to(torch.uint8) * 255)  # (N, 1, H, W)


def edges2digits(split: str = "train") -> tuple[ImageDataset, ImageDataset]:
    """Paired (A = edge map, B = digit) 28x28 gray images with the digits' labels."""
    digits, labels = load_mnist(split)
    names = tuple(str(i) for i in range(10))
    return (ImageDataset(sobel_edges(digits), labels, f"edges2digits-{split}-A", names),
            ImageDataset(digits, labels, f"edges2digits-{split}-B", names))


def _photos() -> list[np.ndarray]:
    try:
        import importlib.resources

        root = importlib.resources.files("skimage") / "data"
    except ModuleNotFoundError:
        raise GankitError("MNIST-M is built from the photos bundled with scikit-image: pip install scikit-image") from None
    from PIL import Image

    photos = []
    for name in PHOTOS:
        with Image.open(root / name) as img:
            photos.append(np.asarray(img.convert("RGB"), dtype=np.uint8))
    return photos


def blend_with_patches(digits: torch.Tensor, seed: int) -> torch.Tensor:
    """|patch - digit| per channel for uint8 `(N, 1, H, W)` digits; patches are random crops of
    the bundled photos (photo and position drawn from `seed`). Returns (N, 3, H, W)."""
    rng = np.random.default_rng(seed)
    photos = _photos()
    n, _, h, w = digits.shape
    out = np.empty((n, 3, h, w), dtype=np.uint8)
    d = digits.numpy().astype(np.int16)  # (N, 1, H, W)
    for i in range(n):  # drawn image by image, so the first k images do not depend on N
        photo = photos[rng.integers(0, len(photos))]
        top, left = rng.integers(0, photo.shape[0] - h), rng.integers(0, photo.shape[1] - w)
        patch = photo[top : top + h, left : left + w].transpose(2, 0, 1).astype(np.int16)  # (3, H, W)
        out[i] = np.abs(patch - d[i]).astype(np.uint8)
    return torch.from_numpy(out)


def mnist_m(split: str = "train") -> ImageDataset:
    """MNIST-M at 28x28 RGB with MNIST's labels, built once per split and cached."""
    if split not in SPLIT_SEEDS:
        raise GankitError(f"MNIST-M has splits {', '.join(SPLIT_SEEDS)}, not {split!r}")
    path = cache_dir() / f"mnist-m-{split}-v{MNIST_M_VERSION}.npz"
    digits, labels = load_mnist(split)
    if path.is_file():
        try:
            with np.load(path) as data:
                images = torch.from_numpy(data["images"])
            if images.shape == (len(digits), 3, *digits.shape[-2:]):
                return ImageDataset(images, labels, f"mnist-m-{split}", tuple(str(i) for i in range(10)))
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt
    images = blend_with_patches(digits, SPLIT_SEEDS[split])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, images=images.numpy())
    os.replace(tmp, path)
    return ImageDataset(images, labels, f"mnist-m-{split}", tuple(str(i) for i in range(10)))
