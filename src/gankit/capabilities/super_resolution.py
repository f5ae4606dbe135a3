"""Super-resolution (SRGAN, SRResNet): PSNR and SSIM of the upscale against the bicubic one."""

from __future__ import annotations

from typing import Any

import torch

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.metrics.restoration import psnr, ssim
from gankit.models.srgan import downsample
from gankit.nn.content import bicubic


@register_capability("upscale_psnr")
def upscale_psnr(model: Any, data: HeldOut, baselines: bool = False) -> dict[str, float]:
    """x`scale` PSNR and SSIM on held-out crops (at most 2,000; `scale` border pixels shaved) of the
    model's upscale of their bicubic-downsampled copies; baseline: the plain bicubic upscale.
    `steps/adversarial` tells an SRResNet run (0) from an SRGAN one."""
    s = model.config.scale
    hr = data.test.images[:2000].float() / 127.5 - 1  # (N, C, S, S)
    lr = downsample(hr, s)  # (N, C, S/s, S/s)
    sr = torch.cat([model.upscale(chunk).cpu() for chunk in lr.split(250)])
    shave = (..., slice(s, -s), slice(s, -s))
    scores = {"psnr/test": psnr(sr[shave], hr[shave]), "ssim/test": ssim(sr[shave], hr[shave]),
              "steps/adversarial": float(max(0, int(model.step_count) - model.config.pretrain_steps))}
    if baselines:
        up = bicubic(lr, s).clamp(-1, 1)
        scores["baseline/psnr_bicubic"] = psnr(up[shave], hr[shave])
        scores["baseline/ssim_bicubic"] = ssim(up[shave], hr[shave])
    return scores
