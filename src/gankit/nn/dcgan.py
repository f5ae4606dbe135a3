"""DCGAN generator and discriminator (Radford et al., arXiv 1511.06434) for any 2^k resolution.

G: project z to a 4x4 map, then stride-2 transposed convs halving the width each time.
D: the mirror image, stride-2 convs doubling the width, then a 4x4 conv to one logit.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.errors import GankitError


def check_dcgan_size(image_size: int) -> int:
    """Number of 2x steps between 4x4 and `image_size`; errors unless a power of two >= 8."""
    steps = math.log2(image_size) - 2 if image_size > 0 else -1
    if steps < 1 or steps != int(steps):
        raise GankitError(f"image_size {image_size} is not supported: use a power of two >= 8 (32 for MNIST, 64 for folders)")
    return int(steps)


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        steps = check_dcgan_size(image_size)
        c = width * 2 ** (steps - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, c, 4, 1, 0, bias=False),  # (B, c, 4, 4)
            nn.BatchNorm2d(c),
            nn.ReLU(True),
        ]
        for _ in range(steps - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]  # (B, C, S, S)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """`norm="batch"` is the paper's; critics that penalise per-sample gradients need "none"."""

    def __init__(self, channels: int, image_size: int, width: int, norm: str = "batch", out_features: int = 1) -> None:
        super().__init__()
        steps = check_dcgan_size(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = width
        for _ in range(steps - 1):
            layers.append(nn.Conv2d(c, c * 2, 4, 2, 1, bias=norm == "none"))
            if norm == "batch":
                layers.append(nn.BatchNorm2d(c * 2))
            elif norm != "none":
                raise GankitError(f"unknown discriminator norm {norm!r}: choose batch or none")
            layers.append(nn.LeakyReLU(0.2, True))
            c *= 2
        self.trunk = nn.Sequential(*layers)  # (B, c, 4, 4)
        self.head = nn.Conv2d(c, out_features, 4, 1, 0)  # (B, out, 1, 1)
        self.feature_dim = c * 16

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x).flatten(1)  # (B, c*16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.trunk(x)).flatten(1)
        return out.squeeze(1) if out.shape[1] == 1 else out  # (B,) logits
