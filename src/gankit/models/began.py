"""BEGAN: Boundary Equilibrium Generative Adversarial Networks (Berthelot et al., arXiv 1703.10717).

The one idea: D is an auto-encoder, and instead of matching data distributions the game
matches the distributions of auto-encoder losses L(v) = mean |v - D(v)|: D minimises
L(x) - k_t L(G(z)), G minimises L(G(z)), and the proportional controller
k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1) holds the equilibrium
E L(G(z)) = gamma E L(x) (gamma, the diversity ratio, 0.5; lambda_k = 0.001; k_0 = 0).
The convergence measure M = L(x) + |gamma L(x) - L(G(z))| is logged as `began/M`.
Defaults: conv nets at 32x32 with CPU-sized widths (`--preset mlp` for 28x28 MLPs), h = N_z = 64,
Adam lr 1e-4 (the paper's), betas (0.5, 0.999) as in common reimplementations.
Deviations from the paper:
- G is the DCGAN generator (BatchNorm, ReLU, tanh) or the classic MLP, not the paper's ELU decoder twin.
- D's conv AE: one conv per scale down to 4x4, transposed-conv upsampling (paper: two 3x3 convs, nearest).
- D's AE has BatchNorm (`ae_norm: batch`; paper: none, `--set ae_norm=none`): without it G collapsed to
  one image on MNIST in every CPU-budget run measured (conv, lr 2e-4, ~1000 steps: fid 5250-5520 vs 2790).
- z ~ N(0, I) (paper: U[-1, 1]); one z per step serves D's and G's losses (paper: z_D and z_G).
- No learning-rate halving when M stalls (the paper's schedule).
- D steps first, then G against the updated D (one-graph reimplementations step both at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn import build_generator, check_dcgan_size, dcgan_init
from gankit.nn.autoencoder import ConvAutoEncoder, MLPAutoEncoder
from gankit.optim import adam
from gankit.registry import register_model


def ae_loss(images: torch.Tensor, reconstructions: torch.Tensor) -> torch.Tensor:
    """BEGAN's L(v) with eta = 1, one value per image `(B,)`: mean |v - D(v)| over its pixels."""
    return (images - reconstructions).abs().flatten(1).mean(1)


def update_k(k: torch.Tensor, loss_real: torch.Tensor, loss_fake: torch.Tensor, gamma: float, lambda_k: float) -> torch.Tensor:
    """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1) (the paper's update for each step)."""
    return (k + lambda_k * (gamma * loss_real - loss_fake)).clamp(0.0, 1.0)


def convergence_measure(loss_real: torch.Tensor, loss_fake: torch.Tensor, gamma: float) -> torch.Tensor:
    """M_global = L(x) + |gamma L(x) - L(G(z))| (the paper's convergence measure): falls as training converges."""
    return loss_real + (gamma * loss_real - loss_fake).abs()


@dataclass
class BEGANConfig(Config):
    latent_dim: int = 64  # the paper's N_z = h = 64
    image_size: int = 32
    channels: int = 1
    arch: Literal["mlp", "conv"] = "conv"
    g_hidden: tuple[int, ...] = (128, 256, 512, 1024)  # mlp G
    g_width: int = 32  # conv G: channels of its last hidden layer
    ae_hidden: tuple[int, ...] = (256,)  # mlp D: encoder widths (the decoder mirrors them)
    ae_width: int = 32  # conv D: the paper's n, filters of the first layer
    code_dim: int = 64  # the paper's embedding size h
    ae_norm: Literal["none", "batch"] = "batch"  # BatchNorm in D's AE (a deviation, see above)
    gamma: float = 0.5  # diversity ratio E L(G(z)) / E L(x) held at equilibrium
    lambda_k: float = 0.001  # proportional gain of the k_t controller
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_width": 4, "ae_width": 4, "code_dim": 8,
                 "g_hidden": (16, 32), "ae_hidden": (16,)},
        "mlp": {"arch": "mlp", "image_size": 28},
        "conv": {"arch": "conv", "image_size": 32, "g_width": 32, "ae_width": 32},
    }
    folder_defaults: ClassVar[dict[str, Any]] = {"image_size": 64, "channels": 3}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.arch == "conv":
            check_dcgan_size(self.image_size)
        if not 0.0 < self.gamma <= 1.0:
            raise GankitError(f"gamma must be in (0, 1], got {self.gamma}")
        if self.lambda_k < 0:
            raise GankitError(f"lambda_k must be >= 0, got {self.lambda_k}")


@register_model("began")
class BEGAN(GANModel):
    config_class = BEGANConfig
    paper = "BEGAN: Boundary Equilibrium Generative Adversarial Networks"
    arxiv = "1703.10717"
    data_needs = "images"

    def __init__(self, config: BEGANConfig) -> None:
        super().__init__(config)
        shape = (config.channels, config.image_size, config.image_size)
        self.generator: nn.Module
        self.discriminator: nn.Module
        self.generator = build_generator(config.arch, config.latent_dim, config.channels, config.image_size,
                                         config.g_hidden, config.g_width)
        if config.arch == "mlp":
            self.discriminator = MLPAutoEncoder(shape, config.ae_hidden, config.code_dim, norm=config.ae_norm)
        else:
            dcgan_init(self.generator)
            self.discriminator = ConvAutoEncoder(config.channels, config.image_size, config.ae_width, config.code_dim,
                                                 norm=config.ae_norm)
        self.optimizers = {
            "discriminator": adam(self.discriminator.parameters(), config.lr_d, config.betas),
            "generator": adam(self.generator.parameters(), config.lr_g, config.betas),
        }
        # The controller's state: a buffer, so checkpoints resume it exactly.
        self.register_buffer("k", torch.zeros(()))

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        cfg = self.config
        real = batch.images  # (B, C, H, W)
        b = real.shape[0]
        z = self.latent(b, cfg.latent_dim)
        with self.autocast():
            fake = self.generator(z)  # (B, C, H, W)
            if cfg.ae_norm == "none":  # without BatchNorm, one pass over real and fake equals two passes
                both = torch.cat([real, fake.detach()])  # (2B, C, H, W)
                loss_real, loss_fake = ae_loss(both, self.discriminator(both)).float().split(b)
            else:  # BatchNorm statistics stay per batch
                loss_real = ae_loss(real, self.discriminator(real)).float()
                loss_fake = ae_loss(fake.detach(), self.discriminator(fake.detach())).float()
            loss_real, loss_fake = loss_real.mean(), loss_fake.mean()
            loss_d = loss_real - self.k * loss_fake
        self.optimize(loss_d, "discriminator")
        with self.frozen(self.discriminator), self.autocast():
            loss_g = ae_loss(fake, self.discriminator(fake)).float().mean()
        self.optimize(loss_g, "generator")
        stats = torch.stack([loss_real.detach(), loss_g.detach()])  # (2,): L(x), L(G(z))
        if self.grad_sync is not None:  # every process must step k_t with the same, global, losses
            self.grad_sync([stats])
        with torch.no_grad():
            self.k.copy_(update_k(self.k, stats[0], stats[1], cfg.gamma, cfg.lambda_k))
        return {
            "loss/d": loss_d.detach(),
            "loss/g": loss_g.detach(),
            "began/L_real": stats[0],
            "began/L_fake": stats[1],
            "began/k": self.k.detach().clone(),
            "began/M": convergence_measure(stats[0], stats[1], cfg.gamma),
        }

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        g = self.net("generator")
        with self.eval_mode(g):
            images = g(self.latent(n, self.config.latent_dim, generator))
        return images.float().clamp(-1, 1)  # (n, C, H, W)
