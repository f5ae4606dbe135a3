"""Inpainting (Context Encoder, CC-GAN): PSNR inside the training holes on held-out images."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.data.masks import blur_fill, mean_fill
from gankit.metrics.restoration import psnr

Fill = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def hole_psnr_scores(fill: Fill, images: torch.Tensor, masks: torch.Tensor, baselines: bool = False,
                     batch_size: int = 500) -> dict[str, float]:
    """PSNR inside the hole of `fill(x, mask)` on uint8 `images` (N, C, H, W) with `masks` (N, 1, H, W):
    `psnr_hole/test`, and with `baselines` the mean-fill and blur-fill on the same holes."""
    x = images.float() / 127.5 - 1  # (N, C, H, W) in [-1, 1]
    fills = {"psnr_hole/test": fill}
    if baselines:
        fills["baseline/psnr_hole/mean_fill"] = mean_fill
        fills["baseline/psnr_hole/blur_fill"] = blur_fill
    result = {}
    for key, fn in fills.items():
        out = torch.cat([fn(x[i : i + batch_size], masks[i : i + batch_size]).cpu().float()
                         for i in range(0, len(x), batch_size)])
        result[key] = psnr(out, x, masks)
    return result


@register_capability("hole_psnr")
def hole_psnr(model: Any, data: HeldOut, baselines: bool = False) -> dict[str, float]:
    """PSNR inside the hole on 2,000 held-out images (the training holes: centre, or random blocks from
    the seed); baselines: the mean- and blur-fill of the same holes, and the model's own input-side
    fills (`model.baseline_fills()`, e.g. CC-GAN^2's low-resolution image)."""
    dev = model.device
    images = data.test.images[:2000]  # (N, C, S, S) uint8
    masks = model.masks(len(images), torch.Generator(dev).manual_seed(data.seed)).cpu()  # (N, 1, S, S)
    result = hole_psnr_scores(lambda x, m: model.inpaint(x.to(dev), m.to(dev)), images, masks, baselines)
    if baselines:
        for name, fill in model.baseline_fills().items():
            result[f"baseline/psnr_hole/{name}"] = hole_psnr_scores(fill, images, masks)["psnr_hole/test"]
    return result
