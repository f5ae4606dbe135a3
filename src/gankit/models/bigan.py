"""Adversarial Feature Learning (Donahue et al., arXiv 1605.09782); ALI (Dumoulin et al., arXiv 1606.00704).

The one idea: learn an encoder E: x -> z alongside G: z -> x by letting D judge joint pairs,
real (x, E(x)) against fake (G(z), z). At the optimum the two joint distributions match, so
E inverts G and its codes are features learned without labels. D uses BCE; G and E are one
player, trained together with the inverted labels (non-saturating).

Defaults (the paper's MNIST setup): `arch="mlp"` at 28x28, 1024-unit nets, latent 50, uniform prior on
[-1, 1], Adam 2e-4 beta1 0.5, weight decay 2.5e-5.

Deviations from the paper:
- D joins an x-path and a z-path (one 1024-unit layer) with one joint 1024-unit layer (our reading).
- The `cpu` preset narrows the MLPs to 256 units; `arch="dcgan"` (image folders' default) uses conv nets.
- Weight decay is Adam's L2 term on every net (the paper does not say which nets get it).

Lab notes (what was tried and measured): docs/variants/bigan.md
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn import DCGANDiscriminator, MLPDiscriminator, build_generator, check_dcgan_size, dcgan_init
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class BiGANConfig(Config):
    latent_dim: int = 50
    prior: Literal["uniform", "gaussian"] = "uniform"  # uniform: U[-1, 1]^latent_dim, as in the paper
    image_size: int = 28
    channels: int = 1
    arch: Literal["mlp", "dcgan"] = "mlp"
    hidden: tuple[int, ...] = (1024, 1024)  # mlp: E's and G's hidden layers, D's x-path
    width: int = 64  # dcgan: channels of E's and D's first conv layer and G's last
    d_joint: int = 1024  # width of D's z-path and of its joint layer
    d_dropout: float = 0.2  # in D's joint layers (ALI's regulariser against a D that wins outright)
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 2.5e-5

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "hidden": (16,), "d_joint": 16},
        "cpu": {"hidden": (256, 256), "d_joint": 256},
    }
    folder_defaults: ClassVar[dict[str, Any]] = {"arch": "dcgan", "image_size": 64, "channels": 3}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.arch == "dcgan":
            check_dcgan_size(self.image_size)
        if self.latent_dim < 1:
            raise GankitError(f"latent_dim must be at least 1, got {self.latent_dim}")
        if not 0.0 <= self.d_dropout < 1.0:
            raise GankitError(f"d_dropout must be in [0, 1), got {self.d_dropout}")


class JointDiscriminator(nn.Module):
    """D(x, z): an x-path to features, a z-path, and joint layers over both to one logit."""

    def __init__(self, x_path: nn.Module, x_features: int, latent_dim: int, width: int, dropout: float) -> None:
        super().__init__()
        self.x_path = x_path
        self.z_path = nn.Sequential(nn.Linear(latent_dim, width), nn.LeakyReLU(0.2))
        self.joint = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(x_features + width, width), nn.LeakyReLU(0.2),
            nn.Dropout(dropout), nn.Linear(width, 1),
        )

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h = torch.cat([self.x_path(x).flatten(1), self.z_path(z)], 1)  # (B, x_features + width)
        return self.joint(h).squeeze(1)  # (B,) logits


@register_model("bigan")
class BiGAN(GANModel):
    config_class = BiGANConfig
    paper = "Adversarial Feature Learning"
    arxiv = "1605.09782"
    capabilities: ClassVar[tuple[str, ...]] = ('encoder_probes',)
    data_needs = "images"
    # E is a network we read codes from, so it gets an average too when the engine keeps one.
    ema_targets = ("generator", "encoder")

    def __init__(self, config: BiGANConfig) -> None:
        super().__init__(config)
        c = config
        shape = (c.channels, c.image_size, c.image_size)
        self.generator = build_generator(c.arch, c.latent_dim, c.channels, c.image_size, c.hidden, c.width)
        if c.arch == "mlp":
            self.encoder = MLPDiscriminator(shape, c.hidden, out_features=c.latent_dim)  # (B, latent_dim)
            x_path = MLPDiscriminator(shape, c.hidden).trunk
            x_features = c.hidden[-1]
        else:
            self.encoder = DCGANDiscriminator(c.channels, c.image_size, c.width, norm="batch", out_features=c.latent_dim)
            # No BatchNorm in D: real and fake pairs would otherwise be told apart by batch statistics.
            conv = DCGANDiscriminator(c.channels, c.image_size, c.width, norm="none")
            x_path, x_features = conv.trunk, conv.feature_dim
        self.discriminator = JointDiscriminator(x_path, x_features, c.latent_dim, c.d_joint, c.d_dropout)
        if c.arch == "dcgan":
            # DCGAN's N(0, 0.02) for the conv nets; D's fully connected z-path and joint layers keep
            # PyTorch's default init, under which E's codes reach D at a useful scale from step 0.
            for net in (self.generator, self.encoder, self.discriminator.x_path):
                dcgan_init(net)
        self.optimizers = {
            "discriminator": adam(self.discriminator.parameters(), c.lr, c.betas, weight_decay=c.weight_decay),
            # G and E are one player with one loss, so one optimizer steps both.
            "generator_encoder": adam([*self.generator.parameters(), *self.encoder.parameters()], c.lr, c.betas,
                                      weight_decay=c.weight_decay),
        }

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` codes from the prior `(n, latent_dim)`."""
        if self.config.prior == "gaussian":
            return self.latent(n, self.config.latent_dim, generator)
        if generator is not None and generator.device != self.device:
            raise GankitError(f"generator is on {generator.device} but the model is on {self.device}")
        return torch.rand(n, self.config.latent_dim, device=self.device, generator=generator) * 2 - 1

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images  # (B, C, H, W)
        z = self.prior(x.shape[0])  # (B, latent_dim)
        with self.autocast():
            ex = self.encoder(x)  # (B, latent_dim)
            gz = self.generator(z)  # (B, C, H, W)
            real_out = self.discriminator(x, ex.detach())
            fake_out = self.discriminator(gz.detach(), z)
            loss_d = d_bce(real_out, fake_out)
        self.optimize(loss_d, "discriminator")
        # Inverted labels: E wants (x, E(x)) judged fake, G wants (G(z), z) judged real.
        with self.frozen(self.discriminator), self.autocast():
            loss_ge = g_nonsaturating(self.discriminator(gz, z)) + g_nonsaturating(-self.discriminator(x, ex))
        self.optimize(loss_ge, "generator_encoder")
        return {
            "loss/d": loss_d.detach(),
            "loss/g": loss_ge.detach(),
            "d/real": torch.sigmoid(real_out.detach().float()).mean(),
            "d/fake": torch.sigmoid(fake_out.detach().float()).mean(),
        }

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        g = self.net("generator")
        with self.eval_mode(g):
            images = g(self.prior(n, generator))
        return images.float().clamp(-1, 1)  # (n, C, H, W)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        e = self.net("encoder")
        with self.eval_mode(e):
            return e(x).float()  # (B, latent_dim)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """G(E(x)) for images `x` in [-1, 1]: what the pair E, G keeps of an image."""
        g = self.net("generator")
        with self.eval_mode(g):
            return g(self.encode(x)).float().clamp(-1, 1)  # (B, C, H, W)

__all__ = ["BiGAN", "BiGANConfig", "JointDiscriminator"]
