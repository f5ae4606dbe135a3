"""On Convergence and Stability of GANs (DRAGAN; Kodali et al., arXiv 1705.07215).

The one idea: mode collapse comes with sharp gradients of D around real data, so penalise
D's gradient norm in a neighbourhood of the data, lambda * E (||grad D(x_hat)||_2 - 1)^2 with
x_hat between x and x + delta, delta = 0.5 * std(x) * U[0, 1], on top of the usual GAN loss.
Defaults: lambda = 10, Adam betas (0.5, 0.9). Deviation: lr 2e-4 (the DCGAN rate): 1e-4 learned
about half as fast here (MNIST, 2000 steps), and a public MNIST DRAGAN script uses 1e-3.
Deviation: no BatchNorm in D, as for every per-sample gradient penalty (BN couples samples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from gankit.losses import dragan_perturb, gradient_penalty, interpolate
from gankit.models.gan import GAN, LOSS_FAMILY_PRESETS, GANConfig
from gankit.registry import register_model


@dataclass
class DRAGANConfig(GANConfig):
    image_size: int = 32
    arch: Literal["mlp", "dcgan"] = "dcgan"
    d_norm: Literal["batch", "none"] = "none"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.9)
    gp_weight: float = 10.0
    perturb_scale: float = 0.5

    presets: ClassVar[dict[str, dict[str, Any]]] = LOSS_FAMILY_PRESETS


@register_model("dragan")
class DRAGAN(GAN):
    config_class = DRAGANConfig
    paper = "On Convergence and Stability of GANs"
    arxiv = "1705.07215"

    def d_penalties(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        x_hat = interpolate(real, dragan_perturb(real, self.config.perturb_scale))  # (B, C, H, W)
        return {"penalty/dragan": self.config.gp_weight * gradient_penalty(self.discriminator(x_hat), x_hat)}
