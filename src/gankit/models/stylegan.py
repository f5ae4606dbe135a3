"""A Style-Based Generator Architecture for Generative Adversarial Networks (Karras et al., arXiv 1812.04948).

The one idea: G maps z through an 8-layer MLP to an intermediate latent w, and w sets the style of
every layer through adaptive instance norm (per-channel scale and bias from an affine map of w),
while the synthesis net starts from a learned constant and gets per-pixel noise for stochastic
detail; mixing two w's at a random layer during training (style mixing) keeps styles local to
their layers, so coarse styles (4-8 px) carry pose and identity and fine ones the texture.
Truncation happens in W: w' = w_avg + psi (w - w_avg), w_avg a running mean of mapped latents.
Defaults (the paper and its official config): mapping 8 layers, lr multiplier 0.01, style mixing
0.9, w_avg decay 0.995, non-saturating logistic loss with R1 gamma 10 on every D step, Adam 1e-3
betas (0, 0.99), ProGAN's D with minibatch stddev, equalised learning rate everywhere; train with
`--ema 0.999` (on by default) for G's EMA.
Deviations:
- no progressive growing (StyleGAN2's setting; the paper grows as ProGAN) and no blur filter
  when resampling; widths scaled to a CPU (paper: 512 channels, 1024 px);
- truncation applies to every layer (the official code's default keeps it to the coarse 8 of 18).
Proof: see docs/variants/stylegan.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gankit.losses import d_bce, g_nonsaturating, r1_penalty
from gankit.models.base import Batch
from gankit.models.style_family import StyleBasedGAN, StyleConfig
from gankit.nn.equalized import EqualizedConv2d, EqualizedLinear
from gankit.nn.progressive import ProgressiveDiscriminator, lrelu
from gankit.nn.style import StyleGeneratorBase
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class StyleGANConfig(StyleConfig):
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "widths": (8, 4), "mapping_layers": 2},
        "cpu": {"latent_dim": 128, "widths": (128, 128, 64, 32)},
        "digits": {"latent_dim": 64, "widths": (64, 64, 32, 16), "mapping_layers": 4},
    }


class StyledLayer(nn.Module):
    """[upsample, conv3] -> + per-pixel noise (a learned strength per channel) -> leaky ReLU ->
    instance norm -> AdaIN: x * (1 + scale(w)) + bias(w). The first layer has no conv: it styles the
    learned constant, which absorbs the bias."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv: bool = True,
                 upsample: bool = False) -> None:
        super().__init__()
        self.conv = EqualizedConv2d(in_channels, out_channels, 3) if conv else None
        self.upsample = upsample
        self.noise_strength = nn.Parameter(torch.zeros(out_channels))
        self.style = EqualizedLinear(w_dim, 2 * out_channels, gain=1.0)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.conv is not None:
            x = self.conv(x)
        x = lrelu(x + noise * self.noise_strength.view(1, -1, 1, 1))  # noise (B or 1, 1, H, W)
        x = F.instance_norm(x, eps=1e-8)
        scale, bias = self.style(w).chunk(2, dim=1)  # (B, C) each
        return x * (1 + scale[..., None, None]) + bias[..., None, None]


class StyleGenerator(StyleGeneratorBase):
    """Mapping net plus synthesis net: a learned 4x4 constant, two styled layers per resolution
    (the first of each above 4 px upsamples), a 1x1 toRGB at the end. One w and one noise map per layer."""

    def __init__(self, latent_dim: int, widths: tuple[int, ...], channels: int, mapping_layers: int,
                 mapping_lr: float) -> None:
        resolutions = [4 * 2 ** (i // 2) for i in range(2 * len(widths))]
        super().__init__(latent_dim, mapping_layers, mapping_lr, resolutions, resolutions)
        self.const = nn.Parameter(torch.ones(1, widths[0], 4, 4))
        layers = [StyledLayer(widths[0], widths[0], latent_dim, conv=False), StyledLayer(widths[0], widths[0], latent_dim)]
        for i in range(1, len(widths)):
            layers += [StyledLayer(widths[i - 1], widths[i], latent_dim, upsample=True),
                       StyledLayer(widths[i], widths[i], latent_dim)]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = EqualizedConv2d(widths[-1], channels, 1, gain=1.0)

    def synthesis(self, ws: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        """ws (B, L, w_dim), one w per layer -> images (B, C, S, S)."""
        x = self.const.expand(ws.shape[0], -1, -1, -1)  # (B, W0, 4, 4)
        for i, (layer, n) in enumerate(zip(self.layers, noise)):
            x = layer(x, ws[:, i], n)  # (B, W, R_i, R_i)
        return self.to_rgb(x)


@register_model("stylegan")
class StyleGAN(StyleBasedGAN):
    config_class = StyleGANConfig
    paper = "A Style-Based Generator Architecture for Generative Adversarial Networks"
    arxiv = "1812.04948"

    def __init__(self, config: StyleGANConfig) -> None:
        super().__init__(config)
        c = config
        self.generator = StyleGenerator(c.latent_dim, c.widths, c.channels, c.mapping_layers, c.mapping_lr)
        self.discriminator = ProgressiveDiscriminator(c.d_widths or c.widths, c.channels, c.mbstd_group, grows=False)
        self.optimizers = {"discriminator": adam(self.discriminator.parameters(), c.lr, c.betas),
                           "generator": adam(self.generator.parameters(), c.lr, c.betas)}

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c, g, d = self.config, self.generator, self.discriminator
        real = batch.images.detach().requires_grad_(True)  # (B, C, S, S)
        n = real.shape[0]
        with self.autocast():
            with torch.no_grad():
                fake = g.synthesis(self.train_styles(n), g.noise(n))
            real_out = d(real)
            loss_d = d_bce(real_out, d(fake))
            r1 = 0.5 * c.r1_gamma * r1_penalty(real_out.float(), real)
        self.optimize(loss_d + r1, "discriminator")
        with self.frozen(d), self.autocast():
            fake = g.synthesis(self.train_styles(n), g.noise(n))
            loss_g = g_nonsaturating(d(fake))
        self.optimize(loss_g, "generator")
        return {"loss/d": loss_d.detach(), "loss/g": loss_g.detach(), "penalty/r1": r1.detach()}
