"""Batch norm whose scale and shift come from a conditioning vector instead of being fixed parameters:
self-modulation (SELF-MOD, Chen et al., arXiv 1810.01365: from G's own z) and conditional BN (BigGAN:
from a class embedding and a chunk of z) are both this block."""

from __future__ import annotations

import torch
from torch import nn


class ModulatedBatchNorm2d(nn.Module):
    """(B, C, H, W), cond (B, D) -> BN(x) * (1 + gamma(cond)) + beta(cond), statistics without affine.
    `hidden` > 0: gamma and beta are each a one-hidden-layer ReLU MLP of `cond` (SELF-MOD); 0: linear
    maps (BigGAN). The "1 +" starts the block near plain BN (gamma, beta ~ 0 at init)."""

    def __init__(self, channels: int, cond_dim: int, hidden: int = 0) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gamma, self.beta = self._head(cond_dim, channels, hidden), self._head(cond_dim, channels, hidden)

    @staticmethod
    def _head(cond_dim: int, channels: int, hidden: int) -> nn.Module:
        if hidden:
            return nn.Sequential(nn.Linear(cond_dim, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        return nn.Linear(cond_dim, channels)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gamma = self.gamma(cond)[:, :, None, None]  # (B, C, 1, 1)
        beta = self.beta(cond)[:, :, None, None]
        return self.norm(x) * (1 + gamma) + beta
