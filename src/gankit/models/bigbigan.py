"""Large Scale Adversarial Representation Learning (BigBiGAN; Donahue & Simonyan, arXiv 1907.02544).

The one idea: BiGAN's joint discriminator (real pairs (x, E(x)) against fake pairs (G(z), z)) on
BigGAN's nets, with D's score split in three: s_x from a conv trunk F(x), s_z from an MLP H(z) and
s_xz from an MLP J over [F(x), H(z)]. D minimises the hinge loss of each score, summed; E and G
minimise the un-hinged sum with the signs flipped, E[s(x, E(x))] - E[s(G(z), z)], s = s_x + s_z + s_xz.
The unary terms make G's marginal match the data and E's marginal match the prior on their own, so
the joint score is left to judge the pairing.

Defaults (the paper, BigGAN-style): unconditional BigGAN G (ResNet, spectral norm, hierarchical z, no
class embedding), latent 120 ~ N(0, I), a ResNet E with a Gaussian output (mean and softplus scale,
a reparameterised sample in training; `encode` gives the mean), spectral norm on G and D, Adam 2e-4
for G, E and D with betas (0, 0.999), 2 D steps per G/E step (`n_dis`).
`stochastic_encoder=False` is the paper's deterministic-E ablation.

Deviations from the paper:
- 32 px nets: the spectral-norm family's CIFAR ResNet blocks (G 256, D 128 wide) for ImageNet's 128 px.
- E is D's ResNet trunk (no BatchNorm, no spectral norm) with a 2-layer head, not a ResNet-50 / RevNet.
- H and J are 2 residual blocks of 512 units (our reading; the paper's MLPs are ImageNet-scale).
- The `cpu` preset narrows G, D and E to 16 channels and the MLPs to 256 units.
- No orthogonal regularisation and no EMA by default (train with `--ema` to average G and E).

Lab notes (what was tried and measured): docs/variants/bigbigan.md
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_hinge
from gankit.models.base import Batch, DataSpec, GANModel, ZLatent
from gankit.nn.bigbigan import HierarchicalResNetGenerator, JointScoreDiscriminator, ResNetEncoder
from gankit.nn.spectral import spectral_normalize
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class BigBiGANConfig(Config):
    latent_dim: int = 120  # split in image_size-dependent chunks: 4 of 30 at 32 px
    image_size: int = 32
    channels: int = 1
    g_width: int = 256
    d_width: int = 128  # F's channels
    e_width: int = 128  # E's trunk channels
    e_hidden: int = 512  # E's head
    mlp_width: int = 512  # H and J
    mlp_depth: int = 2  # residual blocks in H and in J
    stochastic_encoder: bool = True  # False: E outputs its mean only (the paper's deterministic ablation)
    lr_g: float = 2e-4
    lr_e: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.999)
    n_dis: int = 2  # D steps per G/E step

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_width": 8, "d_width": 8, "e_width": 8, "e_hidden": 16,
                 "mlp_width": 16, "mlp_depth": 1},
        "cpu": {"g_width": 16, "d_width": 16, "e_width": 16, "e_hidden": 256, "mlp_width": 256},
    }
    folder_defaults: ClassVar[dict[str, Any]] = {"image_size": 32, "channels": 3}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        for key in ("latent_dim", "g_width", "d_width", "e_width", "e_hidden", "mlp_width", "n_dis"):
            if getattr(self, key) < 1:
                raise GankitError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.mlp_depth < 0:
            raise GankitError(f"mlp_depth must be >= 0, got {self.mlp_depth}")


@register_model("bigbigan")
class BigBiGAN(ZLatent, GANModel):
    config_class = BigBiGANConfig
    paper = "Large Scale Adversarial Representation Learning"
    arxiv = "1907.02544"
    capabilities: ClassVar[tuple[str, ...]] = ("encoder_probes",)
    data_needs = "images"
    # E is what `encode` reads, so it is averaged like G when the engine keeps an EMA.
    ema_targets = ("generator", "encoder")

    def __init__(self, config: BigBiGANConfig) -> None:
        super().__init__(config)
        c = config
        self.generator = spectral_normalize(HierarchicalResNetGenerator(c.latent_dim, c.channels, c.image_size,
                                                                        c.g_width))
        self.encoder = ResNetEncoder(c.channels, c.latent_dim, c.image_size, c.e_width, c.e_hidden)
        self.discriminator = spectral_normalize(JointScoreDiscriminator(c.channels, c.latent_dim, c.image_size,
                                                                        c.d_width, c.mlp_width, c.mlp_depth))
        self.optimizers = {
            "discriminator": adam(self.discriminator.parameters(), c.lr_d, c.betas),
            # G and E are one player with one loss: one optimizer, a learning rate each.
            "generator_encoder": adam([{"params": list(self.generator.parameters()), "lr": c.lr_g},
                                       {"params": list(self.encoder.parameters()), "lr": c.lr_e}], c.lr_g, c.betas),
        }
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))  # drives n_dis; checkpointed

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    def encoder_sample(self, x: torch.Tensor) -> torch.Tensor:
        """z^ ~ E(x) with the live encoder (B, latent_dim): mean + scale * eps, or the mean when deterministic."""
        mean, scale = self.encoder(x)
        if not self.config.stochastic_encoder:
            return mean
        return mean + scale * torch.randn_like(mean)

    def scores(self, x: torch.Tensor, z: torch.Tensor, n_real: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """D's three scores (s_x, s_z, s_xz) of the pairs (x, z) (2B rows, real first), each split
        into (real (B,), fake (B,)). D has no BatchNorm, so one pass is exactly two."""
        return [s.float().split(n_real) for s in self.discriminator(x, z)]

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images  # (B, C, S, S)
        n = len(x)
        g_turn = int(self.d_steps) % self.config.n_dis == 0
        z = self.latent(n, self.config.latent_dim)  # (B, latent_dim)
        with self.autocast(), torch.set_grad_enabled(g_turn):
            fake = self.generator(z)  # (B, C, S, S); graphs kept only when G/E step after this D step
            z_hat = self.encoder_sample(x)  # (B, latent_dim)
        with self.autocast():
            d_scores = self.scores(torch.cat([x, fake.detach()]), torch.cat([z_hat.detach(), z]), n)
            loss_d = sum(d_hinge(real, fake_s) for real, fake_s in d_scores)  # hinge per score, summed
        self.optimize(loss_d, "discriminator")
        self.d_steps += 1
        logs = {"loss/d": loss_d.detach()}
        for name, (real, fake_s) in zip(("x", "z", "xz"), d_scores):
            logs[f"d/gap_{name}"] = (real.mean() - fake_s.mean()).detach()  # real minus fake score
        if g_turn:
            with self.frozen(self.discriminator), self.autocast():
                eg_scores = self.scores(torch.cat([x, fake]), torch.cat([z_hat, z]), n)
                # Un-hinged, signs flipped: real pairs' scores pushed down, fake pairs' up.
                loss_eg = sum(real.mean() - fake_s.mean() for real, fake_s in eg_scores)
            self.optimize(loss_eg, "generator_encoder")
            logs["loss/g"] = loss_eg.detach()
        return logs

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        g = self.net("generator")
        with self.eval_mode(g):
            return g(z).float().clamp(-1, 1)  # (n, C, S, S)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """E's mean (B, latent_dim) for images `x` in [-1, 1]: the code probes and G(E(x)) read."""
        e = self.net("encoder")
        with self.eval_mode(e):
            return e(x)[0].float()

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """G(E(x)) for images `x` in [-1, 1]: what the pair E, G keeps of an image."""
        return self.generate(self.encode(x))  # (B, C, S, S)


__all__ = ["BigBiGAN", "BigBiGANConfig"]
