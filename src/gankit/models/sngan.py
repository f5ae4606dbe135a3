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

import torch

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_hinge, g_hinge
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn.resnet_gan import ResNetDiscriminator, ResNetGenerator
from gankit.nn.spectral import spectral_normalize
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class SNGANConfig(Config):
    latent_dim: int = 128
    image_size: int = 32
    channels: int = 3
    g_width: int = 256
    d_width: int = 128
    spectral_norm: bool = True  # false: the same D without SN (the ablation)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.9)
    n_dis: int = 5  # D steps per G step

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_width": 8, "d_width": 8, "n_dis": 2},
        "cpu": {"g_width": 64, "d_width": 64},
    }
    folder_defaults: ClassVar[dict[str, Any]] = {"image_size": 32, "channels": 3}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.n_dis < 1:
            raise GankitError(f"n_dis must be at least 1, got {self.n_dis}")


@register_model("sngan")
class SNGAN(GANModel):
    config_class = SNGANConfig
    paper = "Spectral Normalization for Generative Adversarial Networks"
    arxiv = "1802.05957"
    data_needs = "images"

    def __init__(self, config: SNGANConfig) -> None:
        super().__init__(config)
        c = config
        self.generator = ResNetGenerator(c.latent_dim, c.channels, c.image_size, c.g_width)
        self.discriminator = ResNetDiscriminator(c.channels, c.image_size, c.d_width)
        if c.spectral_norm:
            spectral_normalize(self.discriminator)
        self.optimizers = {
            "discriminator": adam(self.discriminator.parameters(), c.lr_d, c.betas),
            "generator": adam(self.generator.parameters(), c.lr_g, c.betas),
        }
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))  # drives n_dis; checkpointed

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real = batch.images  # (B, C, S, S)
        g_turn = int(self.d_steps) % self.config.n_dis == 0
        z = self.latent(len(real), self.config.latent_dim)
        with self.autocast(), torch.set_grad_enabled(g_turn):
            fake = self.generator(z)  # (B, C, S, S); its graph is kept only when G steps after this D step
        with self.autocast():
            # D has no BatchNorm: one pass over real and fake is exactly two passes.
            real_out, fake_out = self.discriminator(torch.cat([real, fake.detach()])).split(len(real))
            loss_d = d_hinge(real_out, fake_out)
        self.optimize(loss_d, "discriminator")
        self.d_steps += 1
        logs = {"loss/d": loss_d.detach(), "d/real": real_out.detach().float().mean(),
                "d/fake": fake_out.detach().float().mean()}
        if g_turn:
            with self.frozen(self.discriminator), self.autocast():
                loss_g = g_hinge(self.discriminator(fake))
            self.optimize(loss_g, "generator")
            logs["loss/g"] = loss_g.detach()
        return logs

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        g = self.net("generator")
        with self.eval_mode(g):
            images = g(self.latent(n, self.config.latent_dim, generator))
        return images.float().clamp(-1, 1)  # (n, C, S, S)
