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

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating, r1_penalty
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn.equalized import EqualizedConv2d, EqualizedLinear, PixelNorm
from gankit.nn.progressive import ProgressiveDiscriminator, lrelu
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class StyleGANConfig(Config):
    latent_dim: int = 128  # z and w alike
    channels: int = 1
    widths: tuple[int, ...] = (128, 128, 64, 32)  # channels at 4, 8, 16, 32 px; the last is the final size
    d_widths: tuple[int, ...] = ()  # D's channels per resolution; empty: the same as G's
    mapping_layers: int = 8
    mapping_lr: float = 0.01  # the mapping net's learning-rate multiplier
    style_mixing: float = 0.9  # share of batches generated from two w's with a random crossover layer
    w_avg_decay: float = 0.995
    r1_gamma: float = 10.0
    lr: float = 1e-3
    betas: tuple[float, float] = (0.0, 0.99)
    mbstd_group: int = 4

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "widths": (8, 4), "mapping_layers": 2},
        "cpu": {"latent_dim": 128, "widths": (128, 128, 64, 32)},
        "digits": {"latent_dim": 64, "widths": (64, 64, 32, 16), "mapping_layers": 4},
    }

    @property
    def image_size(self) -> int:
        return 4 * 2 ** (len(self.widths) - 1)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if not self.widths or min(self.widths) < 1:
            raise GankitError(f"widths needs one positive channel count per resolution from 4 px, got {self.widths}")
        if self.d_widths and (len(self.d_widths) != len(self.widths) or min(self.d_widths) < 1):
            raise GankitError(f"d_widths needs {len(self.widths)} positive channel counts (one per resolution "
                              f"of widths {self.widths}) or none, got {self.d_widths}")
        if self.mapping_layers < 1:
            raise GankitError(f"mapping_layers must be at least 1, got {self.mapping_layers}")
        if not 0 <= self.style_mixing <= 1 or not 0 <= self.w_avg_decay < 1:
            raise GankitError(f"style_mixing must be in [0, 1] and w_avg_decay in [0, 1), got "
                              f"{self.style_mixing} and {self.w_avg_decay}")


class MappingNetwork(nn.Module):
    """z -> pixel norm -> `layers` equalised dense layers with leaky ReLU -> w (B, w_dim)."""

    def __init__(self, latent_dim: int, w_dim: int, layers: int, lr_multiplier: float) -> None:
        super().__init__()
        self.norm = PixelNorm()
        self.layers = nn.ModuleList([EqualizedLinear(latent_dim if i == 0 else w_dim, w_dim,
                                                     lr_multiplier=lr_multiplier) for i in range(layers)])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.norm(z)
        for layer in self.layers:
            h = lrelu(layer(h))
        return h


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


class StyleGenerator(nn.Module):
    """Mapping net plus synthesis net: a learned 4x4 constant, two styled layers per resolution
    (the first of each above 4 px upsamples), a 1x1 toRGB at the end. One w per layer."""

    def __init__(self, latent_dim: int, widths: tuple[int, ...], channels: int, mapping_layers: int,
                 mapping_lr: float) -> None:
        super().__init__()
        self.mapping = MappingNetwork(latent_dim, latent_dim, mapping_layers, mapping_lr)
        self.const = nn.Parameter(torch.ones(1, widths[0], 4, 4))
        layers = [StyledLayer(widths[0], widths[0], latent_dim, conv=False), StyledLayer(widths[0], widths[0], latent_dim)]
        for i in range(1, len(widths)):
            layers += [StyledLayer(widths[i - 1], widths[i], latent_dim, upsample=True),
                       StyledLayer(widths[i], widths[i], latent_dim)]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = EqualizedConv2d(widths[-1], channels, 1, gain=1.0)
        self.resolutions = [4 * 2 ** (i // 2) for i in range(len(layers))]
        self.register_buffer("w_avg", torch.zeros(latent_dim))
        # The official code's fixed noise inputs, for renders that must not vary (mixing grids, PPL).
        self.register_buffer("fixed_noise", torch.randn(sum(r * r for r in self.resolutions)))

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def noise(self, n: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Fresh per-pixel noise, one (n, 1, R, R) map per layer."""
        device = self.const.device
        return [torch.randn(n, 1, r, r, device=device, generator=generator) for r in self.resolutions]

    def fixed(self) -> list[torch.Tensor]:
        """The fixed noise, one (1, 1, R, R) map per layer (broadcast over the batch)."""
        return [m.view(1, 1, r, r) for m, r in zip(self.fixed_noise.split([r * r for r in self.resolutions]),
                                                    self.resolutions)]

    def synthesis(self, ws: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        """ws (B, L, w_dim), one w per layer -> images (B, C, S, S)."""
        x = self.const.expand(ws.shape[0], -1, -1, -1)  # (B, W0, 4, 4)
        for i, (layer, n) in enumerate(zip(self.layers, noise)):
            x = layer(x, ws[:, i], n)  # (B, W, R_i, R_i)
        return self.to_rgb(x)

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """w (B, w_dim) -> (B, L, w_dim): the same style at every layer."""
        return w.unsqueeze(1).expand(-1, self.num_layers, -1)


@register_model("stylegan")
class StyleGAN(GANModel):
    config_class = StyleGANConfig
    paper = "A Style-Based Generator Architecture for Generative Adversarial Networks"
    arxiv = "1812.04948"
    data_needs = "images"
    capabilities: ClassVar[tuple[str, ...]] = ("style_mixing",)
    train_defaults: ClassVar[dict[str, Any]] = {"ema": 0.999}

    def __init__(self, config: StyleGANConfig) -> None:
        super().__init__(config)
        c = config
        self.generator = StyleGenerator(c.latent_dim, c.widths, c.channels, c.mapping_layers, c.mapping_lr)
        self.discriminator = ProgressiveDiscriminator(c.d_widths or c.widths, c.channels, c.mbstd_group, grows=False)
        self.optimizers = {"discriminator": adam(self.discriminator.parameters(), c.lr, c.betas),
                           "generator": adam(self.generator.parameters(), c.lr, c.betas)}

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    def _train_styles(self, n: int) -> torch.Tensor:
        """(n, L, w_dim) styles for a training batch: with probability `style_mixing` the layers from a
        random crossover on take a second latent's w (one crossover per batch, as the official code)."""
        g = self.generator
        w = g.mapping(self.latent(n, self.config.latent_dim))  # (n, w_dim)
        with torch.no_grad():
            g.w_avg.lerp_(w.detach().float().mean(0), 1 - self.config.w_avg_decay)
        ws = g.broadcast(w)
        if g.num_layers > 1 and torch.rand(()).item() < self.config.style_mixing:
            cut = int(torch.randint(1, g.num_layers, ()).item())
            w2 = g.mapping(self.latent(n, self.config.latent_dim))
            ws = torch.cat([ws[:, :cut], g.broadcast(w2)[:, cut:]], dim=1)
        return ws

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c, g, d = self.config, self.generator, self.discriminator
        real = batch.images.detach().requires_grad_(True)  # (B, C, S, S)
        n = real.shape[0]
        with self.autocast():
            with torch.no_grad():
                fake = g.synthesis(self._train_styles(n), g.noise(n))
            real_out = d(real)
            loss_d = d_bce(real_out, d(fake))
            r1 = 0.5 * c.r1_gamma * r1_penalty(real_out.float(), real)
        self.optimize(loss_d + r1, "discriminator")
        with self.frozen(d), self.autocast():
            fake = g.synthesis(self._train_styles(n), g.noise(n))
            loss_g = g_nonsaturating(d(fake))
        self.optimize(loss_g, "generator")
        return {"loss/d": loss_d.detach(), "loss/g": loss_g.detach(), "penalty/r1": r1.detach()}

    # ---- sampling and the verbs ----------------------------------------------------------
    def _render(self, ws: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        g = self.net("generator")
        with self.eval_mode(g):
            return g.synthesis(ws, noise).float().clamp(-1, 1)

    def _ws(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        g = self.net("generator")
        w = g.mapping(z)
        if psi != 1.0:
            w = g.w_avg + psi * (w - g.w_avg)
        return g.broadcast(w)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.sample_truncated(n, 1.0, generator=generator)

    @torch.no_grad()
    def sample_truncated(self, n: int, threshold: float, labels: torch.Tensor | None = None,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """`threshold` is psi: 1 leaves w alone, 0 gives the mean style's image."""
        if threshold < 0:
            raise GankitError(f"the truncation psi must be at least 0, got {threshold}")
        z = self.latent(n, self.config.latent_dim, generator)
        return self._render(self._ws(z, threshold), self.net("generator").noise(n, generator))  # (n, C, S, S)

    def latent_spaces(self) -> tuple[str, ...]:
        return ("z", "w")

    def to_space(self, z: torch.Tensor, space: str) -> torch.Tensor:
        """z (B, latent_dim) in `space`: itself ("z") or its mapped style ("w", (B, w_dim))."""
        if space not in self.latent_spaces():
            raise GankitError(f"stylegan's latent spaces are z and w, got {space!r}")
        return z if space == "z" else self.net("generator").mapping(z)

    def render(self, latents: torch.Tensor, space: str = "z") -> torch.Tensor:
        """Images (B, C, S, S) of latents in `space`, with the fixed noise (so only the latent varies);
        differentiable in the latents (the projector optimises w through it)."""
        w = self.to_space(latents, "w") if space == "z" else latents
        g = self.net("generator")
        return self._render(g.broadcast(w), g.fixed())

    def mixing_splits(self) -> dict[str, int]:
        """Crossover layer per name: B's styles start at the first layer of that resolution."""
        g = self.net("generator")
        return {f"{g.resolutions[i - 1]}px": i for i in range(2, g.num_layers, 2)}

    @torch.no_grad()
    def mix(self, z_coarse: torch.Tensor, z_fine: torch.Tensor, split: int) -> torch.Tensor:
        """Images with the styles of layers below `split` from `z_coarse`, the rest from `z_fine`
        (both (B, latent_dim)), with the fixed noise."""
        g = self.net("generator")
        ws = torch.cat([self._ws(z_coarse)[:, :split], self._ws(z_fine)[:, split:]], dim=1)
        return self._render(ws, g.fixed())

    @torch.no_grad()
    def mixing_grids(self, generator: torch.Generator | None = None, sources: int = 6) -> dict[str, tuple[torch.Tensor, int]]:
        """One grid per crossover: the top row shows the B sources, the left column the A sources, and
        cell (i, j) takes A_i's styles up to the named resolution and B_j's above it."""
        za = self.latent(sources, self.config.latent_dim, generator)
        zb = self.latent(sources, self.config.latent_dim, generator)
        g = self.net("generator")
        a = self._render(self._ws(za), g.fixed())
        b = self._render(self._ws(zb), g.fixed())
        blank = torch.full_like(a[:1], -1.0)
        grids = {}
        for name, split in self.mixing_splits().items():
            rows = [torch.cat([blank, b])]
            for i in range(sources):
                rows.append(torch.cat([a[i : i + 1], self.mix(za[i : i + 1].expand(sources, -1), zb, split)]))
            grids[f"coarse-up-to-{name}"] = (torch.cat(rows), sources + 1)  # ((S + 1)^2, C, H, W)
        return grids
