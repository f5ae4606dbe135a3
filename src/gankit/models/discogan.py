"""Learning to Discover Cross-Domain Relations with Generative Adversarial Networks (Kim et al.,
arXiv 1703.05192).

The one idea: two GANs coupled by reconstruction in both directions (A -> B -> A and
B -> A -> B) discover a one-to-one relation between unpaired domains, avoiding the mode
collapse of a single direction. Nets: conv encoder / deconv decoder G (BN, LeakyReLU 0.2 down,
ReLU up, no skips), conv D with BN; Adam 2e-4, betas (0.5, 0.999), weight decay 1e-5.
Losses as in the authors' reference code: per direction, G minimises
(0.1 * GAN + 0.9 * feature matching) * (1 - rate) + rate * reconstruction (MSE), where feature
matching compares batch-mean D features of real and translated images layer by layer (it keeps G
from collapsing onto a few outputs) and `rate` is 0.01 for the first `curriculum_steps`, then
0.5; D (BCE) steps once for every two G steps (the reference's update_interval 3).
Deviation: the `digits` preset shortens the curriculum from 10,000 to 1,000 steps, to fit a CPU run.
Proof (recipe below, seed 0; about 35 min on one thread under heavy load): MNIST-M -> MNIST keeps the
digit for 88.0% of held-out images (lenet-mnist; untranslated: 50.8%), A -> B -> A for 97.1%,
fid[lenet-mnist] of translations 97 (untranslated 1194). Without feature matching and the
schedule (equal GAN and reconstruction weights), the generators collapsed within 600 steps and
kept the digit only at chance.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch
from gankit.models.two_way import TwoWayTranslator
from gankit.nn import DCGANDiscriminator, check_dcgan_size, dcgan_init
from gankit.nn.translation import ConvEncoderDecoder
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class DiscoGANConfig(Config):
    image_size: int = 64
    channels_a: int = 3
    channels_b: int = 3
    g_width: int = 64
    g_depth: int = 4  # 64px -> 4x4 code
    d_width: int = 64
    gan_weight: float = 0.1  # of the adversarial part; feature matching gets the rest
    recon_rate_start: float = 0.01  # reconstruction's share of G's loss during the curriculum
    recon_rate: float = 0.5  # ... and after it
    curriculum_steps: int = 10_000
    g_steps_per_d: int = 2
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 1e-5  # reference code
    grid_examples: int = 8

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"image_size": 8, "channels_a": 1, "channels_b": 3, "g_width": 4, "g_depth": 2, "d_width": 4,
                 "grid_examples": 4},
        "digits": {"image_size": 32, "channels_a": 1, "channels_b": 3, "g_width": 32, "g_depth": 3, "d_width": 32,
                   "curriculum_steps": 1000},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        check_dcgan_size(self.image_size)
        if self.image_size % 2**self.g_depth:
            raise GankitError(f"image_size {self.image_size} must be a multiple of 2**g_depth = {2**self.g_depth}")
        if not (0 <= self.gan_weight <= 1 and 0 <= self.recon_rate_start <= 1 and 0 <= self.recon_rate <= 1):
            raise GankitError("gan_weight, recon_rate_start and recon_rate are shares: each must lie in [0, 1]")
        if self.g_steps_per_d < 1:
            raise GankitError(f"g_steps_per_d must be at least 1, got {self.g_steps_per_d}")


def features_and_logits(d: DCGANDiscriminator, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """D's activations after each normalised block (what the reference matches) and its logits (B,)."""
    feats: list[torch.Tensor] = []
    h = x
    for i, layer in enumerate(d.trunk):
        h = layer(h)
        if isinstance(layer, nn.LeakyReLU) and i > 1:  # skip the first block: it has no BN
            feats.append(h)
    return feats, d.head(h).flatten()


def feature_matching(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """Sum over layers of the mean squared gap between batch-mean features (0 for a D too shallow to have any)."""
    gaps = [((r.detach().mean(0) - f.mean(0)) ** 2).mean() for r, f in zip(real, fake)]
    return torch.stack(gaps).sum() if gaps else torch.zeros(())


@register_model("discogan")
class DiscoGAN(TwoWayTranslator):
    config_class = DiscoGANConfig
    paper = "Learning to Discover Cross-Domain Relations with Generative Adversarial Networks"
    arxiv = "1703.05192"
    capabilities: ClassVar[tuple[str, ...]] = ('two_way_translation',)
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}

    def __init__(self, config: DiscoGANConfig) -> None:
        super().__init__(config)
        for net in (self.g_ab, self.g_ba, self.d_a, self.d_b):
            dcgan_init(net)
        c = config
        gens = itertools.chain(self.g_ab.parameters(), self.g_ba.parameters())
        discs = itertools.chain(self.d_a.parameters(), self.d_b.parameters())
        self.optimizers = {"generators": adam(gens, c.lr, c.betas, weight_decay=c.weight_decay),
                           "discriminators": adam(discs, c.lr, c.betas, weight_decay=c.weight_decay)}

    def build_networks(self, c: DiscoGANConfig) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
        return (ConvEncoderDecoder(c.channels_a, c.channels_b, c.g_depth, c.g_width),
                ConvEncoderDecoder(c.channels_b, c.channels_a, c.g_depth, c.g_width),
                DCGANDiscriminator(c.channels_a, c.image_size, c.d_width),
                DCGANDiscriminator(c.channels_b, c.image_size, c.d_width))

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return d_bce(real_out, fake_out)

    def g_adv_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return g_nonsaturating(fake_out)

    def recon_loss(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(x, target)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        a, b = batch.images, batch.b  # (B, Ca, S, S), (B', Cb, S, S): unaligned
        c = self.config
        self.examples.keep(a, b)
        step = int(self.d_steps)  # counts train steps here
        rate = c.recon_rate_start if step < c.curriculum_steps else c.recon_rate
        with self.autocast():
            fake_b, fake_a = self.g_ab(a), self.g_ba(b)
            with self.frozen(self.d_a, self.d_b):
                real_feats_b, _ = features_and_logits(self.d_b, b)
                fake_feats_b, fake_logits_b = features_and_logits(self.d_b, fake_b)
                real_feats_a, _ = features_and_logits(self.d_a, a)
                fake_feats_a, fake_logits_a = features_and_logits(self.d_a, fake_a)
                adv = g_nonsaturating(fake_logits_b) + g_nonsaturating(fake_logits_a)
                fm = feature_matching(real_feats_b, fake_feats_b) + feature_matching(real_feats_a, fake_feats_a)
                cycle_a = self.recon_loss(self.g_ba(fake_b), a)
                cycle_b = self.recon_loss(self.g_ab(fake_a), b)
                loss_g = (c.gan_weight * adv + (1 - c.gan_weight) * fm) * (1 - rate) + rate * (cycle_a + cycle_b)
        self.optimize(loss_g, "generators")
        logs = {"loss/g": loss_g.detach(), "loss/g_adv": adv.detach(), "loss/feature_matching": fm.detach(),
                "loss/cycle_a": cycle_a.detach(), "loss/cycle_b": cycle_b.detach()}
        if step % c.g_steps_per_d == 0:
            with self.autocast():
                loss_d_a = self.d_loss(self.d_a(a), self.d_a(fake_a.detach()))
                loss_d_b = self.d_loss(self.d_b(b), self.d_b(fake_b.detach()))
            self.optimize(loss_d_a + loss_d_b, "discriminators")
            logs.update({"loss/d": (loss_d_a + loss_d_b).detach(), "loss/d_a": loss_d_a.detach(),
                         "loss/d_b": loss_d_b.detach()})
        self.d_steps += 1
        return logs
