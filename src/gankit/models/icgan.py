"""Invertible Conditional GANs for image editing (Perarnau et al., arXiv 1611.06355).

The one idea: a cGAN G(z, y) cannot read a real image, so train two encoders that invert it,
E_z (style: x -> z) and E_y (class: x -> y); then edit a real image by re-rendering it as
G(E_z(x), y') with the class y' asked for. Training is staged: "cgan" trains G and D; "encoders"
trains E_z and E_y with G and D frozen. E_z minimises ||z - E_z(G(z, y))||^2 on G's own samples (no
real image has a known z); E_y learns y from real labelled images (`ey_data="real"`, what the paper
found better and its code does), or from G's samples (`ey_data="generated"`).

Defaults (paper / Guim3/IcGAN): DCGAN nets, z 100-d, y one-hot at G's input and, in D, as K
constant maps stacked on the first conv layer's output (the best place in the paper's ablation);
D also learns to reject real images with a wrong label (`wrong_labels`); Adam 2e-4 (0.5, 0.999)
for the cGAN, 1e-4 (0.1, 0.999) for the encoders; 25 epochs of MNIST (23,450 steps at batch 64)
then 15 (14,070).
Deviations from the paper:
- Encoders are DCGAN discriminators with D outputs (4x4 convs, LeakyReLU), not 5x5 convs + FC 512.
- E_y is trained with cross-entropy on class logits (the code: MSE on +-1 label vectors).
- If the engine keeps an EMA of G, the live G takes the EMA weights when the encoders stage starts,
  so the G the encoders invert is the one that samples and edits.
- `cpu` preset: 32 px, G/D width 32 (cgan's proof width), encoders 16, 8,000 + 6,000 steps, encoder Adam
  2e-4 (0.5, 0.999) for the shorter budget (see the recipe and docs/variants/icgan.md).

Lab notes: docs/variants/icgan.md
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError
from gankit.losses import d_bce
from gankit.models.base import Batch, Stage, StageProgress
from gankit.models.cgan import CGAN, CGANConfig
from gankit.nn import DCGANDiscriminator, dcgan_init
from gankit.nn.conditional import one_hot
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class ICGANConfig(CGANConfig):
    image_size: int = 32
    arch: Literal["mlp", "dcgan"] = "dcgan"  # the first-layer label injection needs the conv D
    e_width: int = 32  # channels of the encoders' first layer (the code's nf)
    gan_steps: int = 23_450  # stage "cgan": 25 MNIST epochs at batch 64
    encoder_steps: int = 14_070  # stage "encoders": 15 epochs
    ey_data: Literal["real", "generated"] = "real"  # what E_y learns the class from
    wrong_labels: bool = True  # D also sees real images with a wrong label, as fakes
    lr_e: float = 1e-4
    betas_e: tuple[float, float] = (0.1, 0.999)

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4, "e_width": 4,
                 "gan_steps": 2, "encoder_steps": 2},
        "cpu": {"image_size": 32, "g_width": 32, "d_width": 32, "e_width": 16, "gan_steps": 8000,
                "encoder_steps": 6000, "lr_e": 2e-4, "betas_e": (0.5, 0.999)},
    }
    folder_defaults: ClassVar[dict[str, Any]] = {"image_size": 64, "channels": 3}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.arch != "dcgan":
            raise GankitError("icgan puts the label after D's first conv layer: arch must be dcgan")
        if self.image_size < 16:
            raise GankitError(f"icgan's D needs image_size >= 16 (a power of two), got {self.image_size}")
        if self.gan_steps < 0 or self.encoder_steps < 1 or self.e_width < 1:
            raise GankitError("gan_steps >= 0, encoder_steps >= 1 and e_width >= 1 are required")


class FirstLayerLabelDiscriminator(nn.Module):
    """D(x, y): one stride-2 conv on the image, then y as K constant maps on its output, then the
    rest of a DCGAN D at half the size (the code's layout)."""

    def __init__(self, channels: int, image_size: int, num_classes: int, width: int, norm: str) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.first = nn.Sequential(nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True))
        self.rest = DCGANDiscriminator(width + num_classes, image_size // 2, width * 2, norm=norm)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.first(x)  # (B, W, S/2, S/2)
        y = one_hot(labels, self.num_classes, h.dtype)[:, :, None, None].expand(-1, -1, *h.shape[2:])  # (B, K, S/2, S/2)
        return self.rest(torch.cat([h, y], 1))  # (B,) logits


@register_model("icgan")
class ICGAN(CGAN):
    config_class = ICGANConfig
    paper = "Invertible Conditional GANs for image editing"
    arxiv = "1611.06355"
    capabilities: ClassVar[tuple[str, ...]] = ("label_edits",)

    def __init__(self, config: ICGANConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder_z = DCGANDiscriminator(c.channels, c.image_size, c.e_width, out_features=c.latent_dim)
        self.encoder_y = DCGANDiscriminator(c.channels, c.image_size, c.e_width, out_features=c.num_classes)
        dcgan_init(self.encoder_z)
        dcgan_init(self.encoder_y)
        self.optimizers |= {"encoder_z": adam(self.encoder_z.parameters(), c.lr_e, c.betas_e),
                            "encoder_y": adam(self.encoder_y.parameters(), c.lr_e, c.betas_e)}

    def build_discriminator(self, config: CGANConfig) -> nn.Module:
        return FirstLayerLabelDiscriminator(config.channels, config.image_size, config.num_classes, config.d_width,
                                            config.d_norm)

    def stages(self, train: Any) -> list[Stage]:
        """The cGAN for `gan_steps`, then the encoders for `encoder_steps` with G and D frozen."""
        encoders = Stage("encoders", steps=self.config.encoder_steps, trains=("encoder_z", "encoder_y"))
        if self.config.gan_steps == 0:  # encoders for a G trained elsewhere (e.g. --resume --set)
            return [encoders]
        return [Stage("cgan", steps=self.config.gan_steps, trains=("generator", "discriminator")), encoders]

    @torch.no_grad()
    def begin_stage(self, progress: StageProgress) -> None:
        if progress.stage.name == "encoders" and "generator" in self.ema:
            self.generator.load_state_dict(self.ema["generator"].state_dict())  # invert the G that samples

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """The stage's networks take one step; outside staged training, all four do."""
        logs: dict[str, torch.Tensor] = {}
        if self.trains("generator"):
            logs |= self.gan_step(batch)
        if self.trains("encoder_z"):
            logs |= self.encoder_step(batch)
        return logs

    def gan_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real, y = batch.images, self.batch_labels(batch)  # (B, C, H, W), (B,)
        k = self.config.num_classes
        z = self.latent(real.shape[0], self.config.latent_dim)
        with self.autocast():
            fake = self.generator(z, y)  # (B, C, H, W)
            real_out, fake_out = self.discriminator(real, y), self.discriminator(fake.detach(), y)
            negatives = fake_out
            if self.config.wrong_labels:  # a real digit with another digit's label is a fake pair too
                wrong = (y + torch.randint(1, k, y.shape, device=y.device)) % k  # (B,), never y
                negatives = torch.cat([fake_out, self.discriminator(real, wrong)])
            loss_d = d_bce(real_out, negatives)
        self.optimize(loss_d, "discriminator")
        return self.generator_step(fake, y, loss_d, real_out, fake_out)

    def encoder_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real, y = batch.images, self.batch_labels(batch)  # (B, C, H, W), (B,)
        z = self.latent(real.shape[0], self.config.latent_dim)  # (B, Z)
        g = self.net("generator")
        with torch.no_grad(), self.eval_mode(g):  # eval: G's BatchNorm statistics stay as they are
            fake = g(z, y)  # (B, C, H, W), what `sample` and `relabel` render
        with self.autocast():
            loss_z = F.mse_loss(self.encoder_z(fake).float(), z)
        self.optimize(loss_z, "encoder_z")
        x_y = real if self.config.ey_data == "real" else fake
        with self.autocast():
            logits = self.encoder_y(x_y).float()  # (B, K)
            loss_y = F.cross_entropy(logits, y)
        self.optimize(loss_y, "encoder_y")
        return {"loss/ez": loss_z.detach(), "loss/ey": loss_y.detach(),
                "acc/ey_train": (logits.detach().argmax(1) == y).float().mean()}

    # ---- task verbs --------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """E_z: the style code (B, latent_dim) of images `x` (B, C, S, S) in [-1, 1]."""
        with self.eval_mode(self.encoder_z):
            return self.encoder_z(x).float()

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """E_y: class logits (B, K) of images `x` (B, C, S, S) in [-1, 1]."""
        with self.eval_mode(self.encoder_y):
            return self.encoder_y(x).float()

    @torch.no_grad()
    def relabel(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """`x` (B, C, S, S) in [-1, 1] re-rendered as classes `labels` (B,) keeping its style:
        G(E_z(x), y'), (B, C, S, S) in [-1, 1]."""
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.config.channels, *self.data_spec().hw):
            raise GankitError(f"relabel takes (B, {self.config.channels}, {self.config.image_size}, "
                              f"{self.config.image_size}) images, got {tuple(x.shape)}")
        y = self.check_labels(len(x), labels)
        g = self.net("generator")
        with self.eval_mode(g):
            return g(self.encode(x), y).float().clamp(-1, 1)  # (B, C, S, S)
