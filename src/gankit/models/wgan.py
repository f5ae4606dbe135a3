"""Wasserstein GAN (Arjovsky et al., arXiv 1701.07875).

The one idea: train a critic (no sigmoid) to estimate the Wasserstein-1 distance between
data and model, keeping it Lipschitz by clipping its weights to [-c, c]; G minimises that
estimate, whose value tracks sample quality. Paper defaults: c = 0.01, n_critic = 5,
RMSprop lr 5e-5 (momentum-based optimizers were unstable in the paper), DCGAN-style nets.
Deviation: one critic step per training step on a fresh batch, G every n_critic steps (the
same ratio and data use as the paper's inner loop; the paper's 100 critic steps in the
first 25 G iterations are left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from gankit.losses import clip_weights_, d_wasserstein, g_wasserstein
from gankit.models.gan import GAN, LOSS_FAMILY_PRESETS, GANConfig
from gankit.registry import register_model


@dataclass
class WGANConfig(GANConfig):
    image_size: int = 32
    arch: Literal["mlp", "dcgan"] = "dcgan"
    lr_g: float = 5e-5
    lr_d: float = 5e-5
    n_critic: int = 5
    clip: float = 0.01

    presets: ClassVar[dict[str, dict[str, Any]]] = LOSS_FAMILY_PRESETS


class WassersteinObjective:
    """Critic and G losses, and the logged estimate of W1 = E D(x) - E D(G(z))."""

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return d_wasserstein(real_out, fake_out)

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return g_wasserstein(fake_out)

    def d_stats(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"wasserstein/estimate": (real_out.float().mean() - fake_out.float().mean())}


@register_model("wgan")
class WGAN(WassersteinObjective, GAN):
    config_class = WGANConfig
    paper = "Wasserstein GAN"
    arxiv = "1701.07875"

    def __init__(self, config: WGANConfig) -> None:
        super().__init__(config)
        self.optimizers = {
            "discriminator": torch.optim.RMSprop(self.discriminator.parameters(), lr=config.lr_d),
            "generator": torch.optim.RMSprop(self.generator.parameters(), lr=config.lr_g),
        }

    def after_d_step(self) -> None:
        clip_weights_(self.discriminator, self.config.clip)
