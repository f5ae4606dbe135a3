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

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_bce, feature_matching, g_nonsaturating
from gankit.models.base import Batch, DataSpec, GANModel, ZLatent
from gankit.nn import (
    DCGANDiscriminator,
    MLPDiscriminator,
    build_generator,
    check_dcgan_size,
    dcgan_init,
)
from gankit.nn.improved import MinibatchDiscriminator, ParameterHistory, VirtualBatchGenerator
from gankit.optim import adam
from gankit.registry import register_model

# Shared by the loss-family variants: the classic MLPs at 28x28 and a CPU-sized DCGAN at 32x32.
LOSS_FAMILY_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"latent_dim": 8, "image_size": 8, "g_width": 4, "d_width": 4, "g_hidden": (16, 32), "d_hidden": (32, 16)},
    "mlp": {"arch": "mlp", "image_size": 28, "latent_dim": 100},
    "conv": {"arch": "dcgan", "image_size": 32, "g_width": 32, "d_width": 32},
}


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
    d_norm: Literal["batch", "none"] = "batch"  # dcgan: D's normalisation
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1  # D steps per G step
    # Improved-GAN techniques (Salimans et al., arXiv 1606.03498), each off by default:
    feature_matching: bool = False  # G matches the batch mean of D's last hidden features of reals (3.1)
    minibatch_kernels: int = 0  # > 0: minibatch discrimination before D's last layer, kernels of 5 dims (3.2)
    historical_averaging: float = 0.0  # weight of ||theta - mean of past theta||^2, for G and D (3.3)
    label_smoothing: float = 0.0  # one-sided: D's target for reals is 1 - this (paper 0.1; BCE losses) (3.4)
    virtual_batchnorm: bool = False  # G's BatchNorms use a fixed reference batch of 64 noise vectors (3.4)

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_hidden": (16, 32), "d_hidden": (32, 16)},
    }
    # Applied when training on an image folder, before the user's own overrides.
    folder_defaults: ClassVar[dict[str, Any]] = {"image_size": 64, "channels": 3}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.arch == "dcgan":
            check_dcgan_size(self.image_size)
        if self.n_critic < 1:
            raise GankitError(f"n_critic must be at least 1, got {self.n_critic}")
        if self.minibatch_kernels < 0 or self.historical_averaging < 0:
            raise GankitError("minibatch_kernels and historical_averaging must be 0 (off) or positive")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise GankitError(f"label_smoothing must be in [0, 1) (paper: 0.1), got {self.label_smoothing}")


@register_model("gan")
class GAN(ZLatent, GANModel):
    config_class = GANConfig
    paper = "Generative Adversarial Nets"
    arxiv = "1406.2661"
    data_needs = "images"

    def __init__(self, config: GANConfig) -> None:
        super().__init__(config)
        self.generator, self.discriminator = self.build_networks(config)
        self.add_improved_techniques(config)
        self.optimizers = {
            "discriminator": adam(self.discriminator.parameters(), config.lr_d, config.betas),
            "generator": adam(self.generator.parameters(), config.lr_g, config.betas),
        }
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))  # drives n_critic; checkpointed
        # Without BatchNorm, one D pass over real and fake together is exactly two passes, and faster;
        # minibatch discrimination must see all-real and all-fake batches, as in the paper.
        self.joint_d_pass = not config.minibatch_kernels and not any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.discriminator.modules())

    def add_improved_techniques(self, c: GANConfig) -> None:
        """The Improved-GAN options that change the nets or keep state (the others act in train_step)."""
        chosen = [k for k in ("feature_matching", "minibatch_kernels", "historical_averaging", "label_smoothing",
                              "virtual_batchnorm") if getattr(c, k)]
        if chosen and type(self).train_step is not GAN.train_step:
            raise GankitError(f"{self.name} has a training step of its own, so {', '.join(chosen)} would be ignored: "
                              "the Improved-GAN options apply to gan, dcgan and the loss-family variants")
        if (c.feature_matching or c.minibatch_kernels) and not hasattr(self.discriminator, "features"):
            raise GankitError(f"{self.name}'s discriminator has no feature layer: feature_matching and "
                              "minibatch_kernels need D = features -> linear head")
        if c.label_smoothing and type(self).d_loss is not GAN.d_loss:
            raise GankitError(f"label_smoothing smooths the BCE target, and {self.name} trains D with another loss")
        if c.minibatch_kernels:
            self.discriminator = MinibatchDiscriminator(self.discriminator, c.minibatch_kernels)
        if c.virtual_batchnorm:
            with torch.random.fork_rng(devices=[]):  # the reference batch does not shift the nets' init
                torch.manual_seed(0)
                reference_z = torch.randn(64, c.latent_dim)  # (64, latent_dim), checkpointed
            self.generator = VirtualBatchGenerator(self.generator, reference_z)
        if c.historical_averaging:
            self.history = nn.ModuleDict({"generator": ParameterHistory(self.generator),
                                          "discriminator": ParameterHistory(self.discriminator)})

    @staticmethod
    def build_networks(config: GANConfig) -> tuple[nn.Module, nn.Module]:
        g = build_generator(config.arch, config.latent_dim, config.channels, config.image_size, config.g_hidden,
                            config.g_width)
        if config.arch == "mlp":
            return g, MLPDiscriminator((config.channels, config.image_size, config.image_size), config.d_hidden)
        d = DCGANDiscriminator(config.channels, config.image_size, config.d_width, norm=config.d_norm)
        dcgan_init(g)
        dcgan_init(d)
        return g, d

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    # ---- what the loss-family variants override --------------------------------------------
    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return d_bce(real_out, fake_out, real_target=1.0 - self.config.label_smoothing)

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return g_nonsaturating(fake_out)

    def d_penalties(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """Weighted regularisers added to D's loss, by log name (e.g. `penalty/gp`)."""
        return {}

    def after_d_step(self) -> None:
        """Runs after each D update (e.g. weight clipping)."""

    def d_stats(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> dict[str, torch.Tensor]:
        """Extra logged scalars about D's outputs (D's probabilities for sigmoid losses)."""
        return {"d/real": torch.sigmoid(real_out.float()).mean(), "d/fake": torch.sigmoid(fake_out.float()).mean()}

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real = batch.images  # (B, C, H, W)
        z = self.latent(real.shape[0], self.config.latent_dim)
        g_turn = int(self.d_steps) % self.config.n_critic == 0  # G steps once per n_critic D steps
        with self.autocast(), torch.set_grad_enabled(g_turn):
            fake = self.generator(z)  # G's graph is only kept when G steps after this D step
        with self.autocast():
            if self.joint_d_pass:
                real_out, fake_out = self.discriminator(torch.cat([real, fake.detach()])).split(real.shape[0])
            else:  # BatchNorm statistics stay per batch, as in the paper
                real_out, fake_out = self.discriminator(real), self.discriminator(fake.detach())
            loss_d = self.d_loss(real_out, fake_out)
            penalties = self.d_penalties(real, fake.detach())
            if self.config.historical_averaging:
                penalties["penalty/history"] = self.history_penalty("discriminator")
        self.optimize(loss_d + sum(penalties.values()), "discriminator")
        self.after_optimize("discriminator")
        self.after_d_step()
        self.d_steps += 1
        logs = {"loss/d": loss_d.detach(), **{k: v.detach() for k, v in penalties.items()},
                **{k: v.detach() for k, v in self.d_stats(real_out.detach(), fake_out.detach()).items()}}
        if g_turn:
            with self.frozen(self.discriminator), self.autocast():
                if self.config.feature_matching:
                    with torch.no_grad():
                        real_features = self.discriminator.features(real)  # (B, F)
                    loss_g = feature_matching(self.discriminator.features(fake), real_features)
                else:
                    loss_g = self.g_loss(self.discriminator(fake))
                total = loss_g
                if self.config.historical_averaging:
                    history = self.history_penalty("generator")
                    total = loss_g + history
                    logs["penalty/g_history"] = history.detach()
            self.optimize(total, "generator")
            self.after_optimize("generator")
            logs["loss/g"] = loss_g.detach()
        return logs

    def history_penalty(self, net: str) -> torch.Tensor:
        return self.config.historical_averaging * self.history[net].penalty(getattr(self, net))

    def after_optimize(self, net: str) -> None:
        if self.config.historical_averaging:
            self.history[net].update(getattr(self, net))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        g = self.net("generator")
        with self.eval_mode(g):
            return g(z).float().clamp(-1, 1)  # (n, C, H, W)
