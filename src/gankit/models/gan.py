"""Generative Adversarial Nets (Goodfellow et al., arXiv 1406.2661).

The one idea: train G against a discriminator D in a two-player game; at the optimum
G's distribution equals the data's. G uses the non-saturating loss -log D(G(z)) that the
paper recommends in practice (section 3). Nets: the classic MNIST MLPs
(G 100-128-256-512-1024-784 with BatchNorm, D 784-512-256-1), Adam 2e-4, betas (0.5, 0.999).
Deviation: BatchNorm uses its standard eps; reference scripts pass 0.8 as eps by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    check_dcgan_size,
    dcgan_init,
)
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class GANConfig(Config):
    latent_dim: int = 100
    image_size: int = 28
    channels: int = 1
    arch: Literal["mlp", "dcgan"] = "mlp"
    g_hidden: tuple[int, ...] = (128, 256, 512, 1024)  # mlp
    d_hidden: tuple[int, ...] = (512, 256)  # mlp
    g_width: int = 64  # dcgan: channels of G's last hidden layer
    d_width: int = 64  # dcgan: channels of D's first layer
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_hidden": (16, 32), "d_hidden": (32, 16)},
    }
    # Applied when training on an image folder, before the user's own overrides.
    folder_defaults: ClassVar[dict[str, Any]] = {"image_size": 64, "channels": 3}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.channels not in (1, 3):
            raise GankitError(f"channels must be 1 (gray) or 3 (RGB), got {self.channels}")
        if self.arch == "dcgan":
            check_dcgan_size(self.image_size)


@register_model("gan")
class GAN(GANModel):
    config_class = GANConfig
    paper = "Generative Adversarial Nets"
    arxiv = "1406.2661"
    task = "generate"
    data_needs = "images"

    def __init__(self, config: GANConfig) -> None:
        super().__init__(config)
        self.generator, self.discriminator = self.build_networks(config)
        self.optimizers = {
            "discriminator": adam(self.discriminator.parameters(), config.lr_d, config.betas),
            "generator": adam(self.generator.parameters(), config.lr_g, config.betas),
        }
        # Without BatchNorm, one D pass over real and fake together is exactly two passes, and faster.
        self.joint_d_pass = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.discriminator.modules())

    @staticmethod
    def build_networks(config: GANConfig) -> tuple[nn.Module, nn.Module]:
        shape = (config.channels, config.image_size, config.image_size)
        if config.arch == "mlp":
            return MLPGenerator(config.latent_dim, config.g_hidden, shape), MLPDiscriminator(shape, config.d_hidden)
        g = DCGANGenerator(config.latent_dim, config.channels, config.image_size, config.g_width)
        d = DCGANDiscriminator(config.channels, config.image_size, config.d_width)
        dcgan_init(g)
        dcgan_init(d)
        return g, d

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    # The two losses are the only thing the loss-family variants change.
    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return d_bce(real_logits, fake_logits)

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return g_nonsaturating(fake_logits)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real = batch.images  # (B, C, H, W)
        z = self.latent(real.shape[0], self.config.latent_dim)
        with self.autocast():
            fake = self.generator(z)
            if self.joint_d_pass:
                real_logits, fake_logits = self.discriminator(torch.cat([real, fake.detach()])).split(real.shape[0])
            else:  # BatchNorm statistics stay per batch, as in the paper
                real_logits, fake_logits = self.discriminator(real), self.discriminator(fake.detach())
            loss_d = self.d_loss(real_logits, fake_logits)
        self.optimize(loss_d, "discriminator")

        with self.frozen(self.discriminator), self.autocast():
            loss_g = self.g_loss(self.discriminator(fake))
        self.optimize(loss_g, "generator")
        return {
            "loss/d": loss_d.detach(),
            "loss/g": loss_g.detach(),
            "d/real": torch.sigmoid(real_logits.detach().float()).mean(),
            "d/fake": torch.sigmoid(fake_logits.detach().float()).mean(),
        }

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        g = self.net("generator")
        with self.eval_mode(g):
            images = g(self.latent(n, self.config.latent_dim, generator))
        return images.float().clamp(-1, 1)  # (n, C, H, W)
