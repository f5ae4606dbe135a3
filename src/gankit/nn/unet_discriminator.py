"""U-Net GAN's discriminator (Schonfeld et al., arXiv 2002.12655): the spectral-norm family's ResNet D as
an encoder that gives one score per image, plus a decoder with skip connections back to full
resolution that gives one score per pixel."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError
from gankit.nn.resnet_gan import DownBlock, _xavier


class DecoderBlock(nn.Module):
    """ReLU-upsample-conv3-ReLU-conv3 with an upsampled 1x1 shortcut, no BN (D has none):
    (B, Cin, H, W) -> (B, Cout, 2H, 2W)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1)
        for conv in (self.conv1, self.conv2):
            _xavier(conv, math.sqrt(2))
        _xavier(self.shortcut, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.conv1(F.relu(up))))
        return h + self.shortcut(up)


class UNetDiscriminator(nn.Module):
    """(B, C, S, S) -> (global logits (B,), per-pixel logits (B, 1, S, S)). Encoder: down blocks to
    4x4, ReLU, sum pool, linear. Decoder: up blocks from 4x4, each fed the encoder's map of its side
    (concatenated), then a 1x1 conv. `decoder=False` builds the encoder alone (the ablation); forward
    then returns (global logits, None)."""

    def __init__(self, channels: int, image_size: int = 32, width: int = 64, decoder: bool = True) -> None:
        super().__init__()
        if image_size < 8 or image_size & (image_size - 1):
            raise GankitError(f"the U-Net D needs a power-of-two image_size of at least 8, got {image_size}")
        downs = int(math.log2(image_size)) - 2  # to 4x4
        self.down = nn.ModuleList([DownBlock(channels, width, first=True)]
                                  + [DownBlock(width, width) for _ in range(downs - 1)])
        self.linear = nn.Linear(width, 1)
        _xavier(self.linear, 1.0)
        self.up = nn.ModuleList([DecoderBlock(width if i == 0 else 2 * width, width) for i in range(downs)]) \
            if decoder else None
        self.to_pixels = nn.Conv2d(width + channels, 1, 1) if decoder else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        skips, h = [], x
        for block in self.down:
            h = block(h)
            skips.append(h)  # sides S/2, S/4, ..., 4
        score = self.linear(F.relu(h).sum((2, 3))).flatten()  # (B,)
        if self.up is None:
            return score, None
        for i, block in enumerate(self.up):
            h = block(h if i == 0 else torch.cat([h, skips[-1 - i]], 1))  # (B, width, 2H, 2W)
        pixels = self.to_pixels(torch.cat([F.relu(h), x], 1))  # (B, 1, S, S)
        return score, pixels
