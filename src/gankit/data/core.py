"""In-memory image datasets and a resumable batch sampler.

Everything that fits in memory is held as one uint8 tensor `(N, C, H, W)`; a batch is an
index into it plus one conversion to float, with no per-sample PIL work on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gankit.errors import GankitError


def fit_images(images: torch.Tensor, size: int | tuple[int, int], channels: int, chunk: int = 2048) -> torch.Tensor:
    """Resize (antialiased; to cover, then centre-crop) and convert channels of uint8 `(N, C, H, W)` images to
    `size` x `size` or to `size` = (H, W); returns uint8."""
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise GankitError(f"expected uint8 images of shape (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
    c = images.shape[1]
    hw = size if isinstance(size, tuple) else (size, size)
    if c == channels and tuple(images.shape[-2:]) == hw:  # already fitted (also clips: frames stacked in channels)
        return images.contiguous()
    if c not in (1, 3, 4):
        raise GankitError(f"images have {c} channels; gankit reads 1 (gray), 3 (RGB) or 4 (RGBA) channels")
    if c == 4:
        images, c = images[:, :3], 3  # alpha is dropped
    if c == channels and tuple(images.shape[-2:]) == hw:
        return images.contiguous()
    out = torch.empty(images.shape[0], channels, *hw, dtype=torch.uint8)
    for start in range(0, images.shape[0], chunk):
        x = images[start : start + chunk].float()
        if c == 3 and channels == 1:
            x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)  # ITU-R 601 luma
        elif c == 1 and channels == 3:
            x = x.expand(-1, 3, -1, -1)
        if tuple(x.shape[-2:]) != hw:
            x = _resize_center_crop(x, hw)
        out[start : start + chunk] = x.round().clamp(0, 255).to(torch.uint8)  # x may be an expanded view
    return out


def _resize_center_crop(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    (h, w), (th, tw) = x.shape[-2:], hw
    scale = max(th / h, tw / w)
    nh, nw = max(th, round(h * scale)), max(tw, round(w * scale))
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
    top, left = (nh - th) // 2, (nw - tw) // 2
    return x[..., top : top + th, left : left + tw]


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1] (a new tensor; the one place this conversion is written)."""
    return images.float() / 127.5 - 1.0


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Float [-1, 1] rounded to the 256 levels a uint8 image holds, on the images' own device."""
    return torch.round((images + 1) * 127.5) / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255] on the CPU."""
    return ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def to_signed_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] or float [-1, 1] -> float32 [-1, 1]; float inputs are clamped like saving to a file would."""
    if images.dtype == torch.uint8:
        return to_unit_range(images)
    if not images.is_floating_point():
        raise GankitError(f"images must be uint8 or float in [-1, 1], got dtype {images.dtype}")
    if not torch.isfinite(images).all():
        raise GankitError("images contain NaN or inf: check the generator's output")
    if images.amax() > 2.0:  # 1.0 plus generous slack; values this large mean a [0, 255] float tensor
        raise GankitError("float images must lie in [-1, 1] (got values above 2): pass uint8 or rescale them")
    return images.float().clamp(-1.0, 1.0)


@dataclass
class ImageDataset:
    """uint8 images `(N, C, H, W)` with optional int64 labels `(N,)` and a human-readable name."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    name: str = "images"
    class_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise GankitError(f"{self.name}: expected uint8 (N, C, H, W) images, got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels is not None and self.labels.shape[0] != self.images.shape[0]:
            raise GankitError(f"{self.name}: {self.images.shape[0]} images but {self.labels.shape[0]} labels")

    def __len__(self) -> int:
        return self.images.shape[0]

    def fit(self, size: int | tuple[int, int], channels: int) -> ImageDataset:
        return ImageDataset(fit_images(self.images, size, channels), self.labels, self.name, self.class_names)

    def subset(self, n: int) -> ImageDataset:
        if n < 1:
            raise GankitError(f"--max-images must be at least 1, got {n}")
        labels = None if self.labels is None else self.labels[:n]
        return ImageDataset(self.images[:n], labels, self.name, self.class_names)


def labeled_indices(labels: torch.Tensor, per_class: int, seed: int, fraction: float = 0.0) -> torch.Tensor:
    """`per_class` indices of each class, drawn once from `seed` (the semi-supervised labelled set);
    with `fraction` > 0 instead, round(fraction * that class's count) of each class, at least one."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    chosen = []
    for c in labels.unique().tolist():
        if fraction > 0:
            per_class = max(1, round(fraction * int((labels == c).sum())))
        idx = order[labels[order] == c][:per_class]
        if len(idx) < per_class:
            raise GankitError(f"class {c} has only {len(idx)} images; --set labels_per_class={len(idx)} or fewer")
        chosen.append(idx)
    return torch.cat(chosen).sort().values


class BatchSampler:
    """Shuffled epochs of fixed-size batches (last partial batch dropped), resumable exactly.

    Under data parallelism every process draws the same permutation and takes its own
    slice of each global batch, so processes never see the same image in one step.
    """

    def __init__(self, dataset: ImageDataset, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        global_batch = batch_size * world_size
        if len(dataset) < global_batch:
            raise GankitError(
                f"{dataset.name} has {len(dataset)} images, fewer than one batch of {global_batch}: "
                "lower --batch-size or add images"
            )
        self.dataset, self.batch_size, self.rank, self.world_size = dataset, batch_size, rank, world_size
        self.global_batch = global_batch
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.position = 0
        self.order = torch.randperm(len(dataset), generator=self.generator)
        self._device_images: torch.Tensor | None = None
        self._device_labels: torch.Tensor | None = None

    @property
    def batches_per_epoch(self) -> int:
        return len(self.dataset) // self.global_batch

    def to(self, device: torch.device) -> BatchSampler:
        """Keep the uint8 images on an accelerator when they fit, so a batch is one gather there."""
        images = self.dataset.images
        if device.type != "cpu" and images.numel() < 2**30:
            self._device_images = images.to(device)
            labels = self.dataset.labels
            self._device_labels = None if labels is None else labels.to(device)
        self.device = device
        return self

    def next_indices(self) -> torch.Tensor:
        if self.position + self.global_batch > len(self.order):
            self.epoch += 1
            self.position = 0
            self.order = torch.randperm(len(self.dataset), generator=self.generator)
        start = self.position + self.rank * self.batch_size
        self.position += self.global_batch
        return self.order[start : start + self.batch_size]

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next batch: float images in [-1, 1] `(B, C, H, W)` and labels `(B,)` or None."""
        idx = self.next_indices()
        device = getattr(self, "device", torch.device("cpu"))
        if self._device_images is not None:
            idx_d = idx.to(device)
            labels = None if self._device_labels is None else self._device_labels[idx_d]
            return to_unit_range(self._device_images[idx_d]), labels
        images = self.dataset.images[idx]
        labels = None if self.dataset.labels is None else self.dataset.labels[idx]
        if device.type != "cpu":
            images = images.pin_memory().to(device, non_blocking=True)
            labels = None if labels is None else labels.to(device, non_blocking=True)
        return to_unit_range(images), labels

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "order": self.order.clone(), "epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        if state["order"].numel() != len(self.dataset):
            raise GankitError(
                f"the checkpoint was trained on {state['order'].numel()} images but the data now has "
                f"{len(self.dataset)}: resume with the same --data"
            )
        self.generator.set_state(state["generator"])
        self.order = state["order"].clone()
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
