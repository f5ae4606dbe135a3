"""Conditional Generative Adversarial Nets (Mirza & Osindero, arXiv 1411.1784).

The one idea: feed the class label y to both players, G(z, y) and D(x, y), so D judges
(image, label) pairs and G must draw the class it is asked for. Here y is one-hot and
concatenated: to z for G; to the flattened pixels (MLP) or as K constant maps on the image's
channels (conv) for D. Fake images reuse the real batch's labels, so both halves of D's batch
have the same class mix. Proof: lenet-mnist recognises the requested digit in 10,000
generated images (1,000 per class).
Deviations from the paper:
- The classic GAN MLPs (LeakyReLU, BatchNorm in G) replace its maxout/dropout nets, and Adam
  2e-4 (0.5, 0.999) its SGD with momentum and decay: the tuned schedule is not published.
- The `cpu` preset (learning test, proof) is a DCGAN-style conv net at 32x32 (width 16), which
  draws recognisable digits in a few thousand steps where the MLP needs far more (the MLP
  was at label_acc 0.40 after 2,000 steps, the conv net at 0.64 after 1,000).
Measured at width 16 (seed 0, 2,000 samples): label_acc 0.62 / 0.82 / 0.87 / 0.91 at 1k-4k
steps, still rising but short of 97% (ACGAN at 1k steps: 0.773 at width 16, 0.885 at width 32).
Hence the proof recipe's width 32: label_acc 0.968 after 3,000 steps and 0.983 on 10,000
samples after 4,500 (seed 0, 8 min; benchmarks/results/proofs.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch, ClassRowsGrid, DataSpec, GANModel, check_class_labels
from gankit.nn import check_dcgan_size, dcgan_init
from gankit.nn.conditional import LabelConcatDiscriminator, LabelConcatGenerator
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class CGANConfig(Config):
    latent_dim: int = 100
    num_classes: int = 10
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

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_hidden": (16, 32), "d_hidden": (32, 16)},
        "cpu": {"arch": "dcgan", "image_size": 32, "g_width": 16, "d_width": 16},
    }
    # Image folders with one subfolder per class; set num_classes to their number.
    folder_defaults: ClassVar[dict[str, Any]] = {"arch": "dcgan", "image_size": 64, "channels": 3}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.num_classes < 2:
            raise GankitError(f"num_classes must be at least 2, got {self.num_classes}")
        if self.arch == "dcgan":
            check_dcgan_size(self.image_size)


@register_model("cgan")
class CGAN(ClassRowsGrid, GANModel):
    config_class = CGANConfig
    paper = "Conditional Generative Adversarial Nets"
    arxiv = "1411.1784"
    capabilities: ClassVar[tuple[str, ...]] = ('label_acc',)
    data_needs = "images+labels"

    def __init__(self, config: CGANConfig) -> None:
        super().__init__(config)
        self.generator = LabelConcatGenerator(config.arch, config.latent_dim, config.num_classes, config.channels,
                                              config.image_size, config.g_hidden, config.g_width)
        self.discriminator = self.build_discriminator(config)
        if config.arch == "dcgan":
            dcgan_init(self.generator)
            dcgan_init(self.discriminator)
        self.optimizers = {
            "discriminator": adam(self.discriminator.parameters(), config.lr_d, config.betas),
            "generator": adam(self.generator.parameters(), config.lr_g, config.betas),
        }
        # Without BatchNorm, one D pass over real and fake together is exactly two passes, and faster.
        self.joint_d_pass = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.discriminator.modules())

    def build_discriminator(self, config: CGANConfig) -> nn.Module:
        return LabelConcatDiscriminator(config.arch, config.channels, config.image_size, config.num_classes,
                                        config.d_hidden, config.d_width, norm=config.d_norm)

    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels, image_size=c.image_size, needs_labels=True, num_classes=c.num_classes)

    def batch_labels(self, batch: Batch) -> torch.Tensor:
        if batch.labels is None:
            raise GankitError(f"{self.name} trains on labelled images: the batch has no labels")
        return batch.labels  # (B,)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real, y = batch.images, self.batch_labels(batch)  # (B, C, H, W), (B,)
        z = self.latent(real.shape[0], self.config.latent_dim)
        with self.autocast():
            fake = self.generator(z, y)  # (B, C, H, W); fakes are drawn for the real batch's labels
            if self.joint_d_pass:
                real_out, fake_out = self.discriminator(torch.cat([real, fake.detach()]), torch.cat([y, y])).split(len(y))
            else:  # BatchNorm statistics stay per batch, as in DCGAN
                real_out, fake_out = self.discriminator(real, y), self.discriminator(fake.detach(), y)
            loss_d = d_bce(real_out, fake_out)
        self.optimize(loss_d, "discriminator")
        return self.generator_step(fake, y, loss_d, real_out, fake_out)

    def generator_step(self, fake: torch.Tensor, y: torch.Tensor, loss_d: torch.Tensor, real_out: torch.Tensor,
                       fake_out: torch.Tensor) -> dict[str, torch.Tensor]:
        """G's non-saturating step on `fake` (B, C, H, W) drawn for labels `y` (B,), and the step's logs."""
        with self.frozen(self.discriminator), self.autocast():
            loss_g = g_nonsaturating(self.discriminator(fake, y))
        self.optimize(loss_g, "generator")
        return {"loss/d": loss_d.detach(), "loss/g": loss_g.detach(),
                "d/real": torch.sigmoid(real_out.detach().float()).mean(),
                "d/fake": torch.sigmoid(fake_out.detach().float()).mean()}

    # ---- sampling by class -----------------------------------------------------------------
    def check_labels(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        """The labels to draw, on the model's device: `labels` checked, or 0..K-1 cycled."""
        return check_class_labels(labels, n, self.config.num_classes, self.device)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        y = self.check_labels(n, labels)
        g = self.net("generator")
        with self.eval_mode(g):
            images = g(self.latent(n, self.config.latent_dim, generator), y)
        return images.float().clamp(-1, 1)  # (n, C, H, W)
