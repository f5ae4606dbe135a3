"""Single-image generation (SinGAN): does the pyramid reproduce its image, make new ones with the
image's patch statistics, and grow more diverse when it starts from a coarser scale?"""

from __future__ import annotations

import math
from typing import Any

import torch

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.metrics.functional import fid


def _patch_features(net: Any, images: torch.Tensor) -> list[torch.Tensor]:
    """Per-position features of each image: (h * w, 32) rows from gankit-sr-features' second stage."""
    maps = net(images)  # (B, 32, H / 2, W / 2)
    return [m.flatten(1).T.double() for m in maps]


def sifid(net: Any, real: torch.Tensor, fakes: torch.Tensor) -> float:
    """Single-image FID (Shaham et al., section 4): the Frechet distance between the distributions of
    feature vectors over the positions of one real image (1, C, H, W) and of each fake (B, C, H, W),
    averaged over the fakes. The paper reads Inception's first pooling layer; offline we read the
    project's own photo network (gankit-sr-features, trained on other photos) at half resolution."""
    (real_rows,) = _patch_features(net, real)
    return sum(fid(real_rows, rows) for rows in _patch_features(net, fakes)) / fakes.shape[0]


def patch_network() -> Any:
    from gankit.nn.content import load_sr_features

    content = load_sr_features()
    content.features = content.features[:13]  # two conv stages: 32 channels at half resolution
    content.scale = 1.0
    return content


@register_capability("single_image")
@torch.no_grad()
def single_image(model: Any, data: HeldOut, baselines: bool = False, n: int = 50) -> dict[str, float]:
    """On the run's one training image: `rec/psnr` (dB) of the fixed-noise reconstruction (the issue's
    target: above 25), `sifid` of `n` random samples (lower is closer in patch statistics; compare with
    the single-scale baseline's run), and `diversity/start{k}`: the mean over pixels of the std across
    `n` samples drawn with fresh noise from scale k up (should fall as k rises: coarser = more diverse)."""
    image = model.image  # (1, C, H, W) in [-1, 1], stored by training
    mse = (model.reconstruct() - image).pow(2).mean().item()
    out = {"rec/psnr": 10 * math.log10(4.0 / max(mse, 1e-12))}  # peak-to-peak 2 in [-1, 1]
    gen = torch.Generator(model.device).manual_seed(data.seed)
    net = patch_network().to(model.device)
    out["sifid"] = sifid(net, image, model.sample_at(n, generator=gen))
    for k in range(int(model.scale) + 1):
        samples = model.sample_at(n, start_scale=k, generator=gen)  # (n, C, H, W)
        out[f"diversity/start{k}"] = samples.std(0).mean().item()
    return out
