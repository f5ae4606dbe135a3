"""The ResNet G and D of the spectral-norm family at 32x32 (SNGAN's CIFAR nets; SAGAN and BigGAN
build on the same blocks). Shapes follow pfnet-research/sngan_projection's CIFAR models."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError


def _xavier(conv: nn.Module, gain: float) -> None:
    nn.init.xavier_uniform_(conv.weight, gain)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class UpBlock(nn.Module):
    """BN-ReLU-upsample-conv3-BN-ReLU-conv3, plus an upsampled 1x1 shortcut: (B, Cin, H, W) -> (B, Cout, 2H, 2W)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1)
        for conv in (self.conv1, self.conv2):
            _xavier(conv, math.sqrt(2))
        _xavier(self.shortcut, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
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
    """z (B, latent_dim) -> linear to (B, width, 4, 4) -> up blocks to `image_size` -> BN-ReLU-conv3-tanh."""

    def __init__(self, latent_dim: int, channels: int, image_size: int = 32, width: int = 256) -> None:
        super().__init__()
        if image_size < 8 or image_size & (image_size - 1):
            raise GankitError(f"the ResNet nets need a power-of-two image_size of at least 8, got {image_size}")
        self.width = width
        self.project = nn.Linear(latent_dim, width * 16)
        self.blocks = nn.Sequential(*[UpBlock(width, width) for _ in range(int(math.log2(image_size)) - 2)])
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())
        _xavier(self.project, 1.0)
        _xavier(self.out[2], 1.0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(len(z), self.width, 4, 4)
        return self.out(self.blocks(h))  # (B, C, S, S)


class ResNetDiscriminator(nn.Module):
    """(B, C, S, S) -> first down block -> down blocks to 8x8 -> two plain blocks -> ReLU -> global sum
    pool -> linear: one logit per image (B,)."""

    def __init__(self, channels: int, image_size: int = 32, width: int = 128) -> None:
        super().__init__()
        if image_size < 8 or image_size & (image_size - 1):
            raise GankitError(f"the ResNet nets need a power-of-two image_size of at least 8, got {image_size}")
        downs = int(math.log2(image_size)) - 3  # to 8x8, as the CIFAR net (32 -> 16 -> 8)
        blocks = [DownBlock(channels, width, first=True)] + [DownBlock(width, width) for _ in range(downs - 1)]
        blocks += [DownBlock(width, width, downsample=False), DownBlock(width, width, downsample=False)]
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(width, 1)
        _xavier(self.linear, 1.0)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.blocks(x)).sum((2, 3))  # (B, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(x)).flatten()  # (B,)
