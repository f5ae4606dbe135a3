"""Semi-Supervised Learning with Context-Conditional Generative Adversarial Networks (Denton, Gross &
Fergus, arXiv 1611.06430).

The one idea: G fills a hole cut into a real image from its context, and D, which judges whole images,
is also the classifier: a (K+1)-way net that learns the K classes from the few labelled images and "real"
vs "inpainted" from every unlabelled one, so 100 labels classify far better than the same net trained on
them alone. CC-GAN^2 also gives G a 4x-downsampled copy of the whole image. The fake class's logit is
implicit (fixed at 0, the Improved-GAN form, as in sgan): D(x) = Z(x) / (Z(x) + 1), Z = sum_k exp(l_k).

Defaults: image 64, random holes up to 32, lowres_factor 4, rec_weight 0, Adam 2e-4 betas (0.5, 0.999).

Deviations from the paper:
- MNIST 32x32 with 100 labels, not STL-10 / PASCAL VOC; default image 64 (hole 32), not STL-10's 96 (48).
- D is a small strided conv net (no norm, dropout) rather than VGG-A with BatchNorm.
- G is the pix2pix U-Net, fed the holed image, mask and low-res copy; the hole is composited into the context.
- Random holes are 1 box with sides drawn in [hole / 2, hole], not a fixed size; `mask="centre"` is fixed.
- Labelled images are shifted by up to 2 pixels (`label_shift`), as the labels-only baseline's are.
- The `cpu` preset uses lr 1e-3 (2e-4 learns the supervised part too slowly for a CPU budget).
- `rec_weight` (default 0, the paper's pure adversarial G) can add a context-encoder L2 on the hole.
- `lowres_factor=0` gives the plain CC-GAN; hole PSNR is reported beside a `lowres_fill` baseline.

Lab notes (what was tried and measured): docs/variants/ccgan.md
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config, check_channels
from gankit.data.augment import random_shift
from gankit.data.masks import (
    Box,
    apply_mask,
    centre_box,
    centre_masks,
    composite,
    random_box_masks,
)
from gankit.errors import GankitError
from gankit.losses import d_semi_supervised
from gankit.models.base import Batch, DataSpec
from gankit.models.inpainting import InpaintingModel
from gankit.nn import check_dcgan_size, dcgan_init
from gankit.nn.translation import ExamplePairs, UNetGenerator
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class CCGANConfig(Config):
    image_size: int = 64  # STL-10's 96x96 resized: the nets halve the side down to 4x4, so powers of two
    channels: int = 3
    num_classes: int = 10
    labels_per_class: int = 100  # STL-10's 5,000 labelled images hold ~500 per class; MNIST runs use 10
    mask: Literal["centre", "random"] = "random"
    hole: int = 32  # side of the hole (random boxes: sides in [hole / 2, hole]); half the side, as 48 of 96
    lowres_factor: int = 4  # CC-GAN^2's low-resolution copy (downsampled this much); 0 = plain CC-GAN
    g_depth: int = 0  # U-Net levels; 0 = down to 1x1 (log2 image_size)
    g_width: int = 64
    g_max_width: int = 512
    d_width: int = 64
    d_dropout: float = 0.5  # after each of D's strided convs (D is also the classifier: it overfits 100 labels)
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    unlabeled_weight: float = 1.0  # weight of the GAN (real vs inpainted) loss in D's objective
    rec_weight: float = 0.0  # optional L2 on the hole in G's loss (0: the paper's adversarial-only G)
    label_shift: int = 2  # random shifts (pixels) of the labelled images, as the baseline's trainer does
    baseline_steps: int = 500  # steps (batch 100) of the labels-only baseline in `capability(baselines=True)`
    grid_examples: int = 8  # fixed training images shown (holed | low-res | filled | original) in grids

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"image_size": 8, "channels": 1, "labels_per_class": 1, "hole": 4, "lowres_factor": 2,
                 "g_width": 4, "d_width": 4, "baseline_steps": 5, "grid_examples": 4},
        # MNIST 32x32 with 100 labels; widths sized for a CPU.
        "cpu": {"image_size": 32, "channels": 1, "labels_per_class": 10, "hole": 16, "g_depth": 3, "g_width": 32,
                "g_max_width": 128, "d_width": 32, "lr": 1e-3},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        check_dcgan_size(self.image_size)
        check_channels(self.channels)
        if self.num_classes < 2:
            raise GankitError(f"num_classes must be at least 2, got {self.num_classes}")
        if self.labels_per_class < 1:
            raise GankitError(f"labels_per_class must be at least 1 (ccgan is semi-supervised), got {self.labels_per_class}")
        if not 0 < self.hole < self.image_size:
            raise GankitError(f"hole must be between 1 and image_size - 1 ({self.image_size - 1}), got {self.hole}")
        if self.lowres_factor < 0 or (self.lowres_factor and self.image_size % self.lowres_factor):
            raise GankitError(f"lowres_factor must be 0 (off) or divide image_size {self.image_size}, "
                              f"got {self.lowres_factor}")
        max_depth = int(math.log2(self.image_size))
        if not 0 <= self.g_depth <= max_depth or self.g_depth == 1:
            raise GankitError(f"g_depth must be 0 (down to 1x1) or between 2 and {max_depth}, got {self.g_depth}")
        if not 0 <= self.d_dropout < 1:
            raise GankitError(f"d_dropout must be in [0, 1), got {self.d_dropout}")


class ConvClassifier(nn.Module):
    """image in [-1, 1] -> K class logits (the fake class's logit is the implicit 0): stride-2 4x4 convs
    down to 4x4 doubling the width (LeakyReLU 0.2, dropout, no norm), then a linear head."""

    def __init__(self, channels: int, image_size: int, width: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        steps = check_dcgan_size(image_size)  # 32 px: 3 convs to 4x4
        layers: list[nn.Module] = []
        c = channels
        for i in range(steps):
            out = width * 2**i
            layers += [nn.Conv2d(c, out, 4, 2, 1), nn.LeakyReLU(0.2, True), nn.Dropout(dropout)]
            c = out
        self.trunk = nn.Sequential(*layers)  # (B, c, 4, 4)
        self.head = nn.Linear(c * 16, num_classes)
        self.feature_dim = c * 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x).flatten(1))  # (B, K)


@register_model("ccgan")
class CCGAN(InpaintingModel):
    config_class = CCGANConfig
    paper = "Semi-Supervised Learning with Context-Conditional Generative Adversarial Networks"
    arxiv = "1611.06430"
    capabilities: ClassVar[tuple[str, ...]] = ('semi_supervised_acc', 'hole_psnr')
    data_needs = "images+labels"
    # With the engine's EMA on, the classifier is averaged too.
    ema_targets = ("generator", "discriminator")

    def __init__(self, config: CCGANConfig) -> None:
        super().__init__(config)
        c = config
        depth = c.g_depth or int(math.log2(c.image_size))
        # Input: the holed image, the mask, and (CC-GAN^2) the low-resolution copy of the whole image.
        in_channels = c.channels + 1 + (c.channels if c.lowres_factor else 0)
        self.generator = UNetGenerator(in_channels, c.channels, depth, c.g_width, c.g_max_width, dropout=0.0)
        dcgan_init(self.generator)
        self.discriminator = self.build_discriminator()
        self.optimizers = {"generator": adam(self.generator.parameters(), c.lr, c.betas),
                           "discriminator": adam(self.discriminator.parameters(), c.lr, c.betas)}
        # Images kept from the first batch for sample grids; domain B is unused (the original is the target).
        self.examples = ExamplePairs(c.grid_examples, c.channels, 1, c.image_size)

    def build_discriminator(self) -> ConvClassifier:
        c = self.config
        return ConvClassifier(c.channels, c.image_size, c.d_width, c.num_classes, c.d_dropout)

    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels, image_size=c.image_size, needs_labels=True, num_classes=c.num_classes,
                        labels_per_class=c.labels_per_class)

    def size_multiple(self) -> int:
        return max(self.generator.size_multiple, self.config.lowres_factor)

    def hole_box(self) -> Box:
        """The centred hole of the trained size, `(x, y, w, h)` in the model's image size."""
        return centre_box(self.config.image_size, self.config.hole)

    def masks(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Training-style holes: `(n, 1, S, S)`, the centre box or one random box (from `generator`)."""
        c = self.config
        if c.mask == "centre":
            return centre_masks(n, c.image_size, c.hole, self.device)
        return random_box_masks(n, c.image_size, c.hole, 1, generator, self.device)

    def lowres(self, x: torch.Tensor) -> torch.Tensor:
        """The whole image averaged over `lowres_factor`^2 blocks and upsampled back: (B, C, H, W)."""
        f = self.config.lowres_factor
        return F.interpolate(F.avg_pool2d(x, f), scale_factor=f, mode="nearest")

    def _fill(self, g: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        parts = [apply_mask(x, mask), mask] + ([self.lowres(x)] if self.config.lowres_factor else [])
        return g(torch.cat(parts, 1))  # (B, 2C+1, S, S) -> (B, C, S, S)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c = self.config
        if batch.labels is not None or batch.labeled_images is None:
            raise GankitError("ccgan trains semi-supervised: unlabelled batches plus Batch.labeled_images and "
                              "labeled_labels from the engine (DataSpec.labels_per_class)")
        unl = batch.images  # (B, C, S, S), no labels
        lab, labels = batch.labeled_images, batch.labeled_labels  # (B', C, S, S), (B',)
        lab = random_shift(lab, c.label_shift)
        self.examples.keep(unl, unl[:, :1])
        mask = self.masks(len(unl))  # (B, 1, S, S), 1 = hole
        with self.autocast():
            out = self._fill(self.generator, unl, mask)
            filled = composite(unl, out, mask)  # (B, C, S, S): real context, G's hole
            # No BatchNorm in D: one pass over the three parts equals three passes.
            logits = self.discriminator(torch.cat([lab, unl, filled.detach()]))
            logits_lab, logits_unl, logits_fake = logits.split([len(lab), len(unl), len(filled)])
            loss_lab, loss_unl = d_semi_supervised(logits_lab, labels, logits_unl, logits_fake)
        loss_d = loss_lab + c.unlabeled_weight * loss_unl
        self.optimize(loss_d, "discriminator")
        with self.autocast():
            with self.frozen(self.discriminator):
                lse = self.discriminator(filled).float().logsumexp(1)  # (B,)
            loss_adv = (F.softplus(lse) - lse).mean()  # -log D(inpainted), D = Z / (Z + 1)
            loss_l2 = ((out.float() - unl).pow(2) * mask).sum() / (mask.sum() * unl.shape[1]).clamp_min(1)
            loss_g = loss_adv + c.rec_weight * loss_l2
        self.optimize(loss_g, "generator")
        with torch.no_grad():
            d_real = torch.sigmoid(logits_unl.float().logsumexp(1)).mean()
            d_fake = torch.sigmoid(logits_fake.float().logsumexp(1)).mean()
            acc_lab = (logits_lab.argmax(1) == labels).float().mean()
        return {"loss/d": loss_d.detach(), "loss/d_sup": loss_lab.detach(), "loss/d_unsup": loss_unl.detach(),
                "loss/g": loss_g.detach(), "loss/g_adv": loss_adv.detach(), "loss/l2": loss_l2.detach(),
                "d/real": d_real, "d/fake": d_fake, "acc/labeled": acc_lab}

    def preview_extras(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.lowres(x)] if self.config.lowres_factor else []  # CC-GAN^2: G sees the whole image small

    def fresh_classifier(self, images: torch.Tensor) -> nn.Module:
        """D's architecture freshly initialised, for the labels-only baseline."""
        return self.build_discriminator().to(self.device)

    def baseline_fills(self) -> dict[str, Any]:
        # CC-GAN^2's G sees the whole image small: that input alone, upsampled into the hole.
        if not self.config.lowres_factor:
            return {}
        return {"lowres_fill": lambda x, m: composite(x, self.lowres(x), m)}

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """The K real-class logits of images `x` in [-1, 1] (B, C, H, W), from D in eval mode (no dropout)."""
        d = self.net("discriminator")
        with self.eval_mode(d):
            return d(x).float()  # (B, K)
