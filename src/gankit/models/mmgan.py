"""MM GAN: the original minimax game of Generative Adversarial Nets (Goodfellow et al., arXiv 1406.2661),
as named and compared in Are GANs Created Equal? (Lucic et al., arXiv 1711.10337).

The one idea: G minimises log(1 - D(G(z))), the exact minimax value of the game. Its
gradient vanishes when D rejects fakes confidently, which is why the paper recommends the
non-saturating form (`nsgan`); kept to show that difference. Adam 2e-4, beta1 0.5,
DCGAN-style conv nets at 32x32 (`--preset mlp` for the classic MLPs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from gankit.losses import g_minimax
from gankit.models.gan import GAN, LOSS_FAMILY_PRESETS, GANConfig
from gankit.registry import register_model


@dataclass
class MMGANConfig(GANConfig):
    image_size: int = 32
    arch: Literal["mlp", "dcgan"] = "dcgan"

    presets: ClassVar[dict[str, dict[str, Any]]] = LOSS_FAMILY_PRESETS


@register_model("mmgan")
class MMGAN(GAN):
    config_class = MMGANConfig
    paper = "Generative Adversarial Nets (minimax loss, as in Are GANs Created Equal?)"
    arxiv = "1406.2661"

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return g_minimax(fake_out)
