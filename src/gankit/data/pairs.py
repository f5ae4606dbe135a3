"""Two-domain data for translation: aligned pairs (pix2pix) and unaligned domains (CycleGAN).

Formats, as the datasets are distributed elsewhere (facades, edges2shoes, horse2zebra, ...):
- aligned: `<root>/{train,val,test}/*.jpg`, each image A and B side by side (width = 2 x height);
- unaligned: `<root>/{trainA,trainB,testA,testB}/`, any images, any counts.
Embedded: `edges2digits` (aligned: edge map -> digit) and `mnist-m` (unaligned MNIST <-> MNIST-M,
drawn from disjoint halves of MNIST so no image has its twin on the other side).

Augmentation (the papers' "random jitter and mirroring"): images are loaded at
`load_scale` x the model's size (286/256, as in pix2pix) and each batch takes a random crop
at the model's size and a random horizontal flip, the same for both halves of a pair.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from gankit.data.core import BatchSampler, ImageDataset, to_unit_range
from gankit.data.folder import IMAGE_EXTENSIONS, find_images, load_folder, to_8bit
from gankit.errors import GankitError

EMBEDDED = ("edges2digits", "mnist-m")
LOAD_SCALE = 286 / 256  # pix2pix / CycleGAN: resize to 286, crop 256


@dataclass
class TwoDomainDataset:
    """uint8 images of domain A and domain B; `aligned` means a.images[i] goes with b.images[i]."""

    a: ImageDataset
    b: ImageDataset
    aligned: bool
    name: str
    augment: bool = False  # random crop + flip per batch (set by the loader from TrainConfig.augment)

    def __post_init__(self) -> None:
        if self.aligned and len(self.a) != len(self.b):
            raise GankitError(f"{self.name}: aligned pairs need as many A as B images ({len(self.a)} vs {len(self.b)})")
        for side, ds in (("A", self.a), ("B", self.b)):
            if len(ds) < 2:
                raise GankitError(f"{self.name}: domain {side} has {len(ds)} image(s); a translation model needs "
                                  "at least 2 per domain (it shuffles and batches them)")

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))  # an epoch passes over the larger domain, as in CycleGAN

    @property
    def images(self) -> torch.Tensor:  # the engine's shape check looks at domain A
        return self.a.images

    @property
    def labels(self) -> torch.Tensor | None:
        return self.a.labels

    def swapped(self) -> TwoDomainDataset:
        """The BtoA direction."""
        return TwoDomainDataset(self.b, self.a, self.aligned, self.name, self.augment)

    def fit(self, size: int, channels_a: int, channels_b: int) -> TwoDomainDataset:
        return TwoDomainDataset(self.a.fit(size, channels_a), self.b.fit(size, channels_b), self.aligned, self.name, self.augment)

    def subset(self, n: int) -> TwoDomainDataset:
        return TwoDomainDataset(self.a.subset(n), self.b.subset(n), self.aligned, self.name, self.augment)


class PairSampler:
    """Batches `(a, b)` as float [-1, 1]: the same indices for aligned data, independent shuffles
    otherwise; random crop to `crop` and horizontal flip when `augment`. Resumable exactly."""

    def __init__(self, data: TwoDomainDataset, batch_size: int, seed: int, crop: int, augment: bool,
                 rank: int = 0, world_size: int = 1) -> None:
        self.data, self.crop, self.augment = data, crop, augment
        self.sampler_a = BatchSampler(data.a, batch_size, seed, rank, world_size)
        self.sampler_b = None if data.aligned else BatchSampler(data.b, batch_size, seed + 1, rank, world_size)
        self.generator = torch.Generator().manual_seed(seed + 2)
        self.device = torch.device("cpu")

    @property
    def batches_per_epoch(self) -> int:
        sb = self.sampler_b
        return max(self.sampler_a.batches_per_epoch, sb.batches_per_epoch if sb else 0)

    def to(self, device: torch.device) -> PairSampler:
        self.device = device
        return self

    def _jitter(self, x: torch.Tensor, tops: torch.Tensor, lefts: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
        c = self.crop
        out = torch.stack([img[:, t : t + c, s : s + c] for img, t, s in zip(x, tops.tolist(), lefts.tolist())])
        return torch.where(flips.view(-1, 1, 1, 1), out.flip(-1), out)  # (B, C, crop, crop)

    def _draw(self, n: int, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        room = size - self.crop + 1
        g = self.generator
        return (torch.randint(0, room, (n,), generator=g), torch.randint(0, room, (n,), generator=g),
                torch.rand(n, generator=g) < 0.5)

    def next(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """`(a (B, Ca, crop, crop), b (B, Cb, crop, crop), labels of a or None)` on the device."""
        idx_a = self.sampler_a.next_indices()
        idx_b = idx_a if self.sampler_b is None else self.sampler_b.next_indices()
        a, b = self.data.a.images[idx_a], self.data.b.images[idx_b]
        size = a.shape[-1]
        if self.augment:
            jitter_a = self._draw(len(a), size)
            jitter_b = jitter_a if self.sampler_b is None else self._draw(len(b), size)
            a, b = self._jitter(a, *jitter_a), self._jitter(b, *jitter_b)
        elif size != self.crop:  # no augmentation: the centre crop
            off = (size - self.crop) // 2
            a, b = a[..., off : off + self.crop, off : off + self.crop], b[..., off : off + self.crop, off : off + self.crop]
        labels = None if self.data.a.labels is None else self.data.a.labels[idx_a]
        move = (lambda t: t.to(self.device, non_blocking=True)) if self.device.type != "cpu" else (lambda t: t)
        return to_unit_range(move(a.contiguous())), to_unit_range(move(b.contiguous())), (None if labels is None else move(labels))

    def state_dict(self) -> dict:
        return {"a": self.sampler_a.state_dict(), "b": None if self.sampler_b is None else self.sampler_b.state_dict(),
                "augment": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.sampler_a.load_state_dict(state["a"])
        if self.sampler_b is not None:
            self.sampler_b.load_state_dict(state["b"])
        self.generator.set_state(state["augment"])


def _split_aligned(path: Path, size: int, channels_a: int, channels_b: int) -> tuple[np.ndarray, np.ndarray] | str:
    try:
        with Image.open(path) as img:
            img = Image.fromarray(to_8bit(img, 3))  # 16-bit PNGs scaled, not clipped
            w, h = img.size
            if w % 2:
                return f"{path.name} is {w} pixels wide; aligned pairs put A and B side by side, so the width must be even"
            halves = [img.crop((0, 0, w // 2, h)), img.crop((w // 2, 0, w, h))]
            out = []
            for half, ch in zip(halves, (channels_a, channels_b)):
                half = half.convert("L" if ch == 1 else "RGB").resize((size, size), Image.Resampling.BICUBIC)
                arr = np.array(half, dtype=np.uint8)
                out.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return f"{path.name}: {exc}"
    return out[0], out[1]


def load_aligned_folder(root: Path, split: str, size: int, channels_a: int, channels_b: int) -> TwoDomainDataset:
    """The pix2pix format: `<root>/<split>/*` images holding A | B side by side."""
    folder = root / split
    if not folder.is_dir():
        present = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise GankitError(f"{root} has no {split}/ folder of aligned pairs (found: {', '.join(present) or 'none'})")
    files = find_images(folder)
    if not files:
        raise GankitError(f"no images found in {folder} (looked for {', '.join(IMAGE_EXTENSIONS)})")
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        decoded = list(pool.map(lambda f: _split_aligned(f, size, channels_a, channels_b), files))
    bad = [d for d in decoded if isinstance(d, str)]
    odd = [d for d in bad if "must be even" in d]
    if odd:
        raise GankitError(f"{folder}: {odd[0]} ({len(odd)} such file(s))")
    if bad:
        raise GankitError(f"{folder}: {len(bad)} file(s) could not be read (first: {bad[0]})")
    a = torch.from_numpy(np.stack([d[0] for d in decoded]))  # (N, Ca, size, size)
    b = torch.from_numpy(np.stack([d[1] for d in decoded]))
    return TwoDomainDataset(ImageDataset(a, name=f"{root.name}-{split}-A"), ImageDataset(b, name=f"{root.name}-{split}-B"),
                            True, f"{root.name}-{split}")


def load_unaligned_folder(root: Path, split: str, size: int, channels_a: int, channels_b: int) -> TwoDomainDataset:
    """The CycleGAN format: `<root>/<split>A/` and `<root>/<split>B/`."""
    folders = [root / f"{split}A", root / f"{split}B"]
    missing = [f.name for f in folders if not f.is_dir()]
    if missing:
        raise GankitError(f"{root} has no {' or '.join(missing)}/ folder: unaligned data needs {split}A/ and {split}B/")
    a, b = (load_folder(f, size, ch) for f, ch in zip(folders, (channels_a, channels_b)))
    return TwoDomainDataset(ImageDataset(a.images, None, f"{root.name}-{split}A"),
                            ImageDataset(b.images, None, f"{root.name}-{split}B"), False, f"{root.name}-{split}")


def load_two_domain(
    source: str,
    image_size: int,
    channels_a: int,
    channels_b: int,
    split: str = "train",
    direction: str = "AtoB",
    aligned: bool | None = None,
    augment: bool | None = None,
) -> TwoDomainDataset:
    """Two-domain data for a model working at `image_size`.

    `aligned`: True requires pairs; otherwise the data's own kind is kept (a model that learns
    from unaligned domains treats pairs as two independent domains). `augment` (None: on for
    folders, off for the embedded digit tasks) loads at 286/256 x `image_size` for random crops.
    """
    augment = augments_by_default(source) if augment is None else augment
    size = round(image_size * LOAD_SCALE) if augment else image_size
    if direction not in ("AtoB", "BtoA"):
        raise GankitError(f"--direction must be AtoB or BtoA, got {direction!r}")
    swap = direction == "BtoA"
    ca, cb = (channels_b, channels_a) if swap else (channels_a, channels_b)
    if source == "edges2digits":
        from gankit.data.tasks import edges2digits

        ea, eb = edges2digits(split)
        data = TwoDomainDataset(ea, eb, True, f"edges2digits-{split}")
    elif source == "mnist-m":
        from gankit.data.mnist import load_mnist
        from gankit.data.tasks import mnist_m

        digits, labels = load_mnist(split)
        colour = mnist_m(split)
        half = len(digits) // 2
        names = colour.class_names
        data = TwoDomainDataset(ImageDataset(digits[:half], labels[:half], f"mnist-{split}", names),
                                ImageDataset(colour.images[half:], colour.labels[half:], f"mnist-m-{split}", names),
                                False, f"mnist-m-{split}")
    else:
        root = Path(source)
        if not root.is_dir():
            raise GankitError(f"--data {source!r} is not two-domain data: translation models take "
                              f"{', '.join(EMBEDDED)} or a folder in the aligned (train/ with A|B side by side) "
                              "or unaligned (trainA/, trainB/) format")
        if (root / f"{split}A").is_dir() or (root / f"{split}B").is_dir():
            data = load_unaligned_folder(root, split, size, ca, cb)
        elif (root / split).is_dir() or aligned:
            data = load_aligned_folder(root, split, size, ca, cb)
        else:
            raise GankitError(f"{root} is in neither translation format: expected {split}/ (aligned A|B pairs) "
                              f"or {split}A/ and {split}B/ (unaligned domains)")
    if swap:
        data = data.swapped()
    if aligned and not data.aligned:
        raise GankitError(f"{data.name} has unaligned domains but this model learns from aligned pairs "
                          f"({split}/ with A|B side by side, or --data edges2digits)")
    data = data.fit(size, channels_a, channels_b)
    data.augment = augment
    return data


def augments_by_default(source: str) -> bool:
    """Jitter and mirroring suit photos; a mirrored digit is no longer the same digit."""
    return source not in EMBEDDED
