"""On Self Modulation for Generative Adversarial Networks (Chen et al., arXiv 1810.01365).

The one idea: G's batch-norm layers take their scale and shift from G's own input z, through a small
MLP per layer, instead of learning fixed ones, so z steers every layer of G and not only the first;
no labels and no change to D or the loss. The paper reports lower FID in most of its 144 settings.
Defaults: SNGAN's 32 px ResNet G and D (gankit.nn.resnet_gan) with SN in D, hinge loss, Adam 2e-4
betas (0, 0.9), one D step per G step; one-hidden-layer ReLU MLPs of width 32 for every gamma and beta
(as compare_gan's self-modulation).
Deviations:
- scale is 1 + MLP(z), so an untrained block starts as plain BN;
- `modulation=false` keeps everything else and uses plain BN with learned fixed scale and shift:
  the ablation, which is SNGAN with one D step per G step;
- the `cpu` preset narrows G and D to 64 channels, `digits` to 32 on 16 px gray MNIST.
Proof: see docs/variants/selfmod.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gankit.errors import GankitError
from gankit.models.sn_family import SpectralNormConfig, SpectralNormGAN
from gankit.nn.resnet_gan import ResNetDiscriminator, ResNetGenerator
from gankit.nn.spectral import spectral_normalize
from gankit.registry import register_model


@dataclass
class SelfModConfig(SpectralNormConfig):
    modulation: bool = True  # false: plain BN in G (the ablation)
    modulation_hidden: int = 32  # hidden width of each z -> (gamma, beta) MLP

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_width": 8, "d_width": 8, "modulation_hidden": 4},
        "cpu": {"g_width": 64, "d_width": 64},
        "digits": {"channels": 1, "image_size": 16, "g_width": 32, "d_width": 32, "latent_dim": 64},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.modulation_hidden < 1:
            raise GankitError(f"modulation_hidden must be at least 1, got {self.modulation_hidden}")


@register_model("selfmod")
class SelfMod(SpectralNormGAN):
    config_class = SelfModConfig
    paper = "On Self Modulation for Generative Adversarial Networks"
    arxiv = "1810.01365"

    def build_networks(self, c: SelfModConfig) -> tuple[ResNetGenerator, ResNetDiscriminator]:
        hidden = c.modulation_hidden if c.modulation else None
        generator = ResNetGenerator(c.latent_dim, c.channels, c.image_size, c.g_width, modulation_hidden=hidden)
        discriminator = spectral_normalize(ResNetDiscriminator(c.channels, c.image_size, c.d_width))
        return generator, discriminator
