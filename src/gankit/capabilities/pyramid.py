"""Laplacian-pyramid generators (LAPGAN): sample quality at every level of the pyramid, comparable
with a single-scale run of the same variant (one level) at a matched parameter count."""

from __future__ import annotations

from typing import Any

import torch

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.data.core import to_signed_unit
from gankit.metrics.extractors import get_extractor
from gankit.metrics.functional import fid
from gankit.nn.pyramid import down


def reduce_to(images: torch.Tensor, size: int) -> torch.Tensor:
    """The pyramid's own low-pass image at side `size`: 2x2 means applied until the side is `size`."""
    while images.shape[-1] > size:
        images = down(images)
    return images  # (N, C, size, size)


@register_capability("pyramid_levels")
@torch.no_grad()
def pyramid_levels(model: Any, data: HeldOut, baselines: bool = False, n: int = 10_000) -> dict[str, float]:
    """For a model with `sample_levels(n, generator)` (one chained draw at every level) and `config.sizes`:
    `fid/{s}px[lenet-mnist]` for each level's own image against the held-out split reduced to s by the
    pyramid's 2x2 means (the last level is the final image); `fid/final_at_{s}px[lenet-mnist]` for the
    final image reduced the same way to each coarser side down to 8 px, which a single-scale run (levels 1)
    reports too; `params/generator` and `params/discriminator`. lenet-mnist reads every image resized to
    28 px, real and generated alike. Baselines: `baseline/fid/{s}px_train_vs_test[lenet-mnist]`, the
    training split against the held-out one at each side (the floor a perfect model would reach)."""
    sizes, top = tuple(model.config.sizes), model.config.image_size
    coarser, side = [], top // 2  # the final image's coarser sides, down to 8 px (or the coarsest level)
    while side >= min(8, sizes[0]):
        coarser, side = [*coarser, side], side // 2
    lenet = get_extractor("lenet-mnist").to(model.device)
    count = min(n, len(data.test))
    gen = torch.Generator(model.device).manual_seed(data.seed)
    parts = [model.sample_levels(min(500, count - i), gen) for i in range(0, count, 500)]
    levels = [torch.cat([p[k] for p in parts]).cpu() for k in range(len(sizes))]  # (N, C, s_k, s_k) each
    test = to_signed_unit(data.test.images[:count])  # (N, C, S, S)
    real_feats = {s: lenet.features(reduce_to(test, s)) for s in set(sizes) | set(coarser)}
    out: dict[str, float] = {}
    for s, images in zip(sizes, levels):
        out[f"fid/{s}px[lenet-mnist]"] = fid(real_feats[s], lenet.features(images))
    for s in coarser:
        out[f"fid/final_at_{s}px[lenet-mnist]"] = fid(real_feats[s], lenet.features(reduce_to(levels[-1], s)))
    out["params/generator"] = float(sum(p.numel() for p in model.generator.parameters()))
    out["params/discriminator"] = float(sum(p.numel() for p in model.discriminator.parameters()))
    if baselines:
        train = to_signed_unit(data.train.images[:count])
        for s in sorted(set(sizes) | set(coarser)):
            out[f"baseline/fid/{s}px_train_vs_test[lenet-mnist]"] = fid(real_feats[s], lenet.features(reduce_to(train, s)))
    return out
