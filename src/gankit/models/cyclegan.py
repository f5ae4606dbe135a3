"""Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks (Zhu et al.,
arXiv 1703.10593).

The one idea: with no pairs to compare against, two mappings G: A -> B and F: B -> A are trained
so each fools its domain's discriminator and F(G(a)) ~ a, G(F(b)) ~ b (cycle consistency, L1,
lambda 10), which rules out mappings that forget the input. Paper defaults: ResNet G (9 blocks at
256px, 6 at 128px), 70x70 PatchGAN, LSGAN loss, identity loss 0.5 * lambda, D trained on a pool
of 50 past fakes with its loss halved, Adam 2e-4 betas (0.5, 0.999), batch 1, instance norm,
lr constant for half the run then linear decay to 0.
Deviation: the `digits` preset (MNIST <-> MNIST-M at 32px) trains at batch 16 and has no identity loss,
since the domains differ in channel count (1 vs 3), where an identity mapping is undefined.
Proof (recipe below, seed 0; 2,500 steps, 46 min on 2 threads under heavy load, about 15 min idle):
MNIST-M -> MNIST keeps the digit for 92.6% of held-out images (lenet-mnist; untranslated: 50.8%),
the A -> B -> A cycle for 98.4% (benchmarks/results/proofs.md). 1,500 steps gave 89.7%.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.losses import d_least_squares
from gankit.models.two_way import TwoWayTranslator
from gankit.nn.translation import ImagePool, PatchDiscriminator, ResnetGenerator
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class CycleGANConfig(Config):
    image_size: int = 256
    channels_a: int = 3
    channels_b: int = 3
    g_width: int = 64
    g_blocks: int = 9  # 6 at 128px
    d_width: int = 64
    d_layers: int = 3  # 70x70 patches
    norm: Literal["instance", "batch", "none"] = "instance"
    cycle_weight_a: float = 10.0
    cycle_weight_b: float = 10.0
    identity_weight: float = 0.5  # times the cycle weight
    pool_size: int = 50
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    grid_examples: int = 8

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"image_size": 8, "channels_a": 1, "channels_b": 3, "g_width": 4, "g_blocks": 1, "d_width": 4,
                 "d_layers": 1, "identity_weight": 0.0, "pool_size": 4, "grid_examples": 4},
        "digits": {"image_size": 32, "channels_a": 1, "channels_b": 3, "g_width": 16, "g_blocks": 6, "d_width": 32,
                   "d_layers": 2, "identity_weight": 0.0},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.identity_weight > 0 and self.channels_a != self.channels_b:
            raise GankitError("the identity loss needs both domains to have the same channels: "
                              "--set identity_weight=0 for domains like gray MNIST and colour MNIST-M")


@register_model("cyclegan")
class CycleGAN(TwoWayTranslator):
    config_class = CycleGANConfig
    paper = "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks"
    arxiv = "1703.10593"
    capabilities: ClassVar[tuple[str, ...]] = ('two_way_translation',)
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 1, "lr_decay_from": 0.5}

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__(config)
        shape_a = (config.channels_a, config.image_size, config.image_size)
        shape_b = (config.channels_b, config.image_size, config.image_size)
        self.pool_a, self.pool_b = ImagePool(config.pool_size, shape_a), ImagePool(config.pool_size, shape_b)
        for m in self.modules():  # N(0, 0.02) as in the reference code
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.optimizers = {
            "generators": adam(itertools.chain(self.g_ab.parameters(), self.g_ba.parameters()), config.lr, config.betas),
            "discriminators": adam(itertools.chain(self.d_a.parameters(), self.d_b.parameters()), config.lr, config.betas),
        }

    def build_networks(self, c: CycleGANConfig) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
        return (ResnetGenerator(c.channels_a, c.channels_b, c.g_width, c.g_blocks, c.norm),
                ResnetGenerator(c.channels_b, c.channels_a, c.g_width, c.g_blocks, c.norm),
                PatchDiscriminator(c.channels_a, c.d_width, c.d_layers, c.norm),
                PatchDiscriminator(c.channels_b, c.d_width, c.d_layers, c.norm))

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return d_least_squares(real_out, fake_out)  # 1/2 (D(x) - 1)^2 + 1/2 D(fake)^2: the paper's halved D loss

    def g_adv_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(fake_out, torch.ones_like(fake_out))  # (D(G(a)) - 1)^2, unhalved as in the reference

    def fakes_for_d(self, fake_a: torch.Tensor, fake_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pool_a.query(fake_a), self.pool_b.query(fake_b)

    def identity_terms(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor | None:
        c = self.config
        if c.identity_weight <= 0:
            return None
        # G_ab should leave an image that is already in B unchanged (and G_ba for A): keeps colours.
        return c.identity_weight * (c.cycle_weight_a * F.l1_loss(self.g_ba(a), a) + c.cycle_weight_b * F.l1_loss(self.g_ab(b), b))
