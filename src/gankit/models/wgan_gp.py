"""Improved Training of Wasserstein GANs (Gulrajani et al., arXiv 1704.00028).

The one idea: enforce the critic's 1-Lipschitz constraint softly with a gradient penalty
lambda * E (||grad D(x_hat)||_2 - 1)^2 on random interpolates x_hat between real and fake
samples (one alpha per sample, the norm over all of a sample's pixels), instead of weight
clipping. Paper defaults: lambda = 10, n_critic = 5, Adam lr 1e-4, betas (0, 0.9), and no
BatchNorm in the critic (it would couple the per-sample gradients).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from gankit.losses import gradient_penalty, interpolate
from gankit.models.gan import GAN, LOSS_FAMILY_PRESETS, GANConfig
from gankit.models.wgan import WassersteinObjective
from gankit.registry import register_model


@dataclass
class WGANGPConfig(GANConfig):
    image_size: int = 32
    arch: Literal["mlp", "dcgan"] = "dcgan"
    d_norm: Literal["batch", "none"] = "none"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.0, 0.9)
    n_critic: int = 5
    gp_weight: float = 10.0

    presets: ClassVar[dict[str, dict[str, Any]]] = LOSS_FAMILY_PRESETS


@register_model("wgan_gp")
class WGANGP(WassersteinObjective, GAN):
    config_class = WGANGPConfig
    paper = "Improved Training of Wasserstein GANs"
    arxiv = "1704.00028"

    def d_penalties(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        x_hat = interpolate(real, fake)  # (B, C, H, W)
        return {"penalty/gp": self.config.gp_weight * gradient_penalty(self.discriminator(x_hat), x_hat)}
