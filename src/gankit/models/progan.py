"""Progressive Growing of GANs for Improved Quality, Stability, and Variation (Karras et al., arXiv 1710.10196).

The one idea: start G and D at 4x4 and add one resolution at a time, fading each new block in with
a weight alpha that rises linearly 0 -> 1 (the old path is upsampled / downsampled beside it), so
the nets learn coarse structure before fine detail. Also: minibatch stddev at D's end, equalised
learning rate, pixel norm in G, WGAN-GP (lambda 10) with the drift term 1e-3 E D(x)^2, G's EMA.
Defaults: Adam 1e-3 betas (0, 0.99), n_critic 1, EMA 0.999, fade over the first half of a stage,
optimizer state reset at each resolution (the official code's reset_opt_for_new_lod).
One engine stage per resolution; `stage_steps` / `stage_batch_sizes` give their lengths and batches.
Deviations: widths and stage lengths scaled to a CPU (paper: 512 channels, 800k images per stage);
a linear map from z to 4x4 instead of a 4x4 transposed conv (the same function); between stages
`sample` upsamples the current resolution to the final size (nearest) so grids keep one shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config, check_channels, pyramid_size
from gankit.errors import GankitError
from gankit.losses import d_wasserstein, g_wasserstein, gradient_penalty, interpolate
from gankit.models.base import Batch, DataSpec, GANModel, Stage, StageProgress, ZLatent
from gankit.nn.equalized import EqualizedConv2d, EqualizedLinear, PixelNorm
from gankit.nn.progressive import ProgressiveDiscriminator, lrelu
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class ProGANConfig(Config):
    latent_dim: int = 128
    channels: int = 1
    widths: tuple[int, ...] = (128, 128, 64, 32)  # channels at 4, 8, 16, 32 px; the last is the final size
    stage_steps: tuple[int, ...] = (1000, 2000, 2000)  # every stage but the last (which runs to the end)
    stage_batch_sizes: tuple[int, ...] = ()  # one per stage; empty: the run's batch size throughout
    fade_fraction: float = 0.5  # share of a stage over which its new block fades in
    lr: float = 1e-3
    betas: tuple[float, float] = (0.0, 0.99)
    gp_weight: float = 10.0
    drift: float = 1e-3
    mbstd_group: int = 4  # 0 turns minibatch stddev off (the paper's ablation)

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "widths": (8, 4), "stage_steps": (1,)},
        "cpu": {"latent_dim": 128, "widths": (128, 128, 64, 32), "stage_steps": (1000, 2000, 2000)},
    }

    @property
    def image_size(self) -> int:
        return pyramid_size(self.widths)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        pyramid_size(self.widths)
        levels = len(self.widths)
        if len(self.stage_steps) != levels - 1 or min(self.stage_steps, default=1) < 1:
            raise GankitError(f"stage_steps gives the steps of every stage but the last: {levels - 1} positive "
                              f"numbers for widths {self.widths}, got {self.stage_steps}")
        if self.stage_batch_sizes and (len(self.stage_batch_sizes) != levels or min(self.stage_batch_sizes) < 1):
            raise GankitError(f"stage_batch_sizes needs {levels} positive batch sizes (one per resolution) or none, "
                              f"got {self.stage_batch_sizes}")
        if not 0 < self.fade_fraction <= 1:
            raise GankitError(f"fade_fraction must be in (0, 1], got {self.fade_fraction}")


class ProgressiveGenerator(nn.Module):
    """z -> 4x4 block, then one (upsample, conv3, conv3) block per resolution; a 1x1 toRGB per level."""

    def __init__(self, latent_dim: int, widths: tuple[int, ...], channels: int) -> None:
        super().__init__()
        self.norm = PixelNorm()
        self.dense = EqualizedLinear(latent_dim, widths[0] * 16, gain=1.0)  # (B, W0 * 4 * 4), paper's gain for it
        self.blocks = nn.ModuleList([nn.ModuleList([EqualizedConv2d(widths[0], widths[0], 3)])])
        for i in range(1, len(widths)):
            self.blocks.append(nn.ModuleList([EqualizedConv2d(widths[i - 1], widths[i], 3),
                                              EqualizedConv2d(widths[i], widths[i], 3)]))
        self.to_rgb = nn.ModuleList([EqualizedConv2d(w, channels, 1, gain=1.0) for w in widths])

    def _block(self, i: int, h: torch.Tensor) -> torch.Tensor:
        if i > 0:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        for conv in self.blocks[i]:
            h = self.norm(lrelu(conv(h)))
        return h

    def forward(self, z: torch.Tensor, level: int, alpha: float = 1.0) -> torch.Tensor:
        h = self.norm(lrelu(self.dense(self.norm(z)).view(z.shape[0], -1, 4, 4)))  # (B, W0, 4, 4)
        h = self._block(0, h)
        prev = h
        for i in range(1, level + 1):
            prev, h = h, self._block(i, h)  # (B, W_i, 4 * 2^i, 4 * 2^i)
        out = self.to_rgb[level](h)
        if level > 0 and alpha < 1:  # fade-in: the previous level's image, upsampled, beside the new block's
            old = F.interpolate(self.to_rgb[level - 1](prev), scale_factor=2, mode="nearest")
            out = old + alpha * (out - old)
        return out


@register_model("progan")
class ProGAN(ZLatent, GANModel):
    config_class = ProGANConfig
    paper = "Progressive Growing of GANs for Improved Quality, Stability, and Variation"
    arxiv = "1710.10196"
    data_needs = "images"
    train_defaults: ClassVar[dict[str, Any]] = {"ema": 0.999}

    def __init__(self, config: ProGANConfig) -> None:
        super().__init__(config)
        c = config
        self.top = len(c.widths) - 1
        self.generator = ProgressiveGenerator(c.latent_dim, c.widths, c.channels)
        self.discriminator = ProgressiveDiscriminator(c.widths, c.channels, c.mbstd_group)
        # Where growth stands; checkpointed, so a loaded run samples at the resolution it reached.
        self.register_buffer("level", torch.tensor(self.top, dtype=torch.long))
        self.register_buffer("alpha", torch.ones(()))
        self._grow_to(self.top)

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    def stages(self, train: Any) -> list[Stage]:
        c = self.config
        batches = c.stage_batch_sizes or (None,) * len(c.widths)
        return [Stage(f"{4 * 2 ** i}px", steps=c.stage_steps[i] if i < self.top else None, image_size=4 * 2 ** i,
                      batch_size=batches[i]) for i in range(len(c.widths))]

    def begin_stage(self, progress: StageProgress) -> None:
        self.level.fill_(progress.index)
        self.alpha.fill_(0.0 if progress.index > 0 else 1.0)
        self._grow_to(progress.index, fading=progress.index > 0)

    def _grow_to(self, level: int, fading: bool = False) -> None:
        """Only the layers this level uses train (the other toRGB/fromRGB and higher blocks keep their
        weights); fresh Adam state per resolution, as in the official code."""
        g, d = self.generator, self.discriminator
        for net, rgb in ((g, list(g.to_rgb)), (d, list(d.from_rgb.values()))):
            for i, block in enumerate(net.blocks):
                block.requires_grad_(i <= level)
            for i, layer in enumerate(rgb):
                layer.requires_grad_(i == level or (fading and i == level - 1))
        live = lambda m: [p for p in m.parameters() if p.requires_grad]  # noqa: E731
        self.optimizers = {"discriminator": adam(live(self.discriminator), self.config.lr, self.config.betas),
                           "generator": adam(live(self.generator), self.config.lr, self.config.betas)}

    def _update_alpha(self) -> None:
        p = self.progress
        if p is not None and p.index > 0:
            self.alpha.fill_(min(1.0, p.fraction / self.config.fade_fraction))

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c = self.config
        self._update_alpha()
        level, alpha = int(self.level), float(self.alpha)
        size = 4 * 2 ** level
        real = batch.images  # (B, C, S, S), S = this stage's resolution when the engine builds the batches
        if real.shape[-1] != size:
            real = F.adaptive_avg_pool2d(real, size)
        if level > 0 and alpha < 1:  # reals fade like fakes: the blurred (down-up) image blends into the sharp one
            low = F.interpolate(F.avg_pool2d(real, 2), scale_factor=2, mode="nearest")
            real = low + alpha * (real - low)
        z = self.latent(real.shape[0], c.latent_dim)
        with self.autocast():
            fake = self.generator(z, level, alpha)
            real_out = self.discriminator(real, level, alpha)
            fake_out = self.discriminator(fake.detach(), level, alpha)
            x_hat = interpolate(real, fake)
            gp = c.gp_weight * gradient_penalty(self.discriminator(x_hat, level, alpha), x_hat)
            drift = c.drift * real_out.float().pow(2).mean()
            loss_d = d_wasserstein(real_out, fake_out)
        self.optimize(loss_d + gp + drift, "discriminator")
        with self.frozen(self.discriminator), self.autocast():
            loss_g = g_wasserstein(self.discriminator(fake, level, alpha))
        self.optimize(loss_g, "generator")
        return {"loss/d": loss_d.detach(), "loss/g": loss_g.detach(), "penalty/gp": gp.detach(),
                "penalty/drift": drift.detach(), "grow/alpha": self.alpha.detach().clone(),
                "grow/level": self.level.detach().float()}

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        g = self.net("generator")
        level = int(self.level)
        with self.eval_mode(g):
            images = g(z, level, float(self.alpha))
        if level < self.top:  # (n, C, 4 * 2^level, ...) -> the final size, so grids and metrics keep one shape
            images = F.interpolate(images, scale_factor=2 ** (self.top - level), mode="nearest")
        return images.float().clamp(-1, 1)  # (n, C, S, S)
