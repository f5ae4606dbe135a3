"""Analyzing and Improving the Image Quality of StyleGAN (Karras et al., arXiv 1912.04958), with
Training Generative Adversarial Networks with Limited Data (ADA, Karras et al., arXiv 2006.06676).

The one idea: replace AdaIN by weight modulation and demodulation: each conv's weights are scaled
per input channel by the style s(w) and renormalised per output channel, so the activations keep
unit variance without normalising the data (which caused StyleGAN's droplet artefacts). Also a skip
G (toRGB at every resolution, summed) and a residual D instead of growing, lazy R1 (every 16 D
steps) and path-length regularisation (every 4 G steps) with Adam's rate and betas adjusted for the
extra steps. ADA (`ada=true`): everything D sees is augmented with probability p, and p follows
r_t = E[sign(D(real))] towards 0.6.
Defaults (the ADA code's `cifar` config where it has one): mapping 2 layers, Adam 2.5e-3 betas
(0, 0.99), mbstd group 4 (cifar: 32), style mixing 0.9, path-length weight 2 and R1 gamma 10 (the
StyleGAN2 paper's config F; cifar turns the first two off and uses gamma 0.01), G's EMA 0.999, AMP on
CUDA by the engine.
Deviations:
- R1 gamma 10, not cifar's 0.01: at our widths 0.01 let D win and G collapse (docs/variants);
- resampling is nearest / average pooling without the FIR filter, and there is no conv clamp;
- ADA's p moves at `ada_speed_images` (default 100k images for 0 -> 1, not 500k: our runs are short);
- the lazy regularisers take their own optimizer steps, as the official code, but before the main
  losses' (official: after), so each net's last gradients are the main ones.
Proof: see docs/variants/stylegan2.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating, r1_penalty
from gankit.models.base import Batch
from gankit.models.style_family import StyleBasedGAN, StyleConfig
from gankit.nn.augment import AdaptiveAugment
from gankit.nn.equalized import EqualizedConv2d, EqualizedLinear, MinibatchStdDev
from gankit.nn.progressive import lrelu
from gankit.nn.style import StyleGeneratorBase
from gankit.optim import adam
from gankit.registry import register_model

SQRT2 = math.sqrt(2)


@dataclass
class StyleGAN2Config(StyleConfig):
    mapping_layers: int = 2
    r1_gamma: float = 10.0  # the StyleGAN2 paper's; ADA's cifar 0.01 lets D win at CPU widths (docs/variants)
    r1_interval: int = 16  # lazy R1: every this many D steps (0: off)
    pl_weight: float = 2.0  # path-length regularisation (0: off)
    pl_interval: int = 4
    pl_decay: float = 0.01  # of the running mean path length
    lr: float = 2.5e-3
    ada: bool = False  # adaptive discriminator augmentation
    ada_target: float = 0.6
    ada_interval: int = 4  # D steps between updates of p
    ada_speed_images: int = 100_000  # images over which p may move from 0 to 1
    ada_p: float = 0.0  # p at the start; with ada=false and ada_p > 0, a fixed augmentation probability

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "widths": (8, 4), "r1_interval": 2, "pl_interval": 2},
        "cpu": {"latent_dim": 128, "widths": (128, 128, 64, 32)},
        "digits": {"latent_dim": 64, "widths": (64, 64, 32, 16)},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.r1_interval, self.pl_interval, self.ada_interval) < 0 or self.ada_interval == 0:
            raise GankitError(f"r1_interval and pl_interval must be >= 0 (0: off) and ada_interval >= 1, got "
                              f"{self.r1_interval}, {self.pl_interval}, {self.ada_interval}")
        if not 0 <= self.ada_p < 1:
            raise GankitError(f"ada_p must be in [0, 1), got {self.ada_p}")


class ModulatedConv2d(nn.Module):
    """A conv whose weights are scaled per input channel by the style s = affine(w) (bias init 1) and,
    with `demodulate`, renormalised per output channel: w'' = w' / sqrt(sum w'^2). One grouped conv
    over the batch (each sample its own weights)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int, demodulate: bool = True,
                 upsample: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.affine = EqualizedLinear(w_dim, in_channels, gain=1.0)
        nn.init.ones_(self.affine.bias)
        self.demodulate, self.upsample, self.padding = demodulate, upsample, kernel_size // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        s = self.affine(w)  # (B, in)
        weight = self.weight[None] * self.scale * s[:, None, :, None, None]  # (B, out, in, k, k)
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        h, wd = x.shape[-2:]
        out = F.conv2d(x.reshape(1, b * c, h, wd), weight.reshape(-1, c, *weight.shape[-2:]).to(x.dtype),
                       padding=self.padding, groups=b)
        return out.reshape(b, -1, h, wd)  # (B, out, H, W)


class SynthesisLayer(nn.Module):
    """Modulated conv -> + per-pixel noise (learned strength) -> bias -> leaky ReLU * sqrt 2."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, upsample=upsample)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        x = self.conv(x, w) + noise * self.noise_strength  # noise (B or 1, 1, H, W)
        return lrelu(x + self.bias.view(1, -1, 1, 1)) * SQRT2


class SkipGenerator(StyleGeneratorBase):
    """A learned 4x4 constant, then per resolution (upsampling conv, conv) and a modulated 1x1 toRGB
    (no demodulation) whose output is added to the upsampled image so far. A block's toRGB takes
    the next block's first style, as the official code: 2 styles per resolution in all."""

    def __init__(self, latent_dim: int, widths: tuple[int, ...], channels: int, mapping_layers: int,
                 mapping_lr: float) -> None:
        conv_res = [4] + [4 * 2**i for i in range(1, len(widths)) for _ in range(2)]
        super().__init__(latent_dim, mapping_layers, mapping_lr, conv_res + [conv_res[-1]], conv_res)
        self.const = nn.Parameter(torch.randn(1, widths[0], 4, 4))
        convs = [SynthesisLayer(widths[0], widths[0], latent_dim)]
        for i in range(1, len(widths)):
            convs += [SynthesisLayer(widths[i - 1], widths[i], latent_dim, upsample=True),
                      SynthesisLayer(widths[i], widths[i], latent_dim)]
        self.convs = nn.ModuleList(convs)
        self.to_rgb = nn.ModuleList([ModulatedConv2d(w, channels, 1, latent_dim, demodulate=False) for w in widths])
        self.rgb_bias = nn.Parameter(torch.zeros(len(widths), channels))

    def synthesis(self, ws: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        """ws (B, 2 * levels, w_dim) -> images (B, C, S, S)."""
        x = self.const.expand(ws.shape[0], -1, -1, -1)  # (B, W0, 4, 4)
        x = self.convs[0](x, ws[:, 0], noise[0])
        img = self.to_rgb[0](x, ws[:, 1]) + self.rgb_bias[0].view(1, -1, 1, 1)
        for level in range(1, len(self.to_rgb)):
            i = 2 * level - 1  # this level's convs and their styles
            x = self.convs[i](x, ws[:, i], noise[i])  # (B, W_level, 4 * 2^level, ...)
            x = self.convs[i + 1](x, ws[:, i + 1], noise[i + 1])
            rgb = self.to_rgb[level](x, ws[:, i + 2]) + self.rgb_bias[level].view(1, -1, 1, 1)
            img = F.interpolate(img, scale_factor=2, mode="nearest") + rgb
        return img


class ResidualDiscriminator(nn.Module):
    """fromRGB at the top, then per resolution (conv3, conv3, avgpool) beside a 1x1 skip on the pooled
    input, summed and scaled by 1/sqrt 2; minibatch stddev, conv3 and two dense layers at 4x4."""

    def __init__(self, widths: tuple[int, ...], channels: int, mbstd_group: int) -> None:
        super().__init__()
        self.from_rgb = EqualizedConv2d(channels, widths[-1], 1)
        self.blocks = nn.ModuleList()
        for i in range(len(widths) - 1, 0, -1):
            self.blocks.append(nn.ModuleDict({
                "conv0": EqualizedConv2d(widths[i], widths[i], 3),
                "conv1": EqualizedConv2d(widths[i], widths[i - 1], 3),
                "skip": EqualizedConv2d(widths[i], widths[i - 1], 1, gain=1.0)}))
        self.mbstd = MinibatchStdDev(mbstd_group) if mbstd_group > 0 else None
        self.final_conv = EqualizedConv2d(widths[0] + (self.mbstd is not None), widths[0], 3)
        self.final_dense = EqualizedLinear(widths[0] * 16, widths[0])
        self.out = EqualizedLinear(widths[0], 1, gain=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = lrelu(self.from_rgb(x))  # (B, W_top, S, S)
        for block in self.blocks:
            skip = block["skip"](F.avg_pool2d(h, 2))
            h = F.avg_pool2d(lrelu(block["conv1"](lrelu(block["conv0"](h)))), 2)
            h = (h + skip) / SQRT2  # (B, W_next, S / 2, S / 2)
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = lrelu(self.final_conv(h))
        return self.out(lrelu(self.final_dense(h.flatten(1)))).squeeze(1)  # (B,)


def lazy_adam(params: Any, lr: float, betas: tuple[float, float], interval: int) -> torch.optim.Optimizer:
    """Adam for a net regularised every `interval` steps: rate and betas scaled by c = k / (k + 1)."""
    c = interval / (interval + 1) if interval > 0 else 1.0
    return adam(params, lr * c, (betas[0] ** c, betas[1] ** c))


@register_model("stylegan2")
class StyleGAN2(StyleBasedGAN):
    config_class = StyleGAN2Config
    paper = "Analyzing and Improving the Image Quality of StyleGAN"
    arxiv = "1912.04958"

    def __init__(self, config: StyleGAN2Config) -> None:
        super().__init__(config)
        c = config
        self.generator = SkipGenerator(c.latent_dim, c.widths, c.channels, c.mapping_layers, c.mapping_lr)
        self.discriminator = ResidualDiscriminator(c.d_widths or c.widths, c.channels, c.mbstd_group)
        self.augment = AdaptiveAugment(c.ada_target, c.ada_interval, c.ada_speed_images, c.ada_p, adaptive=c.ada)
        self.optimizers = {"discriminator": lazy_adam(self.discriminator.parameters(), c.lr, c.betas, c.r1_interval),
                           "generator": lazy_adam(self.generator.parameters(), c.lr, c.betas, c.pl_interval)}
        self.register_buffer("pl_mean", torch.zeros(()))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))  # drives the lazy intervals

    def _d(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(self.augment(x))  # everything D sees is augmented

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c, g = self.config, self.generator
        real = batch.images  # (B, C, S, S)
        n, step = real.shape[0], int(self.steps)
        logs: dict[str, torch.Tensor] = {}
        # The lazy regularisers step before the main losses, so each net's last gradients are the main ones.
        if c.r1_interval and step % c.r1_interval == 0:
            real_r1 = real.detach().requires_grad_(True)
            with self.autocast():
                r1 = 0.5 * c.r1_gamma * r1_penalty(self._d(real_r1).float(), real_r1)
            self.optimize(r1 * c.r1_interval, "discriminator")
            logs["penalty/r1"] = r1.detach()
        with self.autocast():
            with torch.no_grad():
                fake = g.synthesis(self.train_styles(n), g.noise(n))
            real_out = self._d(real)
            loss_d = d_bce(real_out, self._d(fake))
        self.optimize(loss_d, "discriminator")
        self.augment.observe(real_out)
        if c.pl_weight and c.pl_interval and step % c.pl_interval == 0:
            pl = self._path_length_penalty(max(1, n // 2))
            self.optimize(pl * c.pl_weight * c.pl_interval, "generator")
            logs["penalty/pl"] = pl.detach()
        with self.frozen(self.discriminator), self.autocast():
            fake = g.synthesis(self.train_styles(n), g.noise(n))
            loss_g = g_nonsaturating(self._d(fake))
        self.optimize(loss_g, "generator")
        self.steps += 1
        return {"loss/d": loss_d.detach(), "loss/g": loss_g.detach(), **logs,
                "ada/p": self.augment.p.detach().clone(), "ada/rt": self.augment.rt.detach().clone()}

    def _path_length_penalty(self, n: int) -> torch.Tensor:
        """(|J_w^T y| - a)^2 with y ~ N(0, I) / sqrt(pixels) and a the running mean of the lengths."""
        g = self.generator
        with self.autocast():
            ws = self.train_styles(n)
            img = g.synthesis(ws, g.noise(n))
        y = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img.float() * y).sum(), ws, create_graph=True)  # (n, num_ws, w_dim)
        lengths = grad.float().pow(2).sum(2).mean(1).sqrt()  # (n,)
        with torch.no_grad():
            self.pl_mean.lerp_(lengths.mean(), self.config.pl_decay)
        return (lengths - self.pl_mean).pow(2).mean()
