"""SRGAN's networks (Ledig et al., arXiv 1609.04802): the SRResNet generator and the VGG-style critic.

- G: conv9x9-PReLU, B residual blocks (conv3x3-BN-PReLU-conv3x3-BN, identity skip), conv3x3-BN with
  a skip from the first conv, log2(scale) stages of conv3x3 (4x channels)-PixelShuffle(2)-PReLU, and a
  final conv9x9. Zero padding everywhere, so any input size works, down to 1x1.
- D: conv3x3-LeakyReLU(0.2), then pairs of conv3x3 stride 1 / stride 2 with BN and LeakyReLU at
  doubling widths (64-128-256-512 for 4 stages), dense 1024, LeakyReLU, dense 1. It returns the
  logit; the paper's sigmoid lives in the BCE loss (numerically stable).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError


class SRResidualBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.PReLU(width),
            nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """x`scale` super-resolution of images in [-1, 1]. With `bicubic_skip` the network predicts the
    residual over the bicubic upscale (VDSR-style), else its output goes through tanh."""

    def __init__(self, channels: int = 3, scale: int = 4, width: int = 64, blocks: int = 16,
                 bicubic_skip: bool = False) -> None:
        super().__init__()
        stages = int(math.log2(scale))
        if scale < 2 or 2**stages != scale:
            raise GankitError(f"scale must be a power of two (2, 4, 8), got {scale}")
        self.scale, self.blocks, self.bicubic_skip = scale, blocks, bicubic_skip
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, padding=4), nn.PReLU(width))
        self.body = nn.Sequential(*[SRResidualBlock(width) for _ in range(blocks)])
        self.body_end = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))
        self.upsample = nn.Sequential(*[
            m for _ in range(stages) for m in (nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(width))
        ])
        self.tail = nn.Conv2d(width, channels, 9, padding=4)
        if bicubic_skip:  # start exactly at the bicubic upscale; training only adds detail to it
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    @property
    def receptive_radius(self) -> int:
        """How many input pixels on each side influence one output pixel (rounded up): how much
        context a tile needs so that tiling does not change the result."""
        stages = int(math.log2(self.scale))
        r = 4 + 2 * self.blocks + 1 + sum(0.5**i for i in range(stages)) + 4 / self.scale
        return math.ceil(max(r, 2 if self.bicubic_skip else 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, C, h, w)
        h = self.head(x)  # (B, W, h, w)
        h = h + self.body_end(self.body(h))
        h = self.upsample(h)  # (B, W, h * scale, w * scale)
        out = self.tail(h)  # (B, C, h * scale, w * scale)
        if self.bicubic_skip:
            return F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False) + out
        return torch.tanh(out)


class SRDiscriminator(nn.Module):
    """The paper's D for `image_size` inputs: the dense layer fixes the size (a multiple of 2**stages)."""

    def __init__(self, channels: int = 3, image_size: int = 96, width: int = 64, stages: int = 4, dense: int = 1024) -> None:
        super().__init__()
        if image_size % 2**stages:
            raise GankitError(f"the discriminator's {stages} stride-2 stages need image_size a multiple of {2**stages}, "
                              f"got {image_size}")
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.LeakyReLU(0.2, True)]
        c_prev = width
        for i in range(stages):
            c = width * 2**i
            if i:  # stride 1, widening
                layers += [nn.Conv2d(c_prev, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
            layers += [nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
            c_prev = c
        self.features = nn.Sequential(*layers)
        side = image_size // 2**stages
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c_prev * side * side, dense), nn.LeakyReLU(0.2, True),
                                  nn.Linear(dense, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, C, S, S)
        return self.head(self.features(x)).squeeze(1)  # (B,) logits
