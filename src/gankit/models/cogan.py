"""Coupled Generative Adversarial Networks (Liu & Tuzel, arXiv 1606.07536).

The one idea: learn a joint distribution of two domains from unpaired samples of each, with two GANs whose
generators share their first layers (from z: the high-level content, e.g. which digit) and whose
discriminators share their last layers. Each GAN only sees its own domain, but the sharing makes one z
decode to the same content in both domains, so the pairs come for free.

Defaults: the paper's 28x28 digit nets (G shared deconvs 1024-512-256-128 + a 6x6 deconv per domain; D a
per-domain conv 20 + shared conv 50, FC 500), z 100, Adam 2e-4 betas (0.5, 0.999), weight decay 5e-4.

Deviations from the paper:
- tanh outputs in [-1, 1] instead of sigmoid in [0, 1] (the house image range).
- The `cpu` preset narrows G's shared layers 4x (256-128-64-32); D is the paper's.
- The proof recipe trains at 3x the paper's Adam rate (6e-4), decayed linearly to 0 over the second half.
- The proof runs train 38,000 steps, not the paper's 25,000.
- The MNIST-M side is read by a classifier trained on MNIST-M (`--data mnist-m` comes unaligned).
- Domain B of `--data mnist-m` is MNIST-M; `--data edges2digits` is the paper's MNIST/edge pair (unpaired).
- `sample` interleaves the two domains (A_0, B_0, A_1, B_1, ...) to keep the (N, C, S, S) contract.

Lab notes (what was tried and measured): docs/variants/cogan.md
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class CoGANConfig(Config):
    image_size: int = 28  # the paper's digit nets are built for 28x28
    channels_a: int = 1  # MNIST (or edge maps)
    channels_b: int = 3  # MNIST-M (1 for --data edges2digits: --set channels_b=1)
    latent_dim: int = 100
    g_width: int = 128  # channels of G's last shared layer; the shared layers are 8x, 4x, 2x, 1x this
    d_widths: tuple[int, int] = (20, 50)  # D: per-domain conv, shared conv
    d_hidden: int = 500
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 5e-4  # the authors' code, on G and D
    # capability: pairs generated, and steps of a judge trained on a side lenet-mnist cannot read
    eval_pairs: int = 2000
    judge_steps: int = 3000  # on all the side's training images: 98.4% on real MNIST-M, 97-98% on edges (800: 96%)
    translator_steps: int = 1500  # aligned data: the unreadable side -> plain digits, read by lenet-mnist

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "g_width": 2, "d_widths": (4, 4), "d_hidden": 8, "eval_pairs": 32,
                 "judge_steps": 5, "translator_steps": 5},
        "cpu": {"g_width": 32},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.image_size != 28:
            raise GankitError(f"cogan's nets are the paper's 28x28 digit nets: image_size must be 28, "
                              f"got {self.image_size}")
        for name in ("channels_a", "channels_b"):
            if getattr(self, name) not in (1, 3):
                raise GankitError(f"{name} must be 1 (gray) or 3 (RGB), got {getattr(self, name)}")


def xavier_init(module: nn.Module) -> None:
    """The authors' init: Xavier-uniform weights, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class CoupledGenerator(nn.Module):
    """z -> (image A, image B): a shared deconv trunk, then one last deconv layer per domain."""

    def __init__(self, c: CoGANConfig) -> None:
        super().__init__()
        w = c.g_width
        # The paper's first layer, a 4x4 deconv of the 1x1 z, is exactly a linear map to a 4x4 map
        # (and 5x faster on a CPU). BN without affine parameters, as in the authors' code.
        self.project = nn.Linear(c.latent_dim, 8 * w * 16)
        self.trunk = nn.Sequential(
            nn.BatchNorm2d(8 * w, affine=False), nn.PReLU(),  # (B, 8w, 4, 4)
            nn.ConvTranspose2d(8 * w, 4 * w, 3, 2, 1), nn.BatchNorm2d(4 * w, affine=False), nn.PReLU(),  # 7x7
            nn.ConvTranspose2d(4 * w, 2 * w, 3, 2, 1), nn.BatchNorm2d(2 * w, affine=False), nn.PReLU(),  # 13x13
            nn.ConvTranspose2d(2 * w, w, 3, 2, 1), nn.BatchNorm2d(w, affine=False), nn.PReLU(),  # 25x25
        )
        self.head_a = nn.Sequential(nn.ConvTranspose2d(w, c.channels_a, 6, 1, 1), nn.Tanh())  # (B, Ca, 28, 28)
        self.head_b = nn.Sequential(nn.ConvTranspose2d(w, c.channels_b, 6, 1, 1), nn.Tanh())  # (B, Cb, 28, 28)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(self.project(z).view(len(z), -1, 4, 4))  # (B, w, 25, 25), shared by both domains
        return self.head_a(h), self.head_b(h)


class CoupledDiscriminator(nn.Module):
    """One first conv layer per domain, then shared conv, FC and logit layers."""

    def __init__(self, c: CoGANConfig) -> None:
        super().__init__()
        w1, w2 = c.d_widths
        # No nonlinearity after the convs: max-pooling is the nonlinearity, as in the paper's table.
        self.stem_a = nn.Sequential(nn.Conv2d(c.channels_a, w1, 5), nn.MaxPool2d(2))  # (B, w1, 12, 12)
        self.stem_b = nn.Sequential(nn.Conv2d(c.channels_b, w1, 5), nn.MaxPool2d(2))
        self.trunk = nn.Sequential(
            nn.Conv2d(w1, w2, 5), nn.MaxPool2d(2), nn.Flatten(),  # (B, w2 * 4 * 4)
            nn.Linear(w2 * 16, c.d_hidden), nn.PReLU(),  # the FC 500 layer
            nn.Linear(c.d_hidden, 1),  # (B, 1)
        )

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits `(B_a,)`, `(B_b,)`; one pass through the shared layers (no BN: same as two)."""
        out = self.trunk(torch.cat([self.stem_a(a), self.stem_b(b)])).flatten()
        return out[: len(a)], out[len(a) :]

def repeat_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Gray `(B, 1, H, W)` repeated to `channels`; others pass through."""
    return x.expand(-1, channels, -1, -1) if x.shape[1] == 1 and channels > 1 else x


@register_model("cogan")
class CoGAN(GANModel):
    """Two GANs, G's first layers and D's last layers shared, one per domain."""

    config_class = CoGANConfig
    paper = "Coupled Generative Adversarial Networks"
    arxiv = "1606.07536"
    capabilities: ClassVar[tuple[str, ...]] = ('pair_agreement',)
    # Not "generate": its samples are pairs from two domains, scored in its capability; a one-domain
    # FID reference does not exist for mnist-m or edges2digits.
    data_needs = "unpaired"
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}

    def __init__(self, config: CoGANConfig) -> None:
        super().__init__(config)
        c = config
        self.generator = CoupledGenerator(c)
        self.discriminator = CoupledDiscriminator(c)
        xavier_init(self.generator)
        xavier_init(self.discriminator)
        self.optimizers = {
            "discriminator": adam(self.discriminator.parameters(), c.lr, c.betas, weight_decay=c.weight_decay),
            "generator": adam(self.generator.parameters(), c.lr, c.betas, weight_decay=c.weight_decay),
        }

    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels_a, image_size=c.image_size, pairing="unpaired", channels_b=c.channels_b)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        if batch.b is None:
            raise GankitError("cogan learns two domains at once: train it on two-domain data "
                              "(--data mnist-m, edges2digits, or an unaligned trainA/ trainB/ folder)")
        a, b = batch.images, batch.b  # (B, Ca, 28, 28), (B', Cb, 28, 28): unpaired
        z = self.latent(len(a), self.config.latent_dim)
        with self.autocast():
            fake_a, fake_b = self.generator(z)  # one z, one image per domain
            real_a_out, real_b_out = self.discriminator(a, b)
            fake_a_out, fake_b_out = self.discriminator(fake_a.detach(), fake_b.detach())
            loss_d_a, loss_d_b = d_bce(real_a_out, fake_a_out), d_bce(real_b_out, fake_b_out)
            loss_d = loss_d_a + loss_d_b
        self.optimize(loss_d, "discriminator")
        with self.autocast(), self.frozen(self.discriminator):
            out_a, out_b = self.discriminator(fake_a, fake_b)
            loss_g = g_nonsaturating(out_a) + g_nonsaturating(out_b)
        self.optimize(loss_g, "generator")
        return {"loss/d": loss_d.detach(), "loss/g": loss_g.detach(), "loss/d_a": loss_d_a.detach(),
                "loss/d_b": loss_d_b.detach(), "d/real_b": torch.sigmoid(real_b_out.detach().float()).mean(),
                "d/fake_b": torch.sigmoid(fake_b_out.detach().float()).mean()}

    @torch.no_grad()
    def pairs(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """`n` pairs from `n` z's: `(n, Ca, 28, 28)`, `(n, Cb, 28, 28)` in [-1, 1]."""
        g = self.net("generator")
        with self.eval_mode(g):
            a, b = g(self.latent(n, self.config.latent_dim, generator))
        return a.float().clamp(-1, 1), b.float().clamp(-1, 1)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` images `(n, C, 28, 28)`, C = max(channels_a, channels_b), interleaved A_0, B_0, A_1,
        B_1, ... from ceil(n / 2) z's (the gray side repeated to C): with `grid_nrow`'s even row
        length, `gankit sample --out x.png` writes pair grids directly (A left, B right). Callers that
        sample in chunks keep the pairs whole with even chunk sizes (`gankit sample`'s default 500)."""
        c = max(self.config.channels_a, self.config.channels_b)
        a, b = self.pairs(math.ceil(n / 2), generator)
        return torch.stack([repeat_channels(a, c), repeat_channels(b, c)], 1).flatten(0, 1)[:n]  # (n, C, 28, 28)

    def grid_nrow(self, n: int) -> int | None:
        """The square grid's row length rounded up to even, so no pair is split across rows."""
        return 2 * math.ceil(math.ceil(math.sqrt(n)) / 2)

