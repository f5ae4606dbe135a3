"""BigBiGAN's nets (Donahue & Simonyan, arXiv 1907.02544) on the spectral-norm family's 32 px ResNet
blocks: an unconditional BigGAN generator (hierarchical z, no classes), a ResNet encoder with a mean
and a scale head, and the joint discriminator whose three heads score x alone, z alone and the pair."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError
from gankit.nn.resnet_gan import DownBlock, ResNetDiscriminator, UpBlock, _xavier


def _check_size(image_size: int) -> int:
    if image_size < 8 or image_size & (image_size - 1):
        raise GankitError(f"the ResNet nets need a power-of-two image_size of at least 8, got {image_size}")
    return int(math.log2(image_size)) - 2  # up blocks from 4x4


class HierarchicalResNetGenerator(nn.Module):
    """z (B, latent_dim) -> (B, C, S, S). z is cut into one chunk for the linear to 4x4 and one per up
    block; block i's BNs take their scale and shift from chunk i alone (BigGAN's hierarchical z with
    the class embedding removed)."""

    def __init__(self, latent_dim: int, channels: int, image_size: int = 32, width: int = 256) -> None:
        super().__init__()
        n_blocks = _check_size(image_size)
        if latent_dim % (n_blocks + 1):
            raise GankitError(f"latent_dim must split into {n_blocks + 1} equal chunks (one per G block and one "
                              f"for the input), got {latent_dim}")
        self.width, self.chunk = width, latent_dim // (n_blocks + 1)
        self.project = nn.Linear(self.chunk, width * 16)
        self.blocks = nn.ModuleList([UpBlock(width, width, cond_dim=self.chunk) for _ in range(n_blocks)])
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())
        _xavier(self.project, 1.0)
        _xavier(self.out[2], 1.0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        chunks = z.split(self.chunk, 1)  # n_blocks + 1 tensors (B, chunk)
        h = self.project(chunks[0]).view(len(z), self.width, 4, 4)
        for block, part in zip(self.blocks, chunks[1:]):
            h = block(h, part)  # (B, width, 2H, 2W)
        return self.out(h)  # (B, C, S, S)


class ResidualMLP(nn.Module):
    """(B, in_dim) -> (B, width): a linear to `width`, then `depth` blocks h + W2 relu(W1 relu(h)) (the
    paper's "MLPs with skip connections"), then a ReLU."""

    def __init__(self, in_dim: int, width: int, depth: int) -> None:
        super().__init__()
        self.inp = nn.Linear(in_dim, width)
        self.blocks = nn.ModuleList([nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
                                     for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h)
        return F.relu(h)  # (B, width)


class ResNetEncoder(nn.Module):
    """x (B, C, S, S) -> (mean (B, latent_dim), scale (B, latent_dim)): the ResNet D's trunk (no
    normalisation, so a code does not depend on its batch), global sum pool, and an MLP head whose two
    halves are the mean and, through softplus, the scale of a Gaussian over z."""

    def __init__(self, channels: int, latent_dim: int, image_size: int = 32, width: int = 128, hidden: int = 256) -> None:
        super().__init__()
        _check_size(image_size)
        downs = int(math.log2(image_size)) - 3  # to 8x8, as the D
        blocks = [DownBlock(channels, width, first=True)] + [DownBlock(width, width) for _ in range(downs - 1)]
        self.trunk = nn.Sequential(*blocks, DownBlock(width, width, downsample=False))
        self.head = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent_dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.trunk(x)).sum((2, 3))  # (B, width)
        mean, raw = self.head(h).chunk(2, 1)  # (B, latent_dim) each
        return mean, F.softplus(raw)


class JointScoreDiscriminator(nn.Module):
    """(x (B, C, S, S), z (B, latent_dim)) -> (s_x, s_z, s_xz), each (B,): F(x) the ResNet D's pooled
    features and s_x its linear head; H(z) a residual MLP and s_z a linear of it; s_xz a linear of the
    residual MLP J over [F(x), H(z)]."""

    def __init__(self, channels: int, latent_dim: int, image_size: int = 32, width: int = 128,
                 mlp_width: int = 256, mlp_depth: int = 2) -> None:
        super().__init__()
        self.f = ResNetDiscriminator(channels, image_size, width)  # .features: F, .linear: s_x
        self.h = ResidualMLP(latent_dim, mlp_width, mlp_depth)
        self.j = ResidualMLP(width + mlp_width, mlp_width, mlp_depth)
        self.score_z, self.score_xz = nn.Linear(mlp_width, 1), nn.Linear(mlp_width, 1)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        fx, hz = self.f.features(x), self.h(z)  # (B, width), (B, mlp_width)
        s_x = self.f.linear(fx).flatten()
        s_z = self.score_z(hz).flatten()
        s_xz = self.score_xz(self.j(torch.cat([fx, hz], 1))).flatten()
        return s_x, s_z, s_xz  # (B,) each
