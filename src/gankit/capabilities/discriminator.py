"""Per-pixel discriminators (U-Net GAN): does D's map mark which pixels are real and which are fake?"""

from __future__ import annotations

from typing import Any

import torch

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.data.core import to_unit_range
from gankit.data.masks import cutmix_masks


def region_ious(logits: torch.Tensor, real_mask: torch.Tensor) -> dict[str, float]:
    """IoU, pooled over all pixels, of D's judged-real pixels (logit > 0) with the real region and of
    its judged-fake pixels with the fake region; `logits` and `real_mask` (N, 1, S, S)."""
    judged_real, real = logits > 0, real_mask > 0.5
    iou_real = (judged_real & real).sum() / (judged_real | real).sum().clamp_min(1)
    iou_fake = (~judged_real & ~real).sum() / (~judged_real | ~real).sum().clamp_min(1)
    return {"real": iou_real.item(), "fake": iou_fake.item(), "mean": (iou_real.item() + iou_fake.item()) / 2}


@register_capability("dmap_iou")
@torch.no_grad()
def dmap_iou(model: Any, data: HeldOut, baselines: bool = False, n: int = 1000) -> dict[str, float]:
    """On `n` held-out CutMix images (a held-out real image with a box of a fresh fake pasted in, masks
    seeded): the IoU of D's per-pixel map with the real and the fake regions and their mean
    (U-Net GAN's claim in kind: at least 0.8). Baseline: the same D untrained."""
    if model.net("discriminator").up is None:  # trained with unet=false (the ablation): no per-pixel map
        return {}
    real = to_unit_range(data.test.images[:n]).to(model.device)  # (n, C, S, S)
    gen = torch.Generator(model.device).manual_seed(data.seed)
    fake = torch.cat([model.sample(len(part), generator=gen) for part in real.split(500)])
    mask = cutmix_masks(len(real), real.shape[-1], generator=gen).to(model.device)  # 1 = real
    mixed = mask * real + (1 - mask) * fake

    def ious(m: Any) -> dict[str, float]:
        logits = torch.cat([m.pixel_logits(part) for part in mixed.split(250)])
        return region_ious(logits, mask)

    out = {f"dmap_iou/{k}": v for k, v in ious(model).items()}
    if baselines:
        fresh = type(model)(model.config).to(model.device)
        out |= {f"dmap_iou_untrained/{k}": v for k, v in ious(fresh).items()}
    return out
