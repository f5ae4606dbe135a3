"""Spectral Normalization for Generative Adversarial Networks (Miyato et al., arXiv 1802.05957).

The one idea: divide every weight of D by its largest singular value (one power iteration per step),
so D is 1-Lipschitz layer by layer; its gradients stay informative without a penalty or clipping, and
training stays stable across optimiser settings where other critics degrade (the paper's Figure 1).
Defaults: the paper's CIFAR ResNets (G width 256, D width 128, z 128, 32x32), SN on every D layer,
hinge loss, Adam 2e-4 betas (0, 0.9), 5 D steps per G step (reference: pfnet-research/sngan_projection).
Deviations:
- G's step uses the same batch size as D's (the paper draws 2x for G);
- `spectral_norm=false` keeps everything else and drops SN from D: the ablation of the robustness claim;
- the `cpu` preset narrows G and D to 64 channels so a proof fits two CPU cores.
Proof: see docs/variants/sngan.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gankit.models.sn_family import SpectralNormConfig, SpectralNormGAN
from gankit.nn.resnet_gan import ResNetDiscriminator, ResNetGenerator
from gankit.nn.spectral import spectral_normalize
from gankit.registry import register_model


@dataclass
class SNGANConfig(SpectralNormConfig):
    spectral_norm: bool = True  # false: the same D without SN (the ablation)
    n_dis: int = 5  # D steps per G step

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_width": 8, "d_width": 8, "n_dis": 2},
        "cpu": {"g_width": 64, "d_width": 64},
    }


@register_model("sngan")
class SNGAN(SpectralNormGAN):
    config_class = SNGANConfig
    paper = "Spectral Normalization for Generative Adversarial Networks"
    arxiv = "1802.05957"

    def build_networks(self, c: SNGANConfig) -> tuple[ResNetGenerator, ResNetDiscriminator]:
        generator = ResNetGenerator(c.latent_dim, c.channels, c.image_size, c.g_width)
        discriminator = ResNetDiscriminator(c.channels, c.image_size, c.d_width)
        if c.spectral_norm:
            spectral_normalize(discriminator)
        return generator, discriminator
