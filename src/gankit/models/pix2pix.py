"""Image-to-Image Translation with Conditional Adversarial Networks (Isola et al., arXiv 1611.07004).

The one idea: a conditional GAN whose D judges (input, output) pairs patch by patch (PatchGAN)
gives sharp outputs where L1 alone gives blur; L1 (weight 100) keeps outputs near the target.
G is a U-Net with skips; dropout is its only noise. Adam 2e-4, betas (0.5, 0.999), D's loss
halved. `gan_weight=0` is the paper's L1-only ablation (D is then not trained).
Batch 1 by default, as in the paper (batch norm then acts like instance norm); the embedded
digits task trains at batch 32 (`--batch-size 32`).
Deviation: outputs are computed in eval mode (no test-time dropout), so translations are
deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn import dcgan_init
from gankit.nn.translation import ExamplePairs, PatchDiscriminator, UNetGenerator, unet_depth
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class Pix2PixConfig(Config):
    image_size: int = 256
    channels_a: int = 3  # input domain
    channels_b: int = 3  # output domain
    g_width: int = 64
    d_width: int = 64
    d_layers: int = 3  # 3: 70x70 patches; 2: 34x34; 1: 16x16 (for small images)
    norm: Literal["batch", "instance", "none"] = "batch"
    dropout: float = 0.5
    l1_weight: float = 100.0
    gan_weight: float = 1.0  # 0: the L1-only ablation
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    grid_examples: int = 8  # fixed training inputs shown in the sample grids

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"image_size": 8, "channels_a": 1, "channels_b": 3, "g_width": 4, "d_width": 4, "d_layers": 1,
                 "grid_examples": 4},
        # edges2digits at 32x32: 34x34 patches cover the digit, widths sized for a CPU.
        "digits": {"image_size": 32, "channels_a": 1, "channels_b": 1, "g_width": 16, "d_width": 16, "d_layers": 2},
    }
    folder_defaults: ClassVar[dict[str, Any]] = {}

    def __post_init__(self) -> None:
        super().__post_init__()
        unet_depth(self.image_size)
        check_channels(self.channels_a, self.channels_b)
        if self.d_layers < 1:
            raise GankitError(f"d_layers must be at least 1, got {self.d_layers}")


@register_model("pix2pix")
class Pix2Pix(GANModel):
    config_class = Pix2PixConfig
    paper = "Image-to-Image Translation with Conditional Adversarial Networks"
    arxiv = "1611.07004"
    capabilities: ClassVar[tuple[str, ...]] = ('paired_translation',)
    data_needs = "paired"
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 1}  # the paper's; the digits task uses 32

    def __init__(self, config: Pix2PixConfig) -> None:
        super().__init__(config)
        c = config
        self.generator = UNetGenerator(c.channels_a, c.channels_b, unet_depth(c.image_size), c.g_width,
                                       norm=c.norm, dropout=c.dropout)
        # D sees the input and the (real or generated) output stacked on the channel axis.
        self.discriminator = PatchDiscriminator(c.channels_a + c.channels_b, c.d_width, c.d_layers, c.norm)
        dcgan_init(self.generator)
        dcgan_init(self.discriminator)
        self.optimizers = {"generator": adam(self.generator.parameters(), c.lr, c.betas)}
        if c.gan_weight > 0:
            self.optimizers["discriminator"] = adam(self.discriminator.parameters(), c.lr, c.betas)
        else:
            self.discriminator.requires_grad_(False)  # the L1-only ablation has no adversary
        self.examples = ExamplePairs(c.grid_examples, c.channels_a, c.channels_b, c.image_size)

    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels_a, image_size=c.image_size, pairing="paired", channels_b=c.channels_b)

    def size_multiple(self) -> int:
        return self.generator.size_multiple

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x, y = batch.images, batch.b  # (B, Ca, S, S), (B, Cb, S, S)
        self.examples.keep(x, y)
        c = self.config
        with self.autocast():
            fake = self.generator(x)
        logs: dict[str, torch.Tensor] = {}
        if c.gan_weight > 0:
            with self.autocast():
                real_out = self.discriminator(torch.cat([x, y], 1))
                fake_out = self.discriminator(torch.cat([x, fake.detach()], 1))
                loss_d = 0.5 * d_bce(real_out, fake_out)  # halved: D learns slower than G (paper)
            self.optimize(loss_d, "discriminator")
            logs["loss/d"] = loss_d.detach()
            logs["d/real"] = torch.sigmoid(real_out.detach().float()).mean()
            logs["d/fake"] = torch.sigmoid(fake_out.detach().float()).mean()
        with self.autocast():
            loss_l1 = F.l1_loss(fake, y)
            loss_g = c.l1_weight * loss_l1
            if c.gan_weight > 0:
                with self.frozen(self.discriminator):
                    loss_adv = g_nonsaturating(self.discriminator(torch.cat([x, fake], 1)))
                loss_g = loss_g + c.gan_weight * loss_adv
                logs["loss/g_adv"] = loss_adv.detach()
        self.optimize(loss_g, "generator")
        logs["loss/g"] = loss_g.detach()
        logs["loss/l1"] = loss_l1.detach()
        return logs

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        if direction != "AtoB":
            raise GankitError("pix2pix learns one direction: train another run with --direction BtoA for the other")
        g = self.net("generator")
        with self.eval_mode(g):
            return g(x).float().clamp(-1, 1)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Translations of the fixed example inputs kept from the first training batch (cycled to n)."""
        return self.translate(self.examples.cycled(n))  # (n, Cb, S, S)

    def preview(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int | None]:
        out = self.sample(len(self.examples.a))
        rgb = max(self.config.channels_a, self.config.channels_b) == 3
        row = [t.expand(-1, 3, -1, -1) if rgb else t for t in (self.examples.a, out, self.examples.b)]
        return torch.stack(row, 1).flatten(0, 1), 3  # rows of input | output | target
