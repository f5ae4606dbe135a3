"""Learning to Discover Cross-Domain Relations with Generative Adversarial Networks (Kim et al.,
arXiv 1703.05192).

The one idea: two GANs coupled by reconstruction in both directions (A -> B -> A and
B -> A -> B) discover a one-to-one relation between unpaired domains, avoiding the mode
collapse of a single direction. Nets: conv encoder / deconv decoder G (BN, LeakyReLU 0.2 down,
ReLU up, no skips), conv D with BN; GAN loss (BCE, non-saturating) + reconstruction (MSE), equal
weights; Adam 2e-4, betas (0.5, 0.999).
Deviation: the reference code's feature-matching term and its reconstruction-weight schedule are
left out (one fixed weight, `recon_weight`).

Status: NOT yet shown to work. On MNIST <-> MNIST-M (`digits` preset, batch 16) the generators
collapse to a few outputs within 120-600 steps (recon weight 1 or 10): the digit survives the
A -> B -> A cycle only at chance (0.09) while cycle L1 falls 0.91 -> 0.29. The reference code's
schedule (mostly feature matching, recon weight 0.01 for the first 10k iterations) is the next
thing to try.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.cyclegan import TwoWayTranslator
from gankit.nn import DCGANDiscriminator, check_dcgan_size, dcgan_init
from gankit.nn.translation import ConvEncoderDecoder
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class DiscoGANConfig(Config):
    image_size: int = 64
    channels_a: int = 3
    channels_b: int = 3
    g_width: int = 64
    g_depth: int = 4  # 64px -> 4x4 code
    d_width: int = 64
    recon_weight: float = 1.0
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 1e-5  # reference code
    grid_examples: int = 8

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"image_size": 8, "channels_a": 1, "channels_b": 3, "g_width": 4, "g_depth": 2, "d_width": 4,
                 "grid_examples": 4},
        "digits": {"image_size": 32, "channels_a": 1, "channels_b": 3, "g_width": 32, "g_depth": 3, "d_width": 32},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        check_dcgan_size(self.image_size)
        if self.image_size % 2**self.g_depth:
            raise GankitError(f"image_size {self.image_size} must be a multiple of 2**g_depth = {2**self.g_depth}")

    @property
    def cycle_weight_a(self) -> float:
        return self.recon_weight

    @property
    def cycle_weight_b(self) -> float:
        return self.recon_weight


@register_model("discogan")
class DiscoGAN(TwoWayTranslator):
    config_class = DiscoGANConfig
    paper = "Learning to Discover Cross-Domain Relations with Generative Adversarial Networks"
    arxiv = "1703.05192"
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}
    proof_recipe: ClassVar[dict[str, Any]] = {"data": "mnist-m", "preset": "digits", "batch_size": 64, "steps": 3000}

    def __init__(self, config: DiscoGANConfig) -> None:
        super().__init__(config)
        for net in (self.g_ab, self.g_ba, self.d_a, self.d_b):
            dcgan_init(net)
        c = config
        gens = itertools.chain(self.g_ab.parameters(), self.g_ba.parameters())
        discs = itertools.chain(self.d_a.parameters(), self.d_b.parameters())
        self.optimizers = {"generators": adam(gens, c.lr, c.betas, weight_decay=c.weight_decay),
                           "discriminators": adam(discs, c.lr, c.betas, weight_decay=c.weight_decay)}

    def build_networks(self, c: DiscoGANConfig) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
        return (ConvEncoderDecoder(c.channels_a, c.channels_b, c.g_depth, c.g_width),
                ConvEncoderDecoder(c.channels_b, c.channels_a, c.g_depth, c.g_width),
                DCGANDiscriminator(c.channels_a, c.image_size, c.d_width),
                DCGANDiscriminator(c.channels_b, c.image_size, c.d_width))

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return d_bce(real_out, fake_out)

    def g_adv_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return g_nonsaturating(fake_out)

    def recon_loss(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(x, target)
