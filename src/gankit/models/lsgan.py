"""Least Squares Generative Adversarial Networks (Mao et al., arXiv 1611.04076).

The one idea: replace the sigmoid cross-entropy with least squares against target codes
(D: fake -> a, real -> b; G: fake -> c), which penalises samples far from the decision
boundary even when they are on the right side, giving non-vanishing gradients.
Defaults: the 0-1 coding a=0, b=1, c=1 (the paper also uses -1/1/0), Adam 2e-4, beta1 0.5,
the DCGAN-style conv net at 32x32 (`--preset mlp` for the classic 28x28 MLPs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from gankit.losses import d_least_squares, g_least_squares
from gankit.models.gan import GAN, LOSS_FAMILY_PRESETS, GANConfig
from gankit.registry import register_model


@dataclass
class LSGANConfig(GANConfig):
    image_size: int = 32
    arch: Literal["mlp", "dcgan"] = "dcgan"
    a: float = 0.0  # target for fakes in D's loss
    b: float = 1.0  # target for reals in D's loss
    c: float = 1.0  # the value G wants D to believe for fakes

    presets: ClassVar[dict[str, dict[str, Any]]] = LOSS_FAMILY_PRESETS


@register_model("lsgan")
class LSGAN(GAN):
    config_class = LSGANConfig
    paper = "Least Squares Generative Adversarial Networks"
    arxiv = "1611.04076"

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return d_least_squares(real_out, fake_out, self.config.a, self.config.b)

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return g_least_squares(fake_out, self.config.c)

    def d_stats(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"d/real": real_out.float().mean(), "d/fake": fake_out.float().mean()}  # raw scores, not probabilities
