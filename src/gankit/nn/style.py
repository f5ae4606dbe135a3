"""Pieces of the style-based generators (StyleGAN, arXiv 1812.04948; StyleGAN2, arXiv 1912.04958)."""

from __future__ import annotations

import torch
from torch import nn

from gankit.nn.equalized import EqualizedLinear, PixelNorm
from gankit.nn.progressive import lrelu


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


class StyleGeneratorBase(nn.Module):
    """What the style-based generators share: the mapping net, the running mean of w (for truncation),
    one w per entry of `w_resolutions`, and per-pixel noise maps at `noise_resolutions`, fresh or the
    fixed ones the official code keeps for renders that must not vary. Subclasses build the
    synthesis net and implement `synthesis(ws (B, num_ws, w_dim), noise) -> (B, C, S, S)`."""

    def __init__(self, latent_dim: int, mapping_layers: int, mapping_lr: float, w_resolutions: list[int],
                 noise_resolutions: list[int]) -> None:
        super().__init__()
        self.mapping = MappingNetwork(latent_dim, latent_dim, mapping_layers, mapping_lr)
        self.w_resolutions = list(w_resolutions)
        self.noise_resolutions = list(noise_resolutions)
        self.register_buffer("w_avg", torch.zeros(latent_dim))
        self.register_buffer("fixed_noise", torch.randn(sum(r * r for r in self.noise_resolutions)))

    @property
    def num_ws(self) -> int:
        return len(self.w_resolutions)

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """w (B, w_dim) -> (B, num_ws, w_dim): the same style everywhere."""
        return w.unsqueeze(1).expand(-1, self.num_ws, -1)

    def noise(self, n: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Fresh per-pixel noise, one (n, 1, R, R) map per noise input."""
        device = self.fixed_noise.device
        return [torch.randn(n, 1, r, r, device=device, generator=generator) for r in self.noise_resolutions]

    def fixed(self) -> list[torch.Tensor]:
        """The fixed noise, one (1, 1, R, R) map per noise input (broadcast over the batch)."""
        sizes = [r * r for r in self.noise_resolutions]
        return [m.view(1, 1, r, r) for m, r in zip(self.fixed_noise.split(sizes), self.noise_resolutions)]

    def synthesis(self, ws: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError
