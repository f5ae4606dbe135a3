"""StackGAN++: Realistic Image Synthesis with Stacked Generative Adversarial Networks (Zhang et al., arXiv 1710.10916).

The one idea: a tree of generators, one branch per scale (8/16/32 px here, 64/128/256 in the paper),
sharing a trunk, each scale judged by its own D, so the coarse branch learns the layout and each finer
one refines it; a colour-consistency term ties each scale's pixel mean and covariance to the coarser
scale's (detached) for the same z: 50 x (1 x MSE of means + 5 x MSE of covariances), as the code.
Unconditional (`num_classes` 0): each D gives an unconditional logit. Class-conditional: G takes a
code c ~ N(mu(y), sigma(y)) from conditioning augmentation (KL weight 2), and each D gives both D(x)
and D(x, c); the joint loss is cond + uncond (the code's UNCOND_LOSS 1), with (real, wrong class) pairs
as a third negative for the conditional logit. `sample` gives the finest scale, `sample_scales` all.
Defaults (hanzhanggit/StackGAN-v2): 3 branches, z 100, widths 64, 2 residual blocks per branch, Adam
2e-4 betas (0.5, 0.999) for G and the Ds, batch 24, G's weight average 0.999 (the engine's EMA).
Coarser reals are area-downsampled from the batch inside `train_step`.
Deviations:
- class labels (an embedding into CA) instead of text embeddings; wrong pairs are real images with a
  wrong class, and their unconditional term (the real one repeated) is not counted again;
- each D is stride-2 convs to a 4x4 map (width capped at 8x), without the reference's extra 3x3 layers;
- the Ds share one Adam over their summed losses (the same updates as one Adam each);
- default init, not orthogonal; the `cpu` preset narrows everything to 32 px on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import color_consistency, d_bce, g_nonsaturating, kl_standard_normal
from gankit.models.base import Batch, DataSpec, GANModel, check_class_labels
from gankit.nn.stack import ScaleDiscriminator, StackGenerator, downsample
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class StackGAN2Config(Config):
    latent_dim: int = 100
    num_classes: int = 0  # 0: unconditional; K >= 2: class-conditional (needs labelled data)
    embed_dim: int = 128  # conditioning augmentation's code c
    image_size: int = 256  # the finest scale
    channels: int = 3
    branches: int = 3  # scales image_size / 2^(branches-1) ... image_size
    g_width: int = 64  # G's channels at the coarsest scale (halved per finer branch)
    d_width: int = 64  # each D's first-layer channels
    residual: int = 2  # residual blocks per branch
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    color_consistency: float = 50.0  # 0 turns the regulariser off
    color_mean: float = 1.0  # lambda_1 (means)
    color_cov: float = 5.0  # lambda_2 (covariances)
    uncond_weight: float = 1.0  # conditional form: weight of the unconditional logit's loss
    kl_weight: float = 2.0  # conditional form: conditioning augmentation's KL

    not_positive_fields: ClassVar[tuple[str, ...]] = (*Config.not_positive_fields, "num_classes")
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "embed_dim": 4, "image_size": 32, "channels": 1, "g_width": 8, "d_width": 4,
                 "residual": 1},
        "cpu": {"latent_dim": 64, "num_classes": 10, "embed_dim": 32, "image_size": 32, "g_width": 64,
                "d_width": 16, "residual": 1},  # D narrower than G: at equal widths D ran far ahead
    }
    folder_defaults: ClassVar[dict[str, Any]] = {"image_size": 64, "channels": 3}  # 16/32/64 px

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.num_classes < 0 or self.num_classes == 1:
            raise GankitError(f"num_classes must be 0 (unconditional) or at least 2, got {self.num_classes}")
        if self.branches < 1:
            raise GankitError(f"branches must be at least 1, got {self.branches}")
        coarsest = self.image_size >> (self.branches - 1)
        if self.image_size & (self.image_size - 1) or coarsest < 8:
            raise GankitError(f"image_size must be a power of two with its coarsest scale (image_size / "
                              f"2^(branches-1)) at least 8 px, got {self.image_size} with {self.branches} branches")
        if self.g_width % 2 ** (self.branches - 1):
            raise GankitError(f"g_width halves per branch: it must divide by {2 ** (self.branches - 1)}, "
                              f"got {self.g_width}")
        for key in ("color_consistency", "color_mean", "color_cov", "uncond_weight", "kl_weight", "embed_dim"):
            if getattr(self, key) < 0:
                raise GankitError(f"{key} must be >= 0, got {getattr(self, key)}")
        if self.num_classes and self.embed_dim < 1:
            raise GankitError("the class-conditional form needs embed_dim >= 1")

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(self.image_size >> (self.branches - 1 - i) for i in range(self.branches))


@register_model("stackgan2")
class StackGAN2(GANModel):
    config_class = StackGAN2Config
    paper = "StackGAN++: Realistic Image Synthesis with Stacked Generative Adversarial Networks"
    arxiv = "1710.10916"
    data_needs = "images"  # images+labels with num_classes > 0
    capabilities: ClassVar[tuple[str, ...]] = ("scale_consistency",)
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 24, "ema": 0.999}

    def __init__(self, config: StackGAN2Config) -> None:
        super().__init__(config)
        c = config
        code = c.embed_dim if c.num_classes else 0
        self.generator = StackGenerator(c.latent_dim, c.channels, c.sizes, c.g_width, c.residual, c.num_classes,
                                        code)
        self.discriminators = nn.ModuleList([ScaleDiscriminator(c.channels, s, c.d_width, code) for s in c.sizes])
        self.optimizers = {"discriminator": adam(self.discriminators.parameters(), c.lr_d, c.betas),
                           "generator": adam(self.generator.parameters(), c.lr_g, c.betas)}

    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels, image_size=c.image_size, needs_labels=c.num_classes > 0,
                        num_classes=c.num_classes)

    def draw(self, n: int, y: torch.Tensor | None, generator: torch.Generator | None = None,
             net: nn.Module | None = None) -> tuple[list[torch.Tensor], torch.Tensor | None, torch.Tensor | None]:
        """G's (or `net`'s) images at every scale for fresh z (and CA noise), with CA's (mu, logvar)."""
        c = self.config
        code = self.latent(n, c.latent_dim + (c.embed_dim if c.num_classes else 0), generator)
        z, eps = code[:, :c.latent_dim], code[:, c.latent_dim:]  # one draw, so a seed fixes both
        return (net or self.generator)(z, y, eps if c.num_classes else None)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c = self.config
        y = batch.labels if c.num_classes else None
        if c.num_classes and y is None:
            raise GankitError(f"{self.name} with num_classes {c.num_classes} trains on labelled images: the batch has none")
        reals = [downsample(batch.images, s) for s in c.sizes]  # coarse to fine, (B, C, S_i, S_i)
        with self.autocast():
            fakes, mu, logvar = self.draw(len(batch.images), y)
            loss_d = torch.zeros((), device=self.device)
            if y is not None:  # D sees the class through G's CA mean, fixed during its step (the code's mu.detach())
                code = mu.detach()
                wrong = (y + torch.randint(1, c.num_classes, y.shape, device=y.device)) % c.num_classes
                with torch.no_grad():
                    wrong_code = self.generator.class_code(wrong)
            for d, real, fake in zip(self.discriminators, reals, fakes):
                unc_real, cond_real = d(real, code if y is not None else None)
                unc_fake, cond_fake = d(fake.detach(), code if y is not None else None)
                if y is None:
                    loss_d = loss_d + d_bce(unc_real, unc_fake)
                else:  # joint loss: conditional logit (real / wrong class / fake) + weighted unconditional
                    cond_wrong = d(real, wrong_code)[1]
                    loss_d = loss_d + (d_bce(cond_real, cond_fake) + F.softplus(cond_wrong).mean()
                                       + c.uncond_weight * d_bce(unc_real, unc_fake))
        self.optimize(loss_d, "discriminator")
        with self.frozen(self.discriminators), self.autocast():
            loss_adv = torch.zeros((), device=self.device)
            for d, fake in zip(self.discriminators, fakes):
                unc, cond = d(fake, mu)  # mu with its graph: G's CA also learns from D(x, c)
                loss_adv = loss_adv + (g_nonsaturating(unc) if y is None
                                       else g_nonsaturating(cond) + c.uncond_weight * g_nonsaturating(unc))
            loss_color = self.color_loss(fakes)
            loss_kl = kl_standard_normal(mu, logvar) if y is not None else torch.zeros((), device=self.device)
            loss_g = loss_adv + c.color_consistency * loss_color + c.kl_weight * loss_kl
        self.optimize(loss_g, "generator")
        return {"loss/d": loss_d.detach(), "loss/g": loss_adv.detach(), "loss/color": loss_color.detach(),
                "loss/kl": loss_kl.detach(), "d/real": torch.sigmoid(unc_real.detach().float()).mean(),
                "d/fake": torch.sigmoid(unc_fake.detach().float()).mean()}

    def color_loss(self, fakes: list[torch.Tensor]) -> torch.Tensor:
        """The colour-consistency term (unweighted by `color_consistency`) over adjacent scales: each finer
        scale's pixel statistics are pulled to the coarser one's, which is detached (the target)."""
        c = self.config
        return sum((color_consistency(fine.float(), coarse.detach().float(), c.color_mean, c.color_cov)
                    for coarse, fine in zip(fakes, fakes[1:])), torch.zeros((), device=self.device))

    # ---- sampling ------------------------------------------------------------------------
    def check_labels(self, n: int, labels: torch.Tensor | None) -> torch.Tensor | None:
        """The labels to draw on the model's device (0..K-1 cycled when None); None when unconditional."""
        k = self.config.num_classes
        if not k:
            if labels is not None:
                raise GankitError(f"{self.name} is unconditional (num_classes 0): it takes no labels")
            return None
        return check_class_labels(labels, n, k, self.device)

    @torch.no_grad()
    def sample_scales(self, n: int, labels: torch.Tensor | None = None,
                      generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """The same `n` draws at every scale, coarse to fine: each (n, C, S_i, S_i) in [-1, 1]."""
        g = self.net("generator")
        with self.eval_mode(g):
            images = self.draw(n, self.check_labels(n, labels), generator, g)[0]
        return [x.float().clamp(-1, 1) for x in images]

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.sample_scales(n, labels, generator)[-1]  # (n, C, S, S), the finest scale

    def grid_nrow(self, n: int) -> int | None:
        return max(1, min(10, n // self.config.num_classes)) if self.config.num_classes else None

    def grid_labels(self, n: int) -> torch.Tensor | None:
        """Row i shows class i in the conditional form."""
        if not self.config.num_classes:
            return None
        return (torch.arange(n, device=self.device) // self.grid_nrow(n)) % self.config.num_classes  # (n,)
