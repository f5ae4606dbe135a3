"""Self-attention (SAGAN): does the block attend to the content, not just to everything?"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.data.core import to_unit_range


def ink_ratio(maps: torch.Tensor, images: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """Per image: for queries on ink, the mean attention mass on ink positions divided by ink's
    share of positions (1 = attention blind to where the ink is). `maps` (B, HW, HW), `images`
    (B, C, S, S) in [-1, 1]; ink = a position whose pooled mean intensity is above `threshold`.
    Images with no ink, or only ink, are left out: returns (B',)."""
    side = int(maps.shape[-1] ** 0.5)
    ink = F.adaptive_avg_pool2d(images.float().mean(1, keepdim=True), side).flatten(1) > threshold  # (B, HW)
    share = ink.float().mean(1)  # (B,)
    keep = (share > 0) & (share < 1)
    mass = (maps * ink[:, None, :].float()).sum(-1)  # (B, HW): each query's mass on ink
    on_ink = (mass * ink.float()).sum(1) / ink.float().sum(1).clamp_min(1)  # (B,)
    return (on_ink / share.clamp_min(1e-12))[keep]


@register_capability("attention_on_ink")
@torch.no_grad()
def attention_on_ink(model: Any, data: HeldOut, baselines: bool = False, n: int = 1000) -> dict[str, float]:
    """`attn_ink/d_test`: the median, over `n` held-out images, of D's attention mass on ink for
    queries on ink, over ink's share of the positions (SAGAN's claim in kind: at least 2; a block
    blind to content reads 1; baseline: the same D untrained). `attn_ink/g`: the same for G on its own samples. `gamma/g`,
    `gamma/d`: how far each block's learned scale moved from its initial 0. Meant for digits
    (ink = bright strokes on a dark ground)."""
    if not model.attention_gammas():  # trained without the block (the ablation): nothing to measure
        return {}
    images = to_unit_range(data.test.images[:n]).to(model.device)  # (n, C, S, S)
    d_maps = torch.cat([model.attention_of("discriminator", x) for x in images.split(250)])  # (n, HW, HW)
    out = {"attn_ink/d_test": ink_ratio(d_maps, images).median().item()}
    gen = torch.Generator(model.device).manual_seed(data.seed)
    z = model.latent(n, model.config.latent_dim, gen)
    g_maps = torch.cat([model.attention_of("generator", part) for part in z.split(250)])
    samples = torch.cat([model.sample_from(part) for part in z.split(250)])
    out["attn_ink/g"] = ink_ratio(g_maps, samples).median().item()
    out |= {f"gamma/{name}": float(gamma) for name, gamma in model.attention_gammas().items()}
    if baselines:  # the same nets freshly initialised: what random queries and keys give
        fresh = type(model)(model.config).to(model.device)
        fresh_maps = torch.cat([fresh.attention_of("discriminator", x) for x in images.split(250)])
        out["attn_ink/d_test_untrained"] = ink_ratio(fresh_maps, images).median().item()
    return out
