"""What StyleGAN and StyleGAN2 share: the config of a mapped latent with per-layer styles, style
mixing in training, and the verbs on styles (truncation in W, mixing grids, renders in Z and W for
interpolation and perceptual path length). Each variant file builds its own nets and `train_step`;
its generator is a `gankit.nn.style.StyleGeneratorBase`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from gankit.config import Config, check_channels, pyramid_size
from gankit.errors import GankitError
from gankit.models.base import DataSpec, GANModel


@dataclass
class StyleConfig(Config):
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

    @property
    def image_size(self) -> int:
        return pyramid_size(self.widths)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        pyramid_size(self.widths)
        if self.d_widths and (len(self.d_widths) != len(self.widths) or min(self.d_widths) < 1):
            raise GankitError(f"d_widths needs {len(self.widths)} positive channel counts (one per resolution "
                              f"of widths {self.widths}) or none, got {self.d_widths}")
        if self.mapping_layers < 1:
            raise GankitError(f"mapping_layers must be at least 1, got {self.mapping_layers}")
        if not 0 <= self.style_mixing <= 1 or not 0 <= self.w_avg_decay < 1:
            raise GankitError(f"style_mixing must be in [0, 1] and w_avg_decay in [0, 1), got "
                              f"{self.style_mixing} and {self.w_avg_decay}")


class StyleBasedGAN(GANModel):
    data_needs = "images"
    capabilities: ClassVar[tuple[str, ...]] = ("style_mixing",)
    train_defaults: ClassVar[dict[str, Any]] = {"ema": 0.999}

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    def train_styles(self, n: int) -> torch.Tensor:
        """(n, num_ws, w_dim) styles for a training batch; tracks w_avg. With probability `style_mixing`
        the styles from a random crossover on take a second latent's w (one crossover per batch, as
        the official code)."""
        g = self.generator
        w = g.mapping(self.latent(n, self.config.latent_dim))  # (n, w_dim)
        with torch.no_grad():
            g.w_avg.lerp_(w.detach().float().mean(0), 1 - self.config.w_avg_decay)
        ws = g.broadcast(w)
        if g.num_ws > 1 and torch.rand(()).item() < self.config.style_mixing:
            cut = int(torch.randint(1, g.num_ws, ()).item())
            w2 = g.mapping(self.latent(n, self.config.latent_dim))
            ws = torch.cat([ws[:, :cut], g.broadcast(w2)[:, cut:]], dim=1)
        return ws

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
            raise GankitError(f"{self.name}'s latent spaces are z and w, got {space!r}")
        return z if space == "z" else self.net("generator").mapping(z)

    def render(self, latents: torch.Tensor, space: str = "z") -> torch.Tensor:
        """Images (B, C, S, S) of latents in `space`, with the fixed noise (so only the latent varies);
        differentiable in the latents (the projector optimises w through it)."""
        w = self.to_space(latents, "w") if space == "z" else latents
        g = self.net("generator")
        return self._render(g.broadcast(w), g.fixed())

    def mixing_splits(self) -> dict[str, int]:
        """For each resolution below the last: the first style index above it (where B's styles start)."""
        res = self.net("generator").w_resolutions
        return {f"{r}px": next(i for i, q in enumerate(res) if q > r) for r in sorted(set(res))[:-1]}

    @torch.no_grad()
    def mix(self, z_coarse: torch.Tensor, z_fine: torch.Tensor, split: int) -> torch.Tensor:
        """Images with the styles below index `split` from `z_coarse`, the rest from `z_fine` (both
        (B, latent_dim)), with the fixed noise."""
        ws = torch.cat([self._ws(z_coarse)[:, :split], self._ws(z_fine)[:, split:]], dim=1)
        return self._render(ws, self.net("generator").fixed())

    @torch.no_grad()
    def mixing_grids(self, generator: torch.Generator | None = None, sources: int = 6) -> dict[str, tuple[torch.Tensor, int]]:
        """One grid per crossover: the top row shows the B sources, the left column the A sources, and
        cell (i, j) takes A_i's styles up to the named resolution and B_j's above it."""
        za = self.latent(sources, self.config.latent_dim, generator)
        zb = self.latent(sources, self.config.latent_dim, generator)
        a, b = self.render(za), self.render(zb)
        blank = torch.full_like(a[:1], -1.0)
        grids = {}
        for name, split in self.mixing_splits().items():
            rows = [torch.cat([blank, b])]
            for i in range(sources):
                rows.append(torch.cat([a[i : i + 1], self.mix(za[i : i + 1].expand(sources, -1), zb, split)]))
            grids[f"coarse-up-to-{name}"] = (torch.cat(rows), sources + 1)  # ((S + 1)^2, C, H, W)
        return grids
