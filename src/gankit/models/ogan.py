"""O-GAN: Extremely Concise Approach for Auto-Encoding GANs (Su, arXiv 1903.01931).

The one idea: D is not a network of its own but the mean of an encoder's output, D(x) = avg(E(x)),
with E(x) a vector of the latent's size. The mean is one degree of freedom of E(x); the Pearson
correlation rho(z, E(G(z))) (each vector centred and scaled, across its components) does not see it,
so adding -lambda * rho to both players' losses makes E an encoder at no extra cost: E(G(z)) points
where z points while D keeps judging through the mean.

Defaults (the author's code, bojone/o-gan): lambda 0.5, latent 128, GAN-QP base loss (arXiv 1811.07296:
E[D(G(z)) - D(x)] + 0.25 (D(x) - D(G(z)))^2 / mean (x - G(z))^2, pairs by index; G: -E D(G(z))),
DCGAN-style nets with N(0, 0.02) weights, BatchNorm in E after its first layer, RMSprop 1e-4 (alpha 0.99).
`reconstruct` feeds G the code standardised per sample (zero mean, unit std) times 0.9, as the code does.
`orthogonality=0` is the same GAN-QP model without the term (the proof's ablation).

Deviations from the paper:
- 32 px MNIST with 4x4 kernels (the DCGAN blocks of gankit.nn) instead of 5x5 kernels at 64-128 px.
- E and G step in turn (E first), where the code takes one joint step with a stop-gradient trick.
- The `cpu` preset: latent 64, width 32.

Lab notes (what was tried and measured): docs/variants/ogan.md
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses.quadratic import d_quadratic_potential, g_quadratic_potential, pearson_correlation
from gankit.models.base import Batch, DataSpec, GANModel, ZLatent
from gankit.nn import DCGANDiscriminator, DCGANGenerator, check_dcgan_size, dcgan_init
from gankit.registry import register_model


@dataclass
class OGANConfig(Config):
    latent_dim: int = 128
    image_size: int = 32
    channels: int = 1
    width: int = 64  # channels of E's first conv and of G's last hidden layer
    orthogonality: float = 0.5  # lambda: weight of -rho(z, E(G(z))) in both losses; 0 removes the term
    lr: float = 1e-4  # RMSprop, E and G
    rmsprop_alpha: float = 0.99
    recon_scale: float = 0.9  # reconstruct: G(recon_scale * standardised E(x)), the code's mild truncation

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "width": 4},
        "cpu": {"latent_dim": 64, "width": 32},
    }
    folder_defaults: ClassVar[dict[str, Any]] = {"image_size": 64, "channels": 3}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        check_dcgan_size(self.image_size)
        if self.latent_dim < 2:
            raise GankitError(f"latent_dim must be at least 2 (a correlation needs two components), got {self.latent_dim}")
        if self.orthogonality < 0:
            raise GankitError(f"orthogonality must be >= 0 (paper 0.5; 0 turns the term off), got {self.orthogonality}")
        if not 0.0 <= self.rmsprop_alpha < 1.0:
            raise GankitError(f"rmsprop_alpha must be in [0, 1) (default 0.99), got {self.rmsprop_alpha}")
        if self.recon_scale <= 0:
            raise GankitError(f"recon_scale must be > 0 (default 0.9), got {self.recon_scale}")


@register_model("ogan")
class OGAN(ZLatent, GANModel):
    config_class = OGANConfig
    paper = "O-GAN: Extremely Concise Approach for Auto-Encoding Generative Adversarial Networks"
    arxiv = "1903.01931"
    capabilities: ClassVar[tuple[str, ...]] = ("orthogonal_codes",)
    data_needs = "images"
    # E is what `encode` reads, so it is averaged like G when the engine keeps an EMA.
    ema_targets = ("generator", "encoder")

    def __init__(self, config: OGANConfig) -> None:
        super().__init__(config)
        c = config
        self.generator = DCGANGenerator(c.latent_dim, c.channels, c.image_size, c.width)
        # DCGAN's D with a latent-sized head: BatchNorm after the first conv, as in the code's E.
        self.encoder = DCGANDiscriminator(c.channels, c.image_size, c.width, norm="batch", out_features=c.latent_dim)
        dcgan_init(self.generator)
        dcgan_init(self.encoder)
        self.optimizers = {
            "encoder": torch.optim.RMSprop(self.encoder.parameters(), c.lr, alpha=c.rmsprop_alpha),
            "generator": torch.optim.RMSprop(self.generator.parameters(), c.lr, alpha=c.rmsprop_alpha),
        }

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    @staticmethod
    def critic(codes: torch.Tensor) -> torch.Tensor:
        """D's value from E's codes (B, latent_dim): their mean, a fixed linear map (weights 1/latent_dim)."""
        return codes.float().mean(1)  # (B,)

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) = avg(E(x)) for images (B, C, H, W) with the live encoder; (B,)."""
        return self.critic(self.encoder(x))

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real = batch.images  # (B, C, H, W)
        z = self.latent(real.shape[0], self.config.latent_dim)  # (B, latent_dim)
        lam = self.config.orthogonality
        with self.autocast():
            fake = self.generator(z)  # (B, C, H, W)
            # Real and fake pass E separately, as in the code (BatchNorm statistics per batch).
            code_real, code_fake = self.encoder(real), self.encoder(fake.detach())  # (B, latent_dim) each
            out_real, out_fake = self.critic(code_real), self.critic(code_fake)  # (B,) each
            loss_d = d_quadratic_potential(out_real, out_fake, real, fake.detach())
            rho_d = pearson_correlation(z, code_fake).mean()
            total_d = loss_d - lam * rho_d if lam else loss_d
        self.optimize(total_d, "encoder")
        with self.frozen(self.encoder), self.autocast():
            code_fake = self.encoder(fake)  # (B, latent_dim), gradients reach G only
            loss_g = g_quadratic_potential(self.critic(code_fake))
            rho_g = pearson_correlation(z, code_fake).mean()
            total_g = loss_g - lam * rho_g if lam else loss_g
        self.optimize(total_g, "generator")
        return {
            "loss/d": loss_d.detach(),
            "loss/g": loss_g.detach(),
            "ortho/rho": rho_g.detach(),  # rho(z, E(G(z))) after E's step; logged with or without the term
            "d/gap": (out_real - out_fake).mean().detach(),  # D(x) - D(G(z)) in E's step
        }

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        g = self.net("generator")
        with self.eval_mode(g):
            return g(z).float().clamp(-1, 1)  # (n, C, H, W)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """E(x) (B, latent_dim) for images `x` in [-1, 1]; D(x) is its mean."""
        e = self.net("encoder")
        with self.eval_mode(e):
            return e(x).float()

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """G(E(x)): rho ignores E's mean and scale, so the code is standardised per sample first."""
        codes = self.encode(x)  # (B, latent_dim)
        codes = (codes - codes.mean(1, keepdim=True)) / codes.std(1, keepdim=True, unbiased=False).clamp_min(1e-8)
        return self.generate(self.config.recon_scale * codes)  # (B, C, H, W)


__all__ = ["OGAN", "OGANConfig"]
