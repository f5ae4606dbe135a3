"""NS GAN: the non-saturating GAN of Generative Adversarial Nets (Goodfellow et al., arXiv 1406.2661),
as named and compared in Are GANs Created Equal? (Lucic et al., arXiv 1711.10337).

The one idea: G maximises log D(G(z)) instead of minimising log(1 - D(G(z))): the same
fixed point, with strong gradients early in training. `gan` is this loss with the classic
MLPs; `nsgan` sets up the loss-family comparison: DCGAN-style conv nets at 32x32 by
default, `--preset mlp` for the MLPs. Adam 2e-4, beta1 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from gankit.models.gan import GAN, LOSS_FAMILY_PRESETS, GANConfig
from gankit.registry import register_model


@dataclass
class NSGANConfig(GANConfig):
    image_size: int = 32
    arch: Literal["mlp", "dcgan"] = "dcgan"

    presets: ClassVar[dict[str, dict[str, Any]]] = LOSS_FAMILY_PRESETS


@register_model("nsgan")
class NSGAN(GAN):
    config_class = NSGANConfig
    paper = "Generative Adversarial Nets (non-saturating loss, as in Are GANs Created Equal?)"
    arxiv = "1406.2661"
