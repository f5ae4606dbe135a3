"""Read and write MNIST-style IDX files (torchvision's raw layout, Debian's dataset packages).

`torchvision.datasets.MNIST(root, download=False)` (0.29) checks for, and reads, the four
uncompressed files `root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`; the
`.gz` archives are only download artefacts. Writing those four files lets any script
that expects torchvision's MNIST run offline on the embedded copy.

IDX format: a big-endian magic `0x0000 <type> <ndim>` (type 0x08 = uint8), then one
big-endian uint32 per dimension, then the raw row-major bytes.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import torch

from gankit.errors import GankitError
from gankit.fileio import atomic_write_bytes

_UBYTE = 0x08


def _idx_bytes(array: torch.Tensor) -> bytes:
    header = struct.pack(">HBB", 0, _UBYTE, array.dim()) + struct.pack(f">{array.dim()}I", *array.shape)
    return header + array.contiguous().numpy().tobytes()


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """A uint8 IDX file (`.gz` or not) as a tensor of its own shape: images (N, H, W), labels (N,)."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise GankitError(f"cannot read {path}: {exc}") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != _UBYTE:
        raise GankitError(f"{path} is not a uint8 IDX file (bad magic number)")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    body = raw[4 + 4 * ndim :]
    if len(body) != int(torch.tensor(shape).prod()):
        raise GankitError(f"{path} is truncated: its header says {shape}, it holds {len(body)} bytes")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(shape)


def write_idx_images(path: str | os.PathLike, images: torch.Tensor) -> None:
    """Write uint8 images `(N, 1, H, W)` or `(N, H, W)` as an idx3-ubyte file."""
    if images.dtype != torch.uint8 or images.dim() not in (3, 4) or (images.dim() == 4 and images.shape[1] != 1):
        raise GankitError(f"IDX images must be uint8 (N, 1, H, W) or (N, H, W), got {images.dtype} {tuple(images.shape)}")
    atomic_write_bytes(Path(path), _idx_bytes(images.detach().cpu().reshape(images.shape[0], *images.shape[-2:])))


def write_idx_labels(path: str | os.PathLike, labels: torch.Tensor) -> None:
    """Write integer labels `(N,)` in 0..255 as an idx1-ubyte file."""
    if labels.dim() != 1 or labels.dtype.is_floating_point:
        raise GankitError(f"IDX labels must be integers of shape (N,), got {labels.dtype} {tuple(labels.shape)}")
    if labels.numel() and (labels.min() < 0 or labels.max() > 255):
        raise GankitError("IDX labels are stored as bytes: they must lie in 0..255")
    atomic_write_bytes(Path(path), _idx_bytes(labels.detach().cpu().to(torch.uint8)))


def write_torchvision_mnist(
    root: str | os.PathLike,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    test_images: torch.Tensor,
    test_labels: torch.Tensor,
    folder: str = "MNIST",
) -> Path:
    """Write the four raw IDX files torchvision's MNIST reads; returns `root/<folder>/raw`.

    `folder` is the dataset class's name (`MNIST`, `FashionMNIST`, `KMNIST`, ...), which
    torchvision uses as the folder under `root`.
    """
    for split, images, labels in (("train", train_images, train_labels), ("test", test_images, test_labels)):
        if images.shape[0] != labels.shape[0]:
            raise GankitError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, images, labels in (("train", train_images, train_labels), ("t10k", test_images, test_labels)):
        write_idx_images(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return raw


def export_embedded_mnist(root: str | os.PathLike) -> Path:
    """Write the embedded MNIST as torchvision's `root/MNIST/raw`, with the standard 60k/10k split."""
    from gankit.data.mnist import load_mnist

    # torchvision's train set is the 60k that the embedded copy splits into train + valid.
    train_x, train_y = load_mnist("train+valid")
    test_x, test_y = load_mnist("test")
    return write_torchvision_mnist(root, train_x, train_y, test_x, test_y)
