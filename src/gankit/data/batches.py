"""Typed batches and the one batch stream per data kind, used by the engine, the benchmarks and tests.

Data kinds, from a variant's `DataSpec` and the dataset given:
- plain / labelled: `Batch(images, labels)` (labels travel whenever the data has them);
- semi-supervised (`labels_per_class > 0` or `0 < label_fraction < 1`): `images` without labels, plus `labeled_images` /
  `labeled_labels` from the few labelled images chosen once from the seed;
- two-domain (`pairing` paired or unpaired): domain A as `images` (its labels when the variant
  needs them), domain B as `b`.
A stream is rebuilt for each training stage at that stage's image size and batch size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from gankit.data.core import BatchSampler, ImageDataset, labeled_indices
from gankit.data.pairs import PairSampler, TwoDomainDataset
from gankit.errors import GankitError


@dataclass
class HeldOut:
    """What a capability (gankit.capabilities) reads: the run's training data and its held-out split at the model's
    size (both with all labels, for probes and scoring only), and which training images were the
    labelled ones in a semi-supervised run."""

    train: Any  # gankit.data.ImageDataset
    test: Any  # gankit.data.ImageDataset
    labeled_indices: torch.Tensor | None = None  # (N_labeled,) into train
    seed: int = 0


@dataclass
class Batch:
    """One training batch, already on the model's device. Images are float in [-1, 1], NCHW."""

    images: torch.Tensor  # (B, C, H, W)
    labels: torch.Tensor | None = None  # (B,) int64
    b: torch.Tensor | None = None  # (B', Cb, H, W): domain B of two-domain variants
    labeled_images: torch.Tensor | None = None  # (B', C, H, W): semi-supervised variants only
    labeled_labels: torch.Tensor | None = None  # (B',) int64, the labels of labeled_images


@dataclass(frozen=True)
class DataSpec:
    """What a variant needs from the data: the engine checks the data against it."""

    channels: int
    image_size: int
    needs_labels: bool = False
    num_classes: int = 0  # > 0 when labels are used
    # > 0 makes training semi-supervised: the main batch comes without labels, and only this
    # many labelled images per class (chosen once from the seed) ever reach the model, as
    # Batch.labeled_images (B', C, H, W) and Batch.labeled_labels (B',).
    labels_per_class: int = 0
    # The same by share instead of count: 0 < label_fraction < 1 labels that share of each class
    # (at least one image each); 0 (or 1) means no semi-supervision.
    label_fraction: float = 0.0
    # Two-domain (translation) variants: "paired" needs aligned A/B pairs, "unpaired" takes two
    # domains; domain A arrives as Batch.images and domain B as Batch.b.
    pairing: str = "none"  # none | paired | unpaired
    channels_b: int = 0  # domain B's channels (two-domain variants)
    # (H, W) of images that are not square (SinGAN's one photo); None: image_size x image_size.
    image_shape: tuple[int, int] | None = None
    # > 0: every image is a clip of this many frames stacked along channels, frame-major
    # (gankit.data.clips): `channels` = frames * channels per frame, batches (B, T*C, H, W).
    frames: int = 0

    @property
    def hw(self) -> tuple[int, int]:
        return self.image_shape or (self.image_size, self.image_size)

    @property
    def semi_supervised(self) -> bool:
        """Whether only some training images' labels reach the model (labels_per_class or label_fraction)."""
        return self.labels_per_class > 0 or 0 < self.label_fraction < 1

    def __post_init__(self) -> None:
        if not 0 <= self.label_fraction <= 1:
            raise GankitError(f"label_fraction must lie in [0, 1], got {self.label_fraction}")
        if self.labels_per_class and self.label_fraction:
            raise GankitError("give the labelled images per class or as a fraction, not both")


class BatchStream:
    """Endless, exactly resumable `Batch`es of one data kind (see the module docstring)."""

    def __init__(self, dataset: ImageDataset | TwoDomainDataset, spec: DataSpec, batch_size: int, seed: int,
                 rank: int = 0, world_size: int = 1, image_size: int | None = None, stage: int = 0) -> None:
        """`seed` is the run's: it fixes the labelled subset for the whole run; each `stage` index
        shuffles with seeds of its own. `image_size` (a stage's) resizes the data from the spec's."""
        size = image_size or spec.image_size
        self.spec, self.batch_size = spec, batch_size
        self.labeled: BatchSampler | None = None
        shuffle_seed = seed + 1000 * stage
        if isinstance(dataset, TwoDomainDataset):
            if size != spec.image_size:  # keep the loaded margin for random crops in proportion
                side = round(dataset.a.images.shape[-1] * size / spec.image_size)
                dataset = dataset.fit(side, dataset.a.images.shape[1], dataset.b.images.shape[1])
            self.pairs: PairSampler | None = PairSampler(dataset, batch_size, shuffle_seed, size, dataset.augment,
                                                         rank, world_size)
            self.sampler: BatchSampler | None = None
            return
        self.pairs = None
        if image_size is None and spec.image_shape is not None:
            size = spec.image_shape  # type: ignore[assignment]
        if tuple(dataset.images.shape[-2:]) != (size if isinstance(size, tuple) else (size, size)):
            dataset = dataset.fit(size, dataset.images.shape[1])
        self.sampler = BatchSampler(dataset, batch_size, shuffle_seed, rank, world_size)
        if spec.semi_supervised:
            if dataset.labels is None:
                raise GankitError(f"semi-supervised training needs labelled data, and {dataset.name} has no labels")
            idx = labeled_indices(dataset.labels, spec.labels_per_class, seed, spec.label_fraction)
            few = ImageDataset(dataset.images[idx], dataset.labels[idx], f"{dataset.name}-labeled")
            self.labeled = BatchSampler(few, min(batch_size, len(few) // world_size), shuffle_seed + 1, rank, world_size)

    @property
    def batches_per_epoch(self) -> int:
        return (self.pairs or self.sampler).batches_per_epoch  # type: ignore[union-attr]

    def to(self, device: torch.device) -> BatchStream:
        for s in (self.pairs, self.sampler, self.labeled):
            if s is not None:
                s.to(device)
        return self

    def next(self) -> Batch:
        if self.pairs is not None:
            a, b, labels = self.pairs.next()
            return Batch(a, labels if self.spec.needs_labels else None, b=b)
        images, labels = self.sampler.next()  # type: ignore[union-attr]
        if self.labeled is not None:  # semi-supervised: the only labels the model sees
            few, few_labels = self.labeled.next()
            return Batch(images, None, labeled_images=few, labeled_labels=few_labels)
        return Batch(images, labels)

    # Keys as the engine has always stored them, so older checkpoints resume.
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"sampler": (self.pairs or self.sampler).state_dict()}  # type: ignore[union-attr]
        if self.labeled is not None:
            state["labeled_sampler"] = self.labeled.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        (self.pairs or self.sampler).load_state_dict(state["sampler"])  # type: ignore[union-attr]
        if self.labeled is not None:
            self.labeled.load_state_dict(state["labeled_sampler"])
