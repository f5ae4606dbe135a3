"""Semi-Supervised Learning with Generative Adversarial Networks (Odena, arXiv 1606.01583), in the
form of Improved Techniques for Training GANs (Salimans et al., arXiv 1606.03498).

The one idea: D is a K-class classifier whose (K+1)-th class, "fake", has its logit fixed at 0, so
D(x) = Z(x) / (Z(x) + 1) with Z = sum_k exp(l_k). D learns from the few labelled images (cross-entropy)
and from every unlabelled and generated image (the GAN loss), and G is trained by feature matching; the
unlabelled images shape D's features, so 100 labels classify far better than those labels alone.

Defaults (the authors' MNIST code): D MLP 1000-500-250-250-250, weight norm, Gaussian noise 0.3 / 0.5;
G MLP 500-500, BatchNorm, softplus, z ~ U(0, 1)^100; batch 100 (+ 100 labelled), Adam 0.003 beta1 0.5;
`labels_per_class` 10 (100 labels).

Deviations from the paper:
- Feature matching compares with the unlabelled batch D just trained on (one D pass per step, not two).
- The data-dependent init runs on the first training batch (200 images), not a separate 500-image pass.
- Test accuracy uses D itself (or its EMA copy), not the authors' Polyak average with rate 1e-4.
- The proof trains 8,000 steps (16 epochs, lr decaying over the second half), not the authors' 300 epochs.
- The `cpu` preset shifts the labelled images by up to 2 pixels, as the labels-only baseline's trainer does.
- Adam's eps is 1e-4, matching the authors' sqrt(v + 1e-8) rather than torch's 1e-8.

Lab notes (what was tried and measured): docs/variants/sgan.md
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config, check_channels
from gankit.data.augment import random_shift
from gankit.data.core import to_signed_unit
from gankit.errors import GankitError
from gankit.losses import d_semi_supervised, feature_matching
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class SGANConfig(Config):
    latent_dim: int = 100
    image_size: int = 28
    channels: int = 1
    num_classes: int = 10
    labels_per_class: int = 10  # 10 per class: MNIST with 100 labels
    g_hidden: tuple[int, ...] = (500, 500)
    d_hidden: tuple[int, ...] = (1000, 500, 250, 250, 250)
    input_noise: float = 0.3  # std of D's input noise, on the paper's [0, 1] pixel scale
    hidden_noise: float = 0.5  # std of the noise after each of D's hidden layers
    lr: float = 0.003  # D and G
    betas: tuple[float, float] = (0.5, 0.999)
    adam_eps: float = 1e-4  # the authors' Adam divides by sqrt(v + 1e-8), i.e. eps ~ 1e-4, not torch's 1e-8
    label_shift: int = 0  # random shifts (pixels) of the labelled images; the paper uses none
    unlabeled_weight: float = 1.0  # weight of the GAN (unlabelled) loss in D's objective
    baseline_steps: int = 1000  # steps of the labels-only baseline in `capability(baselines=True)`

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "labels_per_class": 1, "g_hidden": (16,), "d_hidden": (32, 16),
                 "baseline_steps": 5},
        # The paper's nets; labelled images shifted like the baseline's, which lifts accuracy early in training.
        "cpu": {"label_shift": 2},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.num_classes < 2:
            raise GankitError(f"num_classes must be at least 2, got {self.num_classes}")
        if self.labels_per_class < 1:
            raise GankitError(f"labels_per_class must be at least 1 (sgan is semi-supervised), got {self.labels_per_class}")
        if not self.d_hidden or not self.g_hidden:
            raise GankitError("d_hidden and g_hidden need at least one layer each")


class WeightNormLinear(nn.Module):
    """y = x (s * v / ||v||)^T + b (Salimans & Kingma, arXiv 1602.07868). `trainable_scale=False` keeps
    s a buffer, set once by `data_init`, as in the authors' MNIST D's hidden layers."""

    def __init__(self, in_features: int, out_features: int, trainable_scale: bool = True) -> None:
        super().__init__()
        self.direction = nn.Parameter(torch.randn(out_features, in_features) * 0.1)
        self.bias = nn.Parameter(torch.zeros(out_features))
        scale = torch.ones(out_features)
        if trainable_scale:
            self.scale = nn.Parameter(scale)
        else:
            self.register_buffer("scale", scale)

    def weight(self) -> torch.Tensor:
        norm = self.direction.pow(2).sum(1, keepdim=True).add(1e-6).sqrt()  # (out, 1)
        return self.direction * (self.scale[:, None] / norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight(), self.bias)

    @torch.no_grad()
    def data_init(self, x: torch.Tensor) -> torch.Tensor:
        """Scale and shift so that the outputs on `x` have zero mean and unit std per unit; returns them."""
        pre = F.linear(x, self.weight())  # (B, out)
        mean, std = pre.mean(0), pre.pow(2).mean(0).sub(pre.mean(0).pow(2)).clamp_min(1e-12).sqrt()
        self.scale.div_(std)
        self.bias.copy_(-mean / std)
        return self(x)


class SemiSupervisedDiscriminator(nn.Module):
    """image in [-1, 1] -> K class logits (the fake class's logit is the implicit 0)."""

    def __init__(self, image_shape: tuple[int, int, int], hidden: tuple[int, ...], num_classes: int,
                 input_noise: float, hidden_noise: float) -> None:
        super().__init__()
        widths = (math.prod(image_shape), *hidden)
        self.layers = nn.ModuleList(WeightNormLinear(a, b, trainable_scale=False) for a, b in zip(widths, widths[1:]))
        self.head = WeightNormLinear(widths[-1], num_classes)
        self.input_noise, self.hidden_noise = input_noise, hidden_noise
        self.feature_dim = widths[-1]

    def _noise(self, h: torch.Tensor, std: float) -> torch.Tensor:
        return h + std * torch.randn_like(h) if self.training and std > 0 else h

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D's last hidden layer (before its noise; what G's feature matching sees) and the logits."""
        h = self._noise((x.flatten(1) + 1) / 2, self.input_noise)  # (B, C*H*W) on the paper's [0, 1] scale
        f = h
        for layer in self.layers:
            f = F.relu(layer(h))  # (B, width)
            h = self._noise(f, self.hidden_noise)
        return f, self.head(h)  # (B, feature_dim), (B, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]

    @torch.no_grad()
    def data_init(self, x: torch.Tensor) -> None:
        """Weight norm's data-dependent init: every layer's pre-activations on `x` start standardised."""
        h = self._noise((x.flatten(1) + 1) / 2, self.input_noise)
        for layer in self.layers:
            h = self._noise(F.relu(layer.data_init(h)), self.hidden_noise)
        self.head.data_init(h)


class Shift(nn.Module):
    """A learned per-feature bias (BatchNorm without its scale, as in the authors' G)."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias


class SoftplusGenerator(nn.Module):
    """z -> (Linear, BatchNorm, softplus) x n -> weight-normed Linear -> sigmoid image, returned in [-1, 1]."""

    def __init__(self, latent_dim: int, hidden: tuple[int, ...], image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.image_shape = image_shape
        layers: list[nn.Module] = []
        width = latent_dim
        for h in hidden:  # BatchNorm removes a bias before it, so the shift comes after
            layers += [nn.Linear(width, h, bias=False), nn.BatchNorm1d(h, eps=1e-6, affine=False), Shift(h), nn.Softplus()]
            width = h
        layers.append(WeightNormLinear(width, math.prod(image_shape)))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        pixels = torch.sigmoid(self.net(z))  # (B, C*H*W) in [0, 1], the paper's output
        return (pixels * 2 - 1).view(z.shape[0], *self.image_shape)  # (B, C, H, W) in [-1, 1]


@register_model("sgan")
class SGAN(GANModel):
    config_class = SGANConfig
    paper = "Semi-Supervised Learning with Generative Adversarial Networks (Improved-GAN form)"
    arxiv = "1606.01583"
    capabilities: ClassVar[tuple[str, ...]] = ('semi_supervised_acc',)
    data_needs = "images+labels"
    # With the engine's EMA on, the classifier is averaged too (the authors test an average of D).
    ema_targets = ("generator", "discriminator")

    def __init__(self, config: SGANConfig) -> None:
        super().__init__(config)
        self.generator = SoftplusGenerator(config.latent_dim, config.g_hidden, self.image_shape)
        self.discriminator = self.build_discriminator()
        self.optimizers = {
            "discriminator": adam(self.discriminator.parameters(), config.lr, config.betas, eps=config.adam_eps),
            "generator": adam(self.generator.parameters(), config.lr, config.betas, eps=config.adam_eps),
        }
        # Weight norm's data-dependent init happens on the first batch; checkpointed so it runs once.
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c = self.config
        return (c.channels, c.image_size, c.image_size)

    def build_discriminator(self) -> SemiSupervisedDiscriminator:
        c = self.config
        return SemiSupervisedDiscriminator(self.image_shape, c.d_hidden, c.num_classes, c.input_noise, c.hidden_noise)

    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels, image_size=c.image_size, needs_labels=True, num_classes=c.num_classes,
                        labels_per_class=c.labels_per_class)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ U(0, 1)^latent_dim, the authors' noise."""
        return torch.rand(n, self.config.latent_dim, device=self.device, generator=generator)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        if batch.labels is not None or batch.labeled_images is None:
            raise GankitError("sgan trains semi-supervised: unlabelled batches plus Batch.labeled_images and "
                              "labeled_labels from the engine (DataSpec.labels_per_class)")
        unl = batch.images  # (B, C, H, W), no labels
        lab, labels = batch.labeled_images, batch.labeled_labels  # (B', C, H, W), (B',)
        lab = random_shift(lab, self.config.label_shift)
        if not bool(self.initialized):
            with torch.no_grad():
                self.generator(self.noise(unl.shape[0]))  # G's BatchNorm running statistics start from its own batch
            self.discriminator.data_init(torch.cat([unl, lab]))
            self.initialized.fill_(True)
        with self.autocast():
            fake = self.generator(self.noise(unl.shape[0]))  # (B, C, H, W)
            # No BatchNorm in D: one pass over all three parts equals three passes, and is faster.
            features, logits = self.discriminator.features_and_logits(torch.cat([lab, unl, fake.detach()]))
            logits_lab, logits_unl, logits_fake = logits.split([lab.shape[0], unl.shape[0], fake.shape[0]])
            loss_lab, loss_unl = d_semi_supervised(logits_lab, labels, logits_unl, logits_fake)
        loss_d = loss_lab + self.config.unlabeled_weight * loss_unl
        self.optimize(loss_d, "discriminator")
        real_features = features[lab.shape[0]: lab.shape[0] + unl.shape[0]].detach()  # (B, feature_dim)
        with self.frozen(self.discriminator), self.autocast():
            fake_features, _ = self.discriminator.features_and_logits(fake)
            loss_g = feature_matching(fake_features, real_features)
        self.optimize(loss_g, "generator")
        with torch.no_grad():
            d_real = torch.sigmoid(logits_unl.float().logsumexp(1)).mean()  # D(x) = Z / (Z + 1)
            d_fake = torch.sigmoid(logits_fake.float().logsumexp(1)).mean()
            acc_lab = (logits_lab.argmax(1) == labels).float().mean()
        return {"loss/d": loss_d.detach(), "loss/d_sup": loss_lab.detach(),
                "loss/d_unsup": loss_unl.detach(), "loss/g": loss_g.detach(), "d/real": d_real, "d/fake": d_fake,
                "acc/labeled": acc_lab}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        if generator is not None and generator.device != self.device:
            raise GankitError(f"generator is on {generator.device} but the model is on {self.device}")
        g = self.net("generator")
        with self.eval_mode(g):
            images = g(self.noise(n, generator))
        return images.float().clamp(-1, 1)  # (n, C, H, W)

    def fresh_classifier(self, images: torch.Tensor) -> nn.Module:
        """D's architecture freshly initialised (with its data-dependent init on `images`, uint8), for
        the labels-only baseline."""
        net = self.build_discriminator().to(self.device)
        net.train()
        net.data_init(to_signed_unit(images.to(self.device)))
        return net

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """The K real-class logits of images `x` in [-1, 1] (B, C, H, W), from D without its noise."""
        d = self.net("discriminator")
        with self.eval_mode(d):
            return d(x).float()  # (B, K)
