"""Self-Attention Generative Adversarial Networks (Zhang et al., arXiv 1805.08318).

The one idea: convolutions see a small neighbourhood, so a self-attention block (queries, keys and
values over every position of a feature map, added back scaled by a learnable gamma that starts at
0) lets G and D relate distant parts of an image, e.g. both ends of a stroke.
Defaults: SN in G and D, hinge loss, TTUR (G 1e-4, D 4e-4), Adam betas (0, 0.9), one D step per G
step, attention at the 16x16 feature maps of G and D.
Deviations:
- 32 px nets are SNGAN's CIFAR ResNets (gankit.nn.resnet_gan) with the block inserted (the paper's
  nets are for 128 px ImageNet); keys and values are not max-pooled (the authors' code pools them);
- `attention=false` keeps everything else and drops the block: the ablation;
- the `cpu` preset narrows G and D to 64 channels, `digits` to 32 on 32 px gray MNIST.
Proof: see docs/variants/sagan.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from gankit.errors import GankitError
from gankit.models.sn_family import SpectralNormConfig, SpectralNormGAN
from gankit.nn.resnet_gan import ResNetDiscriminator, ResNetGenerator
from gankit.nn.spectral import spectral_normalize
from gankit.registry import register_model


@dataclass
class SAGANConfig(SpectralNormConfig):
    attention: bool = True  # false: the same nets without the block (the ablation)
    attention_size: int = 16  # side of the feature maps the block attends over, in G and D
    lr_g: float = 1e-4
    lr_d: float = 4e-4

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_width": 8, "d_width": 8, "attention_size": 4},
        "cpu": {"g_width": 64, "d_width": 64},
        "digits": {"channels": 1, "g_width": 32, "d_width": 32, "latent_dim": 64},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        # G's maps run 4 .. S/2, D's S/2 .. 8 (4 at 8 px): the block sits at a side both have.
        sides = [s for s in (4 * 2**i for i in range(8)) if min(8, self.image_size // 2) <= s < self.image_size]
        if self.attention and self.attention_size not in sides:
            raise GankitError(f"attention_size must be a feature-map side below image_size {self.image_size}: "
                              f"one of {', '.join(map(str, sides))}, got {self.attention_size}")


@register_model("sagan")
class SAGAN(SpectralNormGAN):
    config_class = SAGANConfig
    paper = "Self-Attention Generative Adversarial Networks"
    arxiv = "1805.08318"
    capabilities: ClassVar[tuple[str, ...]] = ("attention_on_ink",)

    def build_networks(self, c: SAGANConfig) -> tuple[ResNetGenerator, ResNetDiscriminator]:
        at = c.attention_size if c.attention else None
        generator = ResNetGenerator(c.latent_dim, c.channels, c.image_size, c.g_width, attention_at=at)
        discriminator = ResNetDiscriminator(c.channels, c.image_size, c.d_width, attention_at=at)
        return spectral_normalize(generator), spectral_normalize(discriminator)  # SN in both nets

    def extra_logs(self) -> dict[str, torch.Tensor]:
        return {f"gamma/{name}": gamma for name, gamma in self.attention_gammas().items()}

    # ---- attention: what the capability and `gankit sample --attention` read ------------------
    def attention_gammas(self) -> dict[str, torch.Tensor]:
        return {name: net.attention.gamma for name, net in (("g", self.generator), ("d", self.discriminator))
                if net.attention is not None}

    @torch.no_grad()
    def attention_of(self, net_name: str, x: torch.Tensor) -> torch.Tensor:
        """The block's attention weights (B, HW queries, HW keys) of D on images `x` (B, C, S, S) in
        [-1, 1], or of G on latents `x` (B, latent_dim)."""
        net = self.net(net_name)
        if net.attention is None:
            raise GankitError(f"{self.name} was trained with attention=false: it has no attention to show")
        net.attention.keep_map = True
        try:
            with self.eval_mode(net):
                net(x)
            return net.attention.last_map.float()
        finally:
            net.attention.keep_map, net.attention.last_map = False, None

    @torch.no_grad()
    def attention_maps(self, generator: torch.Generator | None = None, n: int = 8) -> dict[str, tuple[torch.Tensor, int]]:
        """G's attention for `n` samples: each row is the sample with three query points marked (the
        brightest, the median and the darkest position of the attended map) and, for each, where it
        attends (weights scaled to [-1, 1], upsampled to the image)."""
        z = self.latent(n, self.config.latent_dim, generator)
        maps = self.attention_of("generator", z)  # (n, HW, HW)
        images = self.sample_from(z)  # (n, C, S, S)
        side = int(maps.shape[-1] ** 0.5)
        size = self.config.image_size
        gray = images.mean(1, keepdim=True)  # (n, 1, S, S)
        ink = F.adaptive_avg_pool2d(gray, side).flatten(1)  # (n, HW)
        order = ink.argsort(1)
        queries = torch.stack([order[:, -1], order[:, order.shape[1] // 2], order[:, 0]], 1)  # (n, 3)
        rows = []
        for i in range(n):
            marked = gray[i].expand(3, -1, -1).clone()
            cells = []
            for q, colour in zip(queries[i].tolist(), ((1.0, -1.0, -1.0), (-1.0, 1.0, -1.0), (-1.0, -1.0, 1.0))):
                y, x = divmod(q, side)
                cell = size // side
                marked[:, y * cell : (y + 1) * cell, x * cell : (x + 1) * cell] = torch.tensor(colour)[:, None, None]
                heat = maps[i, q].view(1, 1, side, side)
                heat = F.interpolate(heat / heat.max().clamp_min(1e-12), size=size, mode="nearest")[0] * 2 - 1
                cells.append(heat.expand(3, -1, -1))
            rows.append(torch.stack([images[i].expand(3, -1, -1), marked, *cells]))
        return {"generator": (torch.cat(rows), 5)}
