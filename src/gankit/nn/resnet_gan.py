"""The ResNet G and D of the spectral-norm family at 32x32 (SNGAN's CIFAR nets; SAGAN and BigGAN
build on the same blocks). Shapes follow pfnet-research/sngan_projection's CIFAR models."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError
from gankit.nn.attention import SelfAttention
from gankit.nn.modulated_norm import ModulatedBatchNorm2d


def _xavier(conv: nn.Module, gain: float) -> None:
    nn.init.xavier_uniform_(conv.weight, gain)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class UpBlock(nn.Module):
    """BN-ReLU-upsample-conv3-BN-ReLU-conv3, plus an upsampled 1x1 shortcut: (B, Cin, H, W) -> (B, Cout, 2H, 2W).
    `cond_dim` > 0: both BNs take their scale and shift from a vector (B, cond_dim) given to forward."""

    def __init__(self, cin: int, cout: int, cond_dim: int = 0, cond_hidden: int = 0) -> None:
        super().__init__()
        if cond_dim:
            self.bn1 = ModulatedBatchNorm2d(cin, cond_dim, cond_hidden)
            self.bn2 = ModulatedBatchNorm2d(cout, cond_dim, cond_hidden)
        else:
            self.bn1, self.bn2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.conditional = bool(cond_dim)
        self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1)
        for conv in (self.conv1, self.conv2):
            _xavier(conv, math.sqrt(2))
        _xavier(self.shortcut, 1.0)

    def _norm(self, bn: nn.Module, h: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        return bn(h, cond) if self.conditional else bn(h)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = F.interpolate(F.relu(self._norm(self.bn1, x, cond)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self._norm(self.bn2, self.conv1(h), cond)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DownBlock(nn.Module):
    """(ReLU)-conv3-ReLU-conv3-(avg-pool) with a 1x1 shortcut. `first`: no ReLU before the first conv
    and the shortcut pools before its conv (the paper's "optimized" first block on RGB input)."""

    def __init__(self, cin: int, cout: int, downsample: bool = True, first: bool = False) -> None:
        super().__init__()
        self.downsample, self.first = downsample, first
        self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if (cin != cout or downsample) else None
        for conv in (self.conv1, self.conv2):
            _xavier(conv, math.sqrt(2))
        if self.shortcut is not None:
            _xavier(self.shortcut, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x if self.first else F.relu(x))
        h = self.conv2(F.relu(h))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.first:
            s = self.shortcut(F.avg_pool2d(s, 2))
        elif self.shortcut is not None:
            s = self.shortcut(s)
            s = F.avg_pool2d(s, 2) if self.downsample else s
        return h + s


class ResNetGenerator(nn.Module):
    """z (B, latent_dim) -> linear to (B, width, 4, 4) -> up blocks to `image_size` -> BN-ReLU-conv3-tanh.
    `attention_at`: a self-attention block (SAGAN) on the feature maps of that side. `modulation_hidden`:
    every BN takes its scale and shift from z through an MLP of that hidden width (SELF-MOD)."""

    def __init__(self, latent_dim: int, channels: int, image_size: int = 32, width: int = 256,
                 attention_at: int | None = None, modulation_hidden: int | None = None) -> None:
        super().__init__()
        if image_size < 8 or image_size & (image_size - 1):
            raise GankitError(f"the ResNet nets need a power-of-two image_size of at least 8, got {image_size}")
        self.width = width
        self.modulated = modulation_hidden is not None
        cond = (latent_dim, modulation_hidden) if self.modulated else (0, 0)
        self.project = nn.Linear(latent_dim, width * 16)
        self.blocks = nn.Sequential(*[UpBlock(width, width, *cond) for _ in range(int(math.log2(image_size)) - 2)])
        self.out_norm = ModulatedBatchNorm2d(width, *cond) if self.modulated else None
        self.out = nn.Sequential(nn.BatchNorm2d(width) if not self.modulated else nn.Identity(), nn.ReLU(),
                                 nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())
        _xavier(self.project, 1.0)
        _xavier(self.out[2], 1.0)
        self.attention_at = attention_at
        self.attention = SelfAttention(width) if attention_at else None
        if attention_at and attention_at not in [4 * 2**i for i in range(len(self.blocks))]:
            raise GankitError(f"G's feature maps are 4 to {image_size // 2} pixels wide, not {attention_at}")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(len(z), self.width, 4, 4)
        for block in self.blocks:
            if self.attention is not None and h.shape[-1] == self.attention_at:
                h = self.attention(h)
            h = block(h, z if self.modulated else None)  # (B, width, 2H, 2W)
        if self.out_norm is not None:
            h = self.out_norm(h, z)
        return self.out(h)  # (B, C, S, S)


class ResNetDiscriminator(nn.Module):
    """(B, C, S, S) -> first down block -> down blocks to 8x8 -> two plain blocks -> ReLU -> global sum
    pool -> linear: one logit per image (B,)."""

    def __init__(self, channels: int, image_size: int = 32, width: int = 128, attention_at: int | None = None) -> None:
        super().__init__()
        if image_size < 8 or image_size & (image_size - 1):
            raise GankitError(f"the ResNet nets need a power-of-two image_size of at least 8, got {image_size}")
        downs = int(math.log2(image_size)) - 3  # to 8x8, as the CIFAR net (32 -> 16 -> 8)
        blocks = [DownBlock(channels, width, first=True)] + [DownBlock(width, width) for _ in range(downs - 1)]
        blocks += [DownBlock(width, width, downsample=False), DownBlock(width, width, downsample=False)]
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(width, 1)
        _xavier(self.linear, 1.0)
        self.attention_at = attention_at
        self.attention = SelfAttention(width) if attention_at else None
        sides = [image_size // 2**i for i in range(1, max(downs, 1) + 1)]
        if attention_at and attention_at not in sides:
            raise GankitError(f"D's feature maps are {', '.join(map(str, sides))} pixels wide, not {attention_at}")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h, attended = x, self.attention is None
        for block in self.blocks:
            h = block(h)
            if not attended and h.shape[-1] == self.attention_at:  # once, after the first block of that side
                h, attended = self.attention(h), True
        return F.relu(h).sum((2, 3))  # (B, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(x)).flatten()  # (B,)
