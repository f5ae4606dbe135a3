"""Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks (Zhu et al.,
arXiv 1703.10593).

The one idea: with no pairs to compare against, two mappings G: A -> B and F: B -> A are trained
so each fools its domain's discriminator and F(G(a)) ~ a, G(F(b)) ~ b (cycle consistency, L1,
lambda 10), which rules out mappings that forget the input. Paper defaults: ResNet G (9 blocks at
256px, 6 at 128px), 70x70 PatchGAN, LSGAN loss, identity loss 0.5 * lambda, D trained on a pool
of 50 past fakes with its loss halved, Adam 2e-4 betas (0.5, 0.999), batch 1, instance norm,
lr constant for half the run then linear decay to 0.
Deviation: the `digits` preset (MNIST <-> MNIST-M at 32px) trains at batch 16 and has no identity loss,
since the domains differ in channel count (1 vs 3), where an identity mapping is undefined.
Proof (recipe below, seed 0; 2,500 steps, 46 min on 2 threads under heavy load, about 15 min idle):
MNIST-M -> MNIST keeps the digit for 92.6% of held-out images (lenet-mnist; untranslated: 50.8%),
the A -> B -> A cycle for 98.4% (benchmarks/results/proofs.md). 1,500 steps gave 89.7%.

`TwoWayTranslator` is the shared machinery of the two-way variants (DiscoGAN and DualGAN
subclass it with their own networks, losses and optimizers).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.losses import d_least_squares
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn.translation import ExamplePairs, ImagePool, PatchDiscriminator, ResnetGenerator
from gankit.optim import adam
from gankit.registry import register_model


class TwoWayTranslator(GANModel):
    """G_ab: A -> B, G_ba: B -> A, D_a, D_b; cycle reconstruction in both directions.

    Subclasses set `build_networks`, the adversarial losses and the optimizers.
    """

    task = "translate"
    data_needs = "unpaired"
    ema_targets = ("g_ab", "g_ba")

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.g_ab, self.g_ba, self.d_a, self.d_b = self.build_networks(config)
        self.examples = ExamplePairs(config.grid_examples, config.channels_a, config.channels_b, config.image_size)
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))

    # ---- what variants define ---------------------------------------------------------------
    def build_networks(self, config: Config) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
        raise NotImplementedError

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_adv_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def recon_loss(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(x, target)

    def fakes_for_d(self, fake_a: torch.Tensor, fake_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return fake_a, fake_b

    def after_d_step(self) -> None:
        """E.g. weight clipping for WGAN critics."""

    # ---- shared ---------------------------------------------------------------------------
    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels_a, image_size=c.image_size, pairing="unpaired", channels_b=c.channels_b)

    def size_multiple(self) -> int:
        return getattr(self.g_ab, "size_multiple", 1)

    def identity_terms(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor | None:
        return None

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        a, b = batch.images, batch.b  # (B, Ca, S, S), (B', Cb, S, S): unaligned
        c = self.config
        self.examples.keep(a, b)
        g_turn = int(self.d_steps) % getattr(c, "n_critic", 1) == 0
        logs: dict[str, torch.Tensor] = {}
        with self.autocast(), torch.set_grad_enabled(g_turn):
            fake_b, fake_a = self.g_ab(a), self.g_ba(b)
        if g_turn:
            with self.autocast(), self.frozen(self.d_a, self.d_b):
                adv = self.g_adv_loss(self.d_b(fake_b)) + self.g_adv_loss(self.d_a(fake_a))
                cycle_a = self.recon_loss(self.g_ba(fake_b), a)
                cycle_b = self.recon_loss(self.g_ab(fake_a), b)
                loss_g = adv + c.cycle_weight_a * cycle_a + c.cycle_weight_b * cycle_b
                identity = self.identity_terms(a, b)
                if identity is not None:
                    loss_g = loss_g + identity
                    logs["loss/identity"] = identity.detach()
            self.optimize(loss_g, "generators")
            logs.update({"loss/g": loss_g.detach(), "loss/g_adv": adv.detach(), "loss/cycle_a": cycle_a.detach(),
                         "loss/cycle_b": cycle_b.detach()})
        pool_a, pool_b = self.fakes_for_d(fake_a.detach(), fake_b.detach())
        with self.autocast():
            loss_d_a = self.d_loss(self.d_a(a), self.d_a(pool_a))
            loss_d_b = self.d_loss(self.d_b(b), self.d_b(pool_b))
        self.optimize(loss_d_a + loss_d_b, "discriminators")
        self.after_d_step()
        self.d_steps += 1
        logs.update({"loss/d": (loss_d_a + loss_d_b).detach(), "loss/d_a": loss_d_a.detach(), "loss/d_b": loss_d_b.detach()})
        return logs

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        if direction not in ("AtoB", "BtoA"):
            raise GankitError(f"direction must be AtoB or BtoA, got {direction!r}")
        g = self.net("g_ab" if direction == "AtoB" else "g_ba")
        with self.eval_mode(g):
            return g(x).float().clamp(-1, 1)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Domain-B translations of the fixed example A inputs from the first training batch (cycled)."""
        return self.translate(self.examples.cycled(n), "AtoB")  # (n, Cb, S, S)

    def preview(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int | None]:
        """Rows: a | G_ab(a) | G_ba(G_ab(a)) | b | G_ba(b) | G_ab(G_ba(b)), all shown in RGB."""
        a, b = self.examples.a, self.examples.b
        ab = self.translate(a, "AtoB")
        ba = self.translate(b, "BtoA")
        cols = [a, ab, self.translate(ab, "BtoA"), b, ba, self.translate(ba, "AtoB")]
        return torch.stack([t.expand(-1, 3, -1, -1) for t in cols], 1).flatten(0, 1), len(cols)

@dataclass
class CycleGANConfig(Config):
    image_size: int = 256
    channels_a: int = 3
    channels_b: int = 3
    g_width: int = 64
    g_blocks: int = 9  # 6 at 128px
    d_width: int = 64
    d_layers: int = 3  # 70x70 patches
    norm: Literal["instance", "batch", "none"] = "instance"
    cycle_weight_a: float = 10.0
    cycle_weight_b: float = 10.0
    identity_weight: float = 0.5  # times the cycle weight
    pool_size: int = 50
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    grid_examples: int = 8

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"image_size": 8, "channels_a": 1, "channels_b": 3, "g_width": 4, "g_blocks": 1, "d_width": 4,
                 "d_layers": 1, "identity_weight": 0.0, "pool_size": 4, "grid_examples": 4},
        "digits": {"image_size": 32, "channels_a": 1, "channels_b": 3, "g_width": 16, "g_blocks": 6, "d_width": 32,
                   "d_layers": 2, "identity_weight": 0.0},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.identity_weight > 0 and self.channels_a != self.channels_b:
            raise GankitError("the identity loss needs both domains to have the same channels: "
                              "--set identity_weight=0 for domains like gray MNIST and colour MNIST-M")


@register_model("cyclegan")
class CycleGAN(TwoWayTranslator):
    config_class = CycleGANConfig
    paper = "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks"
    arxiv = "1703.10593"
    capabilities: ClassVar[tuple[str, ...]] = ('two_way_translation',)
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 1, "lr_decay_from": 0.5}

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__(config)
        shape_a = (config.channels_a, config.image_size, config.image_size)
        shape_b = (config.channels_b, config.image_size, config.image_size)
        self.pool_a, self.pool_b = ImagePool(config.pool_size, shape_a), ImagePool(config.pool_size, shape_b)
        for m in self.modules():  # N(0, 0.02) as in the reference code
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.optimizers = {
            "generators": adam(itertools.chain(self.g_ab.parameters(), self.g_ba.parameters()), config.lr, config.betas),
            "discriminators": adam(itertools.chain(self.d_a.parameters(), self.d_b.parameters()), config.lr, config.betas),
        }

    def build_networks(self, c: CycleGANConfig) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
        return (ResnetGenerator(c.channels_a, c.channels_b, c.g_width, c.g_blocks, c.norm),
                ResnetGenerator(c.channels_b, c.channels_a, c.g_width, c.g_blocks, c.norm),
                PatchDiscriminator(c.channels_a, c.d_width, c.d_layers, c.norm),
                PatchDiscriminator(c.channels_b, c.d_width, c.d_layers, c.norm))

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return d_least_squares(real_out, fake_out)  # 1/2 (D(x) - 1)^2 + 1/2 D(fake)^2: the paper's halved D loss

    def g_adv_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(fake_out, torch.ones_like(fake_out))  # (D(G(a)) - 1)^2, unhalved as in the reference

    def fakes_for_d(self, fake_a: torch.Tensor, fake_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pool_a.query(fake_a), self.pool_b.query(fake_b)

    def identity_terms(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor | None:
        c = self.config
        if c.identity_weight <= 0:
            return None
        # G_ab should leave an image that is already in B unchanged (and G_ba for A): keeps colours.
        return c.identity_weight * (c.cycle_weight_a * F.l1_loss(self.g_ba(a), a) + c.cycle_weight_b * F.l1_loss(self.g_ab(b), b))
