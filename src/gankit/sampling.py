"""Sampling many images in batches, for the CLI and for metrics."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gankit.models.base import GANModel


def sample_many(
    model: GANModel,
    n: int,
    batch_size: int = 500,
    generator: torch.Generator | None = None,
    labels: torch.Tensor | None = None,
    sampler: Callable[..., torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`n` samples on the CPU in [-1, 1] and their labels (for class-conditional models: the
    given `labels` (n,), else the model's grid order). `sampler(size, labels=, generator=)` replaces
    `model.sample` (e.g. a truncated sampler)."""
    sampler = model.sample if sampler is None else sampler
    labels = model.grid_labels(n) if labels is None else labels.to(model.device)
    chunks = []
    for start in range(0, n, batch_size):
        size = min(batch_size, n - start)
        part = None if labels is None else labels[start : start + size]
        chunks.append(sampler(size, labels=part, generator=generator).cpu())
    return torch.cat(chunks), labels
