"""Resolve `--data` to an `ImageDataset`: embedded MNIST, torchvision layouts, or a folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from gankit.data.core import ImageDataset
from gankit.data.folder import load_folder
from gankit.data.mnist import cache_dir, load_mnist
from gankit.errors import GankitError
from gankit.fileio import offline

# name -> (torchvision class name, folder torchvision uses under the root)
TORCHVISION_SETS = {
    "mnist": ("MNIST", "MNIST"),
    "fashion-mnist": ("FashionMNIST", "FashionMNIST"),
    "cifar10": ("CIFAR10", "cifar-10-batches-py"),
}
NAMED = ("mnist", "fashion-mnist", "mnist-m", "stacked-mnist", "cifar10", "photos", "moving-mnist", "moving-mnist-1")
# Debian's dataset-fashion-mnist package puts the original IDX archives here.
FASHION_MNIST_DIRS = (Path("/usr/share/datasets/fashion-mnist"),)
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
# "photos": random crops of the CC0 / public-domain photos bundled with scikit-image (see
# gankit.data.tasks), for restoration variants; whole photos are held out for the test split.
PHOTO_SPLITS = {"train": (("astronaut.png", "hubble_deep_field.jpg", "rocket.jpg"), 20_000, 0),
                "test": (("chelsea.png", "coffee.png"), 2_000, 2)}  # photos, crops, seed


def _torchvision_set(name: str, root: Path, train: bool, download: bool) -> ImageDataset:
    import torchvision.datasets as tvd

    cls_name, folder = TORCHVISION_SETS[name]
    cls = getattr(tvd, cls_name)
    try:
        ds = cls(str(root), train=train, download=False)
    except RuntimeError:
        if not download or offline():
            raise GankitError(
                f"{cls_name} not found under {root / folder}: download it elsewhere with torchvision "
                f"(`{cls_name}('{root}', download=True)`) and copy the folder there, or pass --data-dir"
            ) from None
        try:
            ds = cls(str(root), train=train, download=True)
        except Exception as exc:  # any network failure: one line, how to supply the files
            raise GankitError(
                f"could not download {cls_name} ({type(exc).__name__}): put torchvision's {folder}/ folder under {root} "
                "and pass --data-dir, or use the embedded --data mnist"
            ) from None
    data = torch.as_tensor(ds.data)
    images = data.unsqueeze(1) if data.dim() == 3 else data.permute(0, 3, 1, 2)  # (N, C, H, W)
    labels = torch.as_tensor(ds.targets, dtype=torch.int64)
    return ImageDataset(images.contiguous(), labels, f"{name}-{'train' if train else 'test'}", tuple(ds.classes))


def load_data(
    source: str,
    image_size: int | tuple[int, int],
    channels: int,
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    frames: int = 0,
) -> ImageDataset:
    """Load `source` (a name in NAMED or a folder path) at the model's size and channels.

    `split` is "train" or "test" ("valid" too for the embedded MNIST, whose train split is
    the standard 50k so that 10k stay held out for validation). `frames` > 0: clips of that many frames
    stacked along `channels` (moving-mnist, two digits, or moving-mnist-1, one; gankit.data.moving_mnist).
    """
    if frames or source.startswith("moving-mnist"):
        from gankit.data.moving_mnist import load_moving_mnist

        return load_moving_mnist(source, split, image_size, channels, frames)
    if source == "photos":
        return photo_crops(split, image_size).fit(image_size, channels)
    if source == "mnist-m":  # made by the code from the embedded MNIST and the bundled photos
        from gankit.data.tasks import mnist_m

        if split not in ("train", "test"):
            raise GankitError(f"mnist-m has splits train and test, not {split!r}")
        return mnist_m(split).fit(image_size, channels)
    if source == "stacked-mnist":  # three embedded MNIST digits, one per RGB channel: 1,000 modes
        from gankit.data.stacked_mnist import load_stacked_mnist

        return load_stacked_mnist(split, image_size, channels)
    if source == "fashion-mnist":
        found = _idx_fashion_mnist(split, data_dir)
        if found is not None:
            return found.fit(image_size, channels)
    if source in NAMED:
        root = Path(data_dir) if data_dir is not None else cache_dir() / "datasets"
        if source == "mnist" and not (root / "MNIST" / "raw").is_dir():
            images, labels = load_mnist(split)
            return ImageDataset(images, labels, f"mnist-{split}", tuple(str(i) for i in range(10))).fit(image_size, channels)
        if split not in ("train", "test"):
            raise GankitError(f"{source} has splits train and test, not {split!r}")
        return _torchvision_set(source, root, split == "train", download).fit(image_size, channels)
    if is_single_image(source):  # one image (single-image variants such as singan)
        return ImageDataset(single_image(source, channels)[None], None, Path(source).stem).fit(image_size, channels)
    path = Path(source)
    if not path.exists():
        raise GankitError(f"--data {source!r} is neither a folder, an image file, photo:NAME nor one of {', '.join(NAMED)}")
    if not isinstance(image_size, int):
        raise GankitError(f"--data {source}: a folder trains square images; give one image file for this model")
    return load_folder(path, image_size, channels)


def is_single_image(source: str) -> bool:
    return source.startswith("photo:") or Path(source).is_file()


def single_image(source: str, channels: int) -> torch.Tensor:
    """uint8 (C, H, W) at its own size: an image file, or `photo:NAME`, one of the photos bundled with
    scikit-image (e.g. photo:motorcycle_left; names as in skimage/data without the extension)."""
    from gankit.data.files import read_image

    if not source.startswith("photo:"):
        return read_image(source, channels)
    import importlib.resources

    root = Path(str(importlib.resources.files("skimage") / "data"))
    names = sorted(p.stem for p in root.iterdir() if p.suffix in (".png", ".jpg"))
    name = source.removeprefix("photo:")
    if name not in names:
        raise GankitError(f"--data {source}: no such bundled photo; choose from {', '.join(names)}")
    return read_image(next(root.glob(f"{name}.*")), channels)


def _idx_fashion_mnist(split: str, data_dir: str | os.PathLike | None) -> ImageDataset | None:
    """Fashion-MNIST from the original IDX files (`.gz` or not) in `data_dir` or where Debian's
    dataset-fashion-mnist package puts them; None when neither has them (torchvision's layout next)."""
    from gankit.data.idx import read_idx

    if split not in ("train", "test"):
        raise GankitError(f"fashion-mnist has splits train and test, not {split!r}")
    prefix = "train" if split == "train" else "t10k"
    for folder in [Path(data_dir)] if data_dir is not None else FASHION_MNIST_DIRS:  # --data-dir: only there
        for ext in (".gz", ""):
            images, labels = folder / f"{prefix}-images-idx3-ubyte{ext}", folder / f"{prefix}-labels-idx1-ubyte{ext}"
            if images.is_file() and labels.is_file():
                x, y = read_idx(images), read_idx(labels)
                if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                    raise GankitError(f"{images} and {labels} do not hold images (N, H, W) and as many labels")
                return ImageDataset(x.unsqueeze(1).contiguous(), y.long(), f"fashion-mnist-{split}", FASHION_CLASSES)
    if data_dir is None and not (cache_dir() / "datasets" / "FashionMNIST" / "raw").is_dir():
        raise GankitError("Fashion-MNIST not found: `apt install dataset-fashion-mnist` (Debian) puts its IDX files "
                          f"in {FASHION_MNIST_DIRS[0]}, or pass --data-dir with the four IDX files or torchvision's "
                          "FashionMNIST/ folder")
    return None


def photo_crops(split: str, size: int) -> ImageDataset:
    """`size` x `size` RGB crops of the split's photos at scales 1, 1/2 and 1/4 (drawn per crop, so
    crops show both fine texture and whole objects); deterministic, built in about a second."""
    import numpy as np
    from PIL import Image

    from gankit.data.tasks import PHOTOS, _photos

    if split not in PHOTO_SPLITS:
        raise GankitError(f"photos has splits {', '.join(PHOTO_SPLITS)}, not {split!r}")
    names, n, seed = PHOTO_SPLITS[split]
    photos = dict(zip(PHOTOS, _photos()))
    scaled = []  # (H, W, 3) uint8 per photo and scale
    for name in names:
        img = Image.fromarray(photos[name])
        for f in (1, 2, 4):
            small = np.asarray(img.resize((img.width // f, img.height // f), Image.Resampling.BOX))
            if min(small.shape[:2]) >= size:
                scaled.append(small)
    rng = np.random.default_rng(seed)
    out = np.empty((n, 3, size, size), dtype=np.uint8)
    for i in range(n):
        p = scaled[rng.integers(0, len(scaled))]
        top, left = rng.integers(0, p.shape[0] - size + 1), rng.integers(0, p.shape[1] - size + 1)
        out[i] = p[top : top + size, left : left + size].transpose(2, 0, 1)
    return ImageDataset(torch.from_numpy(out), None, f"photos-{split}")


def load_for_spec(spec: Any, source: str, split: str = "train", data_dir: str | None = None,
                 direction: str = "AtoB", augment: bool | None = None) -> Any:
    """The data a model with `spec` trains or is evaluated on: one image set, or two domains."""
    if spec.pairing != "none":
        from gankit.data.pairs import load_two_domain

        return load_two_domain(source, spec.image_size, spec.channels, spec.channels_b, split, direction,
                               aligned=spec.pairing == "paired", augment=augment if split == "train" else False)
    if direction != "AtoB":
        raise GankitError("--direction applies to translation models only")
    return load_data(source, spec.image_shape or spec.image_size, spec.channels, split=split, data_dir=data_dir,
                     frames=spec.frames)
