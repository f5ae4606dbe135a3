"""Adversarial Autoencoders (Makhzani et al., arXiv 1511.05644).

The one idea: an auto-encoder whose aggregated posterior q(z) = E_x q(z|x) is matched to an arbitrary
prior p(z) by a GAN on the code: a discriminator tells prior samples from encoded images and the encoder,
as its generator, learns to fool it; decoding prior samples then generates images. Each step runs the
paper's phases: reconstruction, regularisation (D on z, then the encoder against D) and, in semi-supervised
mode (`prior=categorical`: y ~ Cat(10) plus a style z, y also learns from 100 labels), a supervised phase.

Defaults: prior gaussian, latent_dim 8, 1000-1000 MLPs, Adam betas (0.5, 0.999), lr_ae 1e-3, lr_d/lr_g 2e-4.

Deviations from the paper:
- Adam instead of SGD with momentum; semi-supervised runs want `lr_ae=2e-4 encoder_batchnorm=true`.
- Images in [-1, 1], tanh decoder and MSE reconstruction (paper: sigmoid, cross-entropy).
- LeakyReLU 0.2 in the encoder and discriminators (paper: ReLU).
- Semi proof: conv encoder (`encoder=conv`) with BatchNorm (`encoder_batchnorm`, off by default; paper: MLP).
- The `cpu` preset (the proof) uses 512-512 auto-encoder and 256-256 discriminator MLPs (paper: 1000-1000).
- Semi-supervised: labelled images (and the labels-only baseline's) get 2-pixel shifts or affine maps.

Lab notes (what was tried and measured): docs/variants/aae.md
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config, check_channels
from gankit.data.augment import random_affine, random_shift
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn import MLPDiscriminator
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class AAEConfig(Config):
    prior: Literal["gaussian", "mixture", "categorical"] = "gaussian"
    latent_dim: int = 8  # z (the style z in categorical mode)
    num_classes: int = 10  # mixture components / categories of y
    image_size: int = 28
    channels: int = 1
    hidden: tuple[int, ...] = (1000, 1000)  # encoder; the decoder mirrors it
    d_hidden: tuple[int, ...] = (1000, 1000)  # discriminators on the code
    mixture_radius: float = 4.0
    mixture_std: float = 0.5
    labels_per_class: int = 10  # categorical mode only: 10 -> 100 labels
    lr_ae: float = 1e-3  # reconstruction phase
    lr_d: float = 2e-4  # regularisation phase, discriminators
    lr_g: float = 2e-4  # regularisation phase, the encoder as generator
    lr_sup: float = 1e-3  # supervised phase (categorical mode)
    encoder_batchnorm: bool = False  # BatchNorm in the encoder (paper: none; the semi proof turns it on, see above)
    encoder: Literal["mlp", "conv"] = "mlp"  # conv: two 5x5 stride-2 convs before the last hidden layer (see above)
    encoder_width: int = 32  # conv encoder: channels of its first conv (the second has twice as many)
    # semi-supervised: augmentation of the labelled images (and of the labels-only baseline's):
    # "shift" (up to 2 pixels) or "affine" (also up to 10 degrees of rotation and 10% of scale)
    label_augment: Literal["shift", "affine"] = "shift"
    betas: tuple[float, float] = (0.5, 0.999)

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 2, "image_size": 8, "hidden": (16, 16), "d_hidden": (16, 16)},
        "cpu": {"hidden": (512, 512), "d_hidden": (256, 256)},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.latent_dim < 1 or self.num_classes < 2:
            raise GankitError(f"need latent_dim >= 1 and num_classes >= 2, got {self.latent_dim}, {self.num_classes}")
        if self.prior == "mixture" and self.latent_dim < 2:
            raise GankitError("the mixture prior places its means on a circle: latent_dim must be at least 2")
        if self.encoder == "conv" and (self.image_size % 4 or self.encoder_width < 1):
            raise GankitError(f"the conv encoder halves the image twice: image_size must be a multiple of 4 "
                              f"(got {self.image_size}) and encoder_width >= 1 (got {self.encoder_width})")
        if self.prior == "categorical" and self.labels_per_class < 1:
            raise GankitError(f"categorical (semi-supervised) mode needs labels_per_class >= 1, got {self.labels_per_class}")


def code_discriminator(dim: int, hidden: tuple[int, ...]) -> MLPDiscriminator:
    """D on codes `(B, dim)`: the image MLP D on a (1, 1, dim) "image" is exactly an MLP on vectors."""
    return MLPDiscriminator((1, 1, dim), hidden)


def mlp_decoder(code_dim: int, hidden: tuple[int, ...], image_shape: tuple[int, int, int]) -> nn.Sequential:
    """code -> hidden (ReLU) -> tanh image, as the paper's decoder. No BatchNorm (unlike
    `MLPGenerator`): measured, its eval-mode statistics doubled the test reconstruction error."""
    layers: list[nn.Module] = []
    width = code_dim
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers += [nn.Linear(width, math.prod(image_shape)), nn.Tanh(), nn.Unflatten(1, image_shape)]  # (B, C, H, W)
    return nn.Sequential(*layers)


class ConvEncoder(nn.Module):
    """Two 5x5 stride-2 convs (`width`, `2 * width` channels), one hidden linear layer, then the
    head: images `(B, C, H, W)` -> `(B, out_features)`, like the MLP encoder."""

    def __init__(self, image_shape: tuple[int, int, int], width: int, hidden: int, out_features: int,
                 batchnorm: bool) -> None:
        super().__init__()
        c, h, w = image_shape
        norm2d = (lambda ch: [nn.BatchNorm2d(ch)]) if batchnorm else (lambda ch: [])
        self.trunk = nn.Sequential(
            nn.Conv2d(c, width, 5, 2, 2), *norm2d(width), nn.LeakyReLU(0.2),  # (B, w, H/2, W/2)
            nn.Conv2d(width, 2 * width, 5, 2, 2), *norm2d(2 * width), nn.LeakyReLU(0.2),  # (B, 2w, H/4, W/4)
            nn.Flatten(), nn.Linear(2 * width * (h // 4) * (w // 4), hidden),
            *([nn.BatchNorm1d(hidden)] if batchnorm else []), nn.LeakyReLU(0.2))  # (B, hidden)
        self.head = nn.Linear(hidden, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))  # (B, out_features)


def build_encoder(c: AAEConfig, out_features: int) -> nn.Module:
    """The encoder (or, with `out_features` = K, the labels-only baseline's classifier)."""
    shape = (c.channels, c.image_size, c.image_size)
    if c.encoder == "conv":
        return ConvEncoder(shape, c.encoder_width, c.hidden[-1], out_features, c.encoder_batchnorm)
    return MLPDiscriminator(shape, c.hidden, out_features, batchnorm=c.encoder_batchnorm)


@register_model("aae")
class AAE(GANModel):
    config_class = AAEConfig
    paper = "Adversarial Autoencoders"
    arxiv = "1511.05644"
    capabilities: ClassVar[tuple[str, ...]] = ('autoencoder_codes',)
    data_needs = "images"

    def __init__(self, config: AAEConfig) -> None:
        super().__init__(config)
        c = config
        shape = (c.channels, c.image_size, c.image_size)
        self.semi = c.prior == "categorical"
        k = c.num_classes if self.semi else 0  # y's logits come first in the encoder's output
        self.encoder = build_encoder(c, k + c.latent_dim)  # (B, K + D)
        self.generator = mlp_decoder(k + c.latent_dim, tuple(reversed(c.hidden)), shape)
        self.discriminator = code_discriminator(c.latent_dim, c.d_hidden)  # on z
        d_params = list(self.discriminator.parameters())
        if self.semi:
            self.discriminator_y = code_discriminator(k, c.d_hidden)  # on y
            d_params += list(self.discriminator_y.parameters())
        # Separate optimizers per phase, as in the paper: each phase has its own learning rate.
        self.optimizers = {
            "autoencoder": adam([*self.encoder.parameters(), *self.generator.parameters()], c.lr_ae, c.betas),
            "discriminator": adam(d_params, c.lr_d, c.betas),
            "encoder": adam(self.encoder.parameters(), c.lr_g, c.betas),
        }
        if self.semi:
            self.optimizers["classifier"] = adam(self.encoder.parameters(), c.lr_sup, c.betas)

    def data_spec(self) -> DataSpec:
        c = self.config
        if self.semi:
            return DataSpec(c.channels, c.image_size, needs_labels=True, num_classes=c.num_classes,
                            labels_per_class=c.labels_per_class)
        return DataSpec(c.channels, c.image_size)

    # ---- codes and priors -----------------------------------------------------------------
    def _split(self, out: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Encoder output `(B, K + D)` -> (y logits `(B, K)` or None, z `(B, D)`)."""
        k = self.config.num_classes if self.semi else 0
        return (out[:, :k] if self.semi else None), out[:, k:]

    def prior_sample(self, n: int, labels: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` codes from the prior, `(n, D)`: the decoder's input without y."""
        c = self.config
        z = self.latent(n, c.latent_dim, generator)  # (n, D)
        if c.prior != "mixture":
            return z
        if labels is None:
            labels = torch.randint(0, c.num_classes, (n,), generator=generator, device=self.device)
        angle = 2 * math.pi * labels.to(self.device).float() / c.num_classes  # (n,)
        means = torch.zeros_like(z)
        means[:, 0], means[:, 1] = c.mixture_radius * angle.cos(), c.mixture_radius * angle.sin()
        return means + c.mixture_std * z

    def one_hot_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` draws from Cat(K) as one-hot rows `(n, K)`: the prior of y."""
        k = self.config.num_classes
        return F.one_hot(torch.randint(0, k, (n,), generator=generator, device=self.device), k).float()

    def _check_labels(self, labels: torch.Tensor, n: int) -> torch.Tensor:
        if labels.shape != (n,) or labels.min() < 0 or labels.max() >= self.config.num_classes:
            raise GankitError(f"labels must be {n} class numbers in 0..{self.config.num_classes - 1}")
        return labels.to(self.device).long()

    # ---- training -------------------------------------------------------------------------
    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images  # (B, C, H, W)
        n = x.shape[0]
        logs: dict[str, torch.Tensor] = {}

        # 1. Reconstruction: encoder and decoder minimise the pixel error.
        with self.autocast():
            y_logits, z = self._split(self.encoder(x))
            code = z if y_logits is None else torch.cat([y_logits.softmax(1), z], 1)  # (B, K + D)
            loss_rec = F.mse_loss(self.generator(code).float(), x.float())
        self.optimize(loss_rec, "autoencoder")
        logs["loss/rec"] = loss_rec.detach()

        # 2a. Regularisation, D: prior samples are "real", encoded images "fake".
        with torch.no_grad(), self.autocast():
            y_fake, z_fake = self._split(self.encoder(x))
        with self.autocast():
            real_out, fake_out = self.discriminator(self.prior_sample(n)), self.discriminator(z_fake)
            loss_d = d_bce(real_out, fake_out)
            if self.semi:
                loss_d = loss_d + d_bce(self.discriminator_y(self.one_hot_sample(n)),
                                        self.discriminator_y(y_fake.softmax(1)))
        self.optimize(loss_d, "discriminator")
        logs["loss/d"] = loss_d.detach()
        logs["d/real"] = torch.sigmoid(real_out.detach().float()).mean()
        logs["d/fake"] = torch.sigmoid(fake_out.detach().float()).mean()

        # 2b. Regularisation, G: the encoder makes its codes look like prior samples.
        discriminators = [self.discriminator] + ([self.discriminator_y] if self.semi else [])
        with self.frozen(*discriminators), self.autocast():
            y_logits, z = self._split(self.encoder(x))
            loss_g = g_nonsaturating(self.discriminator(z))
            if self.semi:
                loss_g = loss_g + g_nonsaturating(self.discriminator_y(y_logits.softmax(1)))
        self.optimize(loss_g, "encoder")
        logs["loss/g"] = loss_g.detach()

        # 3. Semi-supervised: y learns the few labels (shifted like the labels-only baseline's).
        if self.semi:
            xl, yl = batch.labeled_images, batch.labeled_labels  # (B', C, H, W), (B',)
            with self.autocast():
                logits = self._split(self.encoder(self.augment_labeled(xl)))[0]
                loss_sup = F.cross_entropy(logits.float(), yl)
            self.optimize(loss_sup, "classifier")
            logs["loss/sup"] = loss_sup.detach()
            logs["acc/labeled"] = (logits.detach().argmax(1) == yl).float().mean()
        return logs

    def augment_labeled(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The labelled images' augmentation, shared with the labels-only baseline."""
        if self.config.label_augment == "affine":
            return random_affine(x, degrees=10.0, scale=0.1, pixels=2.0, generator=generator)
        return random_shift(x, 2, generator)

    # ---- sampling and task verbs ------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decoded prior samples; `labels` pick y (categorical) or the mixture component (mixture)."""
        if labels is not None:
            if self.config.prior == "gaussian":
                raise GankitError("the gaussian prior has no classes or components: sample without labels")
            labels = self._check_labels(labels, n)
        if self.semi:
            if labels is None:
                labels = torch.randint(0, self.config.num_classes, (n,), generator=generator, device=self.device)
            code = torch.cat([F.one_hot(labels, self.config.num_classes).float(), self.prior_sample(n, None, generator)], 1)
        else:
            code = self.prior_sample(n, labels, generator)  # (n, D)
        g = self.net("generator")
        with self.eval_mode(g):
            images = g(code)
        return images.float().clamp(-1, 1)  # (n, C, H, W)

    def grid_labels(self, n: int) -> torch.Tensor | None:
        # One column per class (categorical) or mixture component; one row per style z.
        return None if self.config.prior == "gaussian" else torch.arange(n) % self.config.num_classes

    def grid_nrow(self, n: int) -> int | None:
        return None if self.config.prior == "gaussian" else self.config.num_classes

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes `(B, D)`; in categorical mode `(B, K + D)`: [softmax y, style z]."""
        y_logits, z = self._split(self.encoder(x))
        return z if y_logits is None else torch.cat([y_logits.softmax(1), z], 1)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder(encoder(x)) in eval mode, `(B, C, H, W)` in [-1, 1]."""
        with self.eval_mode(self.generator):
            return self.generator(self.encode(x)).float().clamp(-1, 1)

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """y's logits `(B, K)`: only the semi-supervised (categorical) mode has a class code."""
        if not self.semi:
            raise GankitError(f"this aae run has a {self.config.prior} prior and no class code: "
                              "only prior=categorical (semi-supervised) runs classify")
        return self._split(self.encoder(x))[0]

