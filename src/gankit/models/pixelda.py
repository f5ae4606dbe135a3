"""Unsupervised Pixel-Level Domain Adaptation with Generative Adversarial Networks (Bousmalis et
al., arXiv 1612.05424).

The one idea: adapt in pixel space. G(x_source, z) restyles a labelled source image so that D
cannot tell it from real (unlabelled) target images, while a task classifier T learns from the
adapted images and the source images with the source labels; T then classifies target images.
Objective: min_{G,T} max_D alpha * L_d(D, G) + beta * L_t(G, T), with G trained on both terms,
so the adaptation keeps what T needs (the digit).
Paper facts (MNIST -> MNIST-M): G = conv 3x3 64 + ReLU, 6 residual blocks (conv-BN-ReLU-conv-BN),
conv 3x3 to 3 channels, tanh; z = 10 dims U(-1, 1), mapped by a fully connected layer to one
image-size plane concatenated with the input; D = conv 3x3 stride 1, then stride-2 blocks with
BN, LeakyReLU 0.2, dropout 0.1, Gaussian noise on its layers' inputs; T = a small LeNet-like
classifier; alpha = 0.011, beta = 0.01; Adam 1e-3, betas (0.5, 0.999), batch 32, 32x32 images.
Target accuracy 98.2% on MNIST-M (source-only far lower).
Proof (recipe below, seed 0, 1,500 steps, 7.0 min on 1 thread, lightly loaded): T reads held-out
MNIST-M at 96.3% (MNIST 97.2%); the same T trained on MNIST alone reads MNIST-M at 68.1%.
Deviations:
- the gray source goes into G (and T) repeated to 3 channels, so G and T see one image format;
- the `cpu` preset narrows G (16 wide, 3 blocks) and D (16 wide) so the proof trains in minutes on two cores;
- no learning-rate decay (the paper decays 0.95 every 20k steps; runs here are a few thousand);
- inputs of other sizes than the training size get the noise plane resized bilinearly, so
  `translate` takes any image (the paper adapts at the training size only);
- `translate` uses z = 0 (the centre of U(-1, 1)), so the same input always gives the same output.
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
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn.translation import ExamplePairs, ResidualBlock
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class PixelDAConfig(Config):
    image_size: int = 32
    channels_a: int = 1  # source (labelled): MNIST
    channels_b: int = 3  # target (unlabelled): MNIST-M
    num_classes: int = 10
    latent_dim: int = 10
    g_width: int = 64
    g_blocks: int = 6
    d_width: int = 64
    d_blocks: int = 3  # stride-2 blocks: 32 -> 4
    d_dropout: float = 0.1
    d_noise: float = 0.2  # std of the Gaussian noise on the inputs of D's layers
    t_widths: tuple[int, int] = (32, 48)  # LeNet-like convs, as in DANN's MNIST classifier
    t_hidden: int = 100
    adv_weight: float = 0.011  # alpha
    task_weight: float = 0.01  # beta
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    grid_examples: int = 8
    baseline_steps: int = 1000  # the source-only classifier in `capability` (its accuracy has levelled off)

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"image_size": 8, "latent_dim": 2, "g_width": 4, "g_blocks": 1, "d_width": 4, "d_blocks": 1,
                 "t_widths": (4, 4), "t_hidden": 8, "grid_examples": 4, "baseline_steps": 5},
        "cpu": {"g_width": 16, "g_blocks": 3, "d_width": 16},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.image_size % 4 or self.image_size % 2**self.d_blocks:
            raise GankitError(f"image_size {self.image_size} must be a multiple of 4 and of 2**d_blocks")


def to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Gray `(B, 1, H, W)` repeated to `(B, 3, H, W)`; colour passes through."""
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class NoisyGenerator(nn.Module):
    """G(x, z): the source image (as RGB) plus one noise plane from z, through residual blocks."""

    def __init__(self, c: PixelDAConfig) -> None:
        super().__init__()
        self.size = c.image_size
        self.noise_plane = nn.Linear(c.latent_dim, c.image_size**2)
        layers: list[nn.Module] = [nn.Conv2d(3 + 1, c.g_width, 3, 1, 1), nn.ReLU(True)]
        layers += [ResidualBlock(c.g_width, "batch") for _ in range(c.g_blocks)]
        layers += [nn.Conv2d(c.g_width, c.channels_b, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        plane = self.noise_plane(z).view(b, 1, self.size, self.size)  # (B, 1, S, S)
        if (h, w) != (self.size, self.size):  # other sizes (`gankit translate`): the plane is resized
            plane = F.interpolate(plane, size=(h, w), mode="bilinear", align_corners=False)  # (B, 1, H, W)
        return self.net(torch.cat([to_rgb(x), plane], 1))  # (B, Cb, H, W)


class GaussianNoise(nn.Module):
    """Adds N(0, std^2) in training mode only (the paper's noise on D's layer inputs)."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.std * torch.randn_like(x) if self.training and self.std > 0 else x


class Discriminator(nn.Module):
    """conv 3x3 s1, then `d_blocks` x (conv 3x3 s2, BN, LeakyReLU 0.2, dropout), then one logit."""

    def __init__(self, c: PixelDAConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = [GaussianNoise(c.d_noise), nn.Conv2d(c.channels_b, c.d_width, 3, 1, 1),
                                   nn.LeakyReLU(0.2, True)]
        ch = c.d_width
        for _ in range(c.d_blocks):
            layers += [GaussianNoise(c.d_noise), nn.Conv2d(ch, ch * 2, 3, 2, 1), nn.BatchNorm2d(ch * 2),
                       nn.LeakyReLU(0.2, True), nn.Dropout(c.d_dropout)]
            ch *= 2
        side = c.image_size // 2**c.d_blocks
        self.features = nn.Sequential(*layers)  # (B, ch, side, side)
        self.head = nn.Linear(ch * side * side, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))  # (B, 1) logits


class TaskClassifier(nn.Module):
    """LeNet-like: conv 5x5 + max-pool twice, two hidden fully connected layers, class logits."""

    def __init__(self, c: PixelDAConfig) -> None:
        super().__init__()
        w1, w2 = c.t_widths
        self.features = nn.Sequential(
            nn.Conv2d(3, w1, 5, 1, 2), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(w1, w2, 5, 1, 2), nn.ReLU(True), nn.MaxPool2d(2),
        )  # (B, w2, S/4, S/4)
        self.head = nn.Sequential(
            nn.Linear(w2 * (c.image_size // 4) ** 2, c.t_hidden), nn.ReLU(True),
            nn.Linear(c.t_hidden, c.t_hidden), nn.ReLU(True), nn.Linear(c.t_hidden, c.num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(to_rgb(x)).flatten(1))  # (B, K)


@register_model("pixelda")
class PixelDA(GANModel):
    """G adapts labelled source images to the target style; T learns the task from them."""

    config_class = PixelDAConfig
    paper = "Unsupervised Pixel-Level Domain Adaptation with Generative Adversarial Networks"
    arxiv = "1612.05424"
    capabilities: ClassVar[tuple[str, ...]] = ('domain_adaptation',)
    data_needs = "unpaired"
    ema_targets = ("generator", "classifier")
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 32}

    def __init__(self, config: PixelDAConfig) -> None:
        super().__init__(config)
        c = config
        self.generator = NoisyGenerator(c)
        self.discriminator = Discriminator(c)
        self.classifier = TaskClassifier(c)
        self.examples = ExamplePairs(c.grid_examples, c.channels_a, c.channels_b, c.image_size)
        # G and T minimise one objective together, so they share one optimizer.
        self.optimizers = {
            "generator": adam(itertools.chain(self.generator.parameters(), self.classifier.parameters()), c.lr, c.betas),
            "discriminator": adam(self.discriminator.parameters(), c.lr, c.betas),
        }

    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels_a, image_size=c.image_size, needs_labels=True, num_classes=c.num_classes,
                        pairing="unpaired", channels_b=c.channels_b)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ U(-1, 1), `(n, latent_dim)`."""
        if generator is not None and generator.device != self.device:
            raise GankitError(f"generator is on {generator.device} but the model is on {self.device}")
        return torch.rand(n, self.config.latent_dim, device=self.device, generator=generator) * 2 - 1

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        if batch.labels is None or batch.b is None:
            raise GankitError("pixelda needs labelled source images and unlabelled target images: "
                              "train it on two-domain data whose domain A has labels (--data mnist-m)")
        c = self.config
        x, y, target = batch.images, batch.labels, batch.b  # (B, Ca, S, S), (B,), (B', Cb, S, S)
        self.examples.keep(x, target)
        with self.autocast():
            adapted = self.generator(x, self.noise(len(x)))  # (B, Cb, S, S)
            loss_d = c.adv_weight * d_bce(self.discriminator(target), self.discriminator(adapted.detach()))
        self.optimize(loss_d, "discriminator")
        with self.autocast(), self.frozen(self.discriminator):
            adv = g_nonsaturating(self.discriminator(adapted))
            logits = self.classifier(torch.cat([adapted, to_rgb(x)]))  # (2B, K): adapted, then source
            task = F.cross_entropy(logits, torch.cat([y, y]))
            loss_g = c.adv_weight * adv + c.task_weight * task
        self.optimize(loss_g, "generator")
        acc = (logits[: len(x)].detach().argmax(1) == y).float().mean()
        return {"loss/d": loss_d.detach(), "loss/g": loss_g.detach(), "loss/g_adv": adv.detach(),
                "loss/task": task.detach(), "acc/adapted": acc}

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """Source images `(B, Ca or 3, S, S)` adapted to the target domain with z = 0."""
        if direction != "AtoB":
            raise GankitError(f"pixelda adapts source images to the target domain only (AtoB), not {direction!r}")
        g = self.net("generator")
        with self.eval_mode(g):
            z = torch.zeros(len(x), self.config.latent_dim, device=x.device)
            return g(x, z).float().clamp(-1, 1)  # (B, Cb, S, S)

    @torch.no_grad()
    def adapt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Source images adapted with z ~ U(-1, 1) from `generator`."""
        g = self.net("generator")
        with self.eval_mode(g):
            return g(x, self.noise(len(x), generator)).float().clamp(-1, 1)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """The kept example sources (cycled), adapted with fresh z: `(n, Cb, S, S)`."""
        return self.adapt(self.examples.cycled(n), generator)

    def preview(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int | None]:
        """Rows: source | two adaptations with different z | a real target image."""
        a, b = self.examples.a, self.examples.b
        cols = [to_rgb(a), self.adapt(a, generator), self.adapt(a, generator), b]
        return torch.stack(cols, 1).flatten(0, 1), len(cols)

    def input_channels(self, method: str) -> int:
        """`classify` is for the target domain (colour MNIST-M), not the gray source."""
        return self.config.channels_b if method == "classify" else super().input_channels(method)

    def fresh_classifier(self) -> nn.Module:
        """T's architecture freshly initialised, for the source-only baseline."""
        return TaskClassifier(self.config).to(self.device)

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """T's logits `(B, K)` for target (or gray source) images in [-1, 1]."""
        t = self.net("classifier")
        with self.eval_mode(t):
            return t(x).float()
