"""Label conditioning for class-conditional variants: a one-hot label concatenated to G's noise
and to D's input (CGAN, arXiv 1411.1784), and a D whose head gives a real/fake logit plus class
logits (ACGAN, arXiv 1610.09585). The wrapped nets are the unconditional MLP and DCGAN ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError
from gankit.nn.dcgan import DCGANDiscriminator
from gankit.nn.generators import build_generator
from gankit.nn.mlp import MLPDiscriminator


def one_hot(labels: torch.Tensor, num_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """`(B,)` int64 class ids -> `(B, K)` one-hot rows in `dtype`; out-of-range ids are an error."""
    if labels.dim() != 1 or labels.dtype != torch.long:
        raise GankitError(f"labels must be a 1-D int64 tensor, got shape {tuple(labels.shape)} dtype {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise GankitError(f"labels must lie in 0..{num_classes - 1}, got {labels.min().item()}..{labels.max().item()}")
    return F.one_hot(labels, num_classes).to(dtype)


class LabelConcatGenerator(nn.Module):
    """G(z, y): the one-hot label concatenated to the noise, then an unconditional G built for
    `latent_dim + num_classes` inputs (the MLP or the DCGAN generator)."""

    def __init__(self, arch: str, latent_dim: int, num_classes: int, channels: int, image_size: int,
                 hidden: tuple[int, ...], width: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.net = build_generator(arch, latent_dim + num_classes, channels, image_size, hidden, width)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        zy = torch.cat([z, one_hot(labels, self.num_classes, z.dtype)], 1)  # (B, Z + K)
        return self.net(zy)  # (B, C, H, W)


class LabelConcatDiscriminator(nn.Module):
    """D(x, y): conv D sees the label as K constant maps stacked on the image's channels; the MLP
    D sees it appended to the flattened pixels. Either way D judges the (image, label) pair."""

    def __init__(self, arch: str, channels: int, image_size: int, num_classes: int, hidden: tuple[int, ...],
                 width: int, norm: str = "batch") -> None:
        super().__init__()
        self.arch, self.num_classes = arch, num_classes
        if arch == "mlp":
            # MLPDiscriminator flattens its input, so a (B, CHW + K) row passes through unchanged.
            self.net: nn.Module = MLPDiscriminator((1, 1, channels * image_size**2 + num_classes), hidden)
        elif arch == "dcgan":
            self.net = DCGANDiscriminator(channels + num_classes, image_size, width, norm=norm)
        else:
            raise GankitError(f"unknown arch {arch!r}: choose mlp or dcgan")

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = one_hot(labels, self.num_classes, x.dtype)  # (B, K)
        if self.arch == "mlp":
            return self.net(torch.cat([x.flatten(1), y], 1))  # (B,) logits
        maps = y[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])  # (B, K, H, W)
        return self.net(torch.cat([x, maps], 1))  # (B,) logits


class AuxClassifierDiscriminator(nn.Module):
    """D(x) -> (real/fake logit (B,), class logits (B, K)) from one shared net with 1 + K outputs.

    The class logits are raw: callers apply `cross_entropy`, which has its own log-softmax (a
    Softmax layer here would apply it twice)."""

    def __init__(self, arch: str, channels: int, image_size: int, num_classes: int, hidden: tuple[int, ...],
                 width: int, norm: str = "batch") -> None:
        super().__init__()
        self.num_classes = num_classes
        if arch == "mlp":
            self.net: nn.Module = MLPDiscriminator((channels, image_size, image_size), hidden, out_features=1 + num_classes)
        elif arch == "dcgan":
            self.net = DCGANDiscriminator(channels, image_size, width, norm=norm, out_features=1 + num_classes)
        else:
            raise GankitError(f"unknown arch {arch!r}: choose mlp or dcgan")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(x)  # (B, 1 + K)
        return out[:, 0], out[:, 1:]  # (B,), (B, K)
