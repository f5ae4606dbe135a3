"""BigGAN's class-conditional nets at 32 px (Brock et al., arXiv 1809.11096; shapes after
ajbrock/BigGAN-PyTorch's CIFAR models): a generator whose BNs are conditioned on a shared class
embedding and a chunk of z each (hierarchical z), and a projection discriminator (Miyato & Koyama,
arXiv 1802.05637) on the spectral-norm family's ResNet D."""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.nn.resnet_gan import ResNetDiscriminator, UpBlock, _xavier


class ConditionalResNetGenerator(nn.Module):
    """(z (B, latent_dim), y (B,)) -> (B, C, S, S). z is cut into one chunk per up block plus one for
    the linear to 4x4; block i's BNs take scale and shift from [shared_embedding(y), chunk i]."""

    def __init__(self, latent_dim: int, num_classes: int, channels: int, image_size: int = 32, width: int = 256,
                 embed_dim: int = 128) -> None:
        super().__init__()
        if image_size < 8 or image_size & (image_size - 1):
            raise GankitError(f"the ResNet nets need a power-of-two image_size of at least 8, got {image_size}")
        n_blocks = int(math.log2(image_size)) - 2
        if latent_dim % (n_blocks + 1):
            raise GankitError(f"latent_dim must split into {n_blocks + 1} equal chunks (one per G block and one "
                              f"for the input), got {latent_dim}")
        self.width, self.chunk = width, latent_dim // (n_blocks + 1)
        self.shared = nn.Embedding(num_classes, embed_dim)
        self.project = nn.Linear(self.chunk, width * 16)
        self.blocks = nn.ModuleList([UpBlock(width, width, cond_dim=embed_dim + self.chunk) for _ in range(n_blocks)])
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())
        _xavier(self.project, 1.0)
        _xavier(self.out[2], 1.0)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        chunks = z.split(self.chunk, 1)  # n_blocks + 1 tensors (B, chunk)
        embedding = self.shared(y)  # (B, embed_dim)
        h = self.project(chunks[0]).view(len(z), self.width, 4, 4)
        for block, part in zip(self.blocks, chunks[1:]):
            h = block(h, torch.cat([embedding, part], 1))  # (B, width, 2H, 2W)
        return self.out(h)  # (B, C, S, S)


class ProjectionDiscriminator(nn.Module):
    """(x (B, C, S, S), y (B,)) -> (B,): linear(phi(x)) + <embed(y), phi(x)>, phi the ResNet D's
    pooled features: the class enters as an inner product, not as an input channel."""

    def __init__(self, channels: int, num_classes: int, image_size: int = 32, width: int = 128) -> None:
        super().__init__()
        self.body = ResNetDiscriminator(channels, image_size, width)
        self.embed = nn.Embedding(num_classes, width)
        nn.init.xavier_uniform_(self.embed.weight)

    def score(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The logit (B,) of pooled features `h` (B, width) = `self.body.features(x)` as class `y` (B,)."""
        return self.body.linear(h).flatten() + (self.embed(y) * h).sum(1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.score(self.body.features(x), y)  # (B,)


class HeadedProjectionDiscriminator(ProjectionDiscriminator):
    """A projection D with linear heads on its pooled features phi(x) (B, width), as S3GAN's (Lucic et
    al., arXiv 1903.02271): `rotation` predicts which of 4 quarter turns x was given, `classifier` its
    class (K logits). The heads read the trunk's features, so their losses train the trunk too."""

    def __init__(self, channels: int, num_classes: int, image_size: int = 32, width: int = 128) -> None:
        super().__init__(channels, num_classes, image_size, width)
        self.rotation = nn.Linear(width, 4)
        self.classifier = nn.Linear(width, num_classes)


def quarter_turns(x: torch.Tensor) -> torch.Tensor:
    """`x` (B, C, S, S) turned by 90, 180 and 270 degrees: (3B, C, S, S), one turn after another, so the
    rotation targets of [x, quarter_turns(x)] are [0]*B + [1]*B + [2]*B + [3]*B."""
    return torch.cat([torch.rot90(x, k, (2, 3)) for k in (1, 2, 3)])
