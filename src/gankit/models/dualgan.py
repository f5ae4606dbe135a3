"""DualGAN: Unsupervised Dual Learning for Image-to-Image Translation (Yi et al., arXiv 1704.02510).

The one idea: dual learning from machine translation: a primal GAN (A -> B) and a dual GAN
(B -> A) form a closed loop whose reconstruction error, with large weights (lambda_A, lambda_B
in the hundreds), supervises both without pairs. Losses are WGAN's (critics without sigmoid,
weight clipping), optimised with RMSprop (lr 5e-5) and n_critic = 2; G is a U-Net, the critics
PatchGANs. Defaults follow the reference code: lambda 500, clip 0.01, batch 1, no dropout.
Deviation: the `digits` preset trains at batch 16.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.losses import clip_weights_, d_wasserstein, g_wasserstein
from gankit.models.two_way import TwoWayTranslator
from gankit.nn import dcgan_init
from gankit.nn.translation import PatchDiscriminator, UNetGenerator, unet_depth
from gankit.registry import register_model


@dataclass
class DualGANConfig(Config):
    image_size: int = 256
    channels_a: int = 3
    channels_b: int = 3
    g_width: int = 64
    d_width: int = 64
    d_layers: int = 3
    norm: Literal["batch", "instance", "none"] = "batch"
    dropout: float = 0.0
    cycle_weight_a: float = 500.0  # lambda_A: reconstruction of A images
    cycle_weight_b: float = 500.0
    clip: float = 0.01
    n_critic: int = 2
    lr: float = 5e-5
    grid_examples: int = 8

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"image_size": 8, "channels_a": 1, "channels_b": 3, "g_width": 4, "d_width": 4, "d_layers": 1,
                 "n_critic": 1, "grid_examples": 4},
        "digits": {"image_size": 32, "channels_a": 1, "channels_b": 3, "g_width": 32, "d_width": 32, "d_layers": 2},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        unet_depth(self.image_size)
        if self.n_critic < 1:
            raise GankitError(f"n_critic must be at least 1, got {self.n_critic}")


@register_model("dualgan")
class DualGAN(TwoWayTranslator):
    config_class = DualGANConfig
    paper = "DualGAN: Unsupervised Dual Learning for Image-to-Image Translation"
    arxiv = "1704.02510"
    capabilities: ClassVar[tuple[str, ...]] = ('two_way_translation',)
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 1}

    def __init__(self, config: DualGANConfig) -> None:
        super().__init__(config)
        for net in (self.g_ab, self.g_ba, self.d_a, self.d_b):
            dcgan_init(net)
        gens = itertools.chain(self.g_ab.parameters(), self.g_ba.parameters())
        critics = itertools.chain(self.d_a.parameters(), self.d_b.parameters())
        self.optimizers = {"generators": torch.optim.RMSprop(gens, config.lr),
                           "discriminators": torch.optim.RMSprop(critics, config.lr)}

    def build_networks(self, c: DualGANConfig) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
        depth = unet_depth(c.image_size)
        return (UNetGenerator(c.channels_a, c.channels_b, depth, c.g_width, norm=c.norm, dropout=c.dropout),
                UNetGenerator(c.channels_b, c.channels_a, depth, c.g_width, norm=c.norm, dropout=c.dropout),
                PatchDiscriminator(c.channels_a, c.d_width, c.d_layers, c.norm),
                PatchDiscriminator(c.channels_b, c.d_width, c.d_layers, c.norm))

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return d_wasserstein(real_out, fake_out)

    def g_adv_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return g_wasserstein(fake_out)

    def after_d_step(self) -> None:
        clip_weights_(self.d_a, self.config.clip)
        clip_weights_(self.d_b, self.config.clip)
