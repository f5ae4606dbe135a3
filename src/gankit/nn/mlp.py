"""Fully connected G and D, as in the original GAN's MNIST experiments and the classic scripts."""

from __future__ import annotations

import math

import torch
from torch import nn


class MLPGenerator(nn.Module):
    """z -> hidden layers (BatchNorm after all but the first, LeakyReLU 0.2) -> tanh image."""

    def __init__(self, latent_dim: int, hidden: tuple[int, ...], image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.image_shape = image_shape
        layers: list[nn.Module] = []
        width = latent_dim
        for i, h in enumerate(hidden):
            layers.append(nn.Linear(width, h))
            if i > 0:  # no normalisation straight after the noise, as in the reference nets
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.LeakyReLU(0.2))
            width = h
        layers += [nn.Linear(width, math.prod(image_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.image_shape)  # (B, C, H, W)


class MLPDiscriminator(nn.Module):
    """image -> hidden layers (LeakyReLU 0.2) -> one logit per image. `batchnorm` puts BatchNorm
    after each hidden linear layer (for encoders and classifiers built on it; a D keeps it off)."""

    def __init__(self, image_shape: tuple[int, int, int], hidden: tuple[int, ...], out_features: int = 1,
                 *, batchnorm: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(image_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), *([nn.BatchNorm1d(h)] if batchnorm else []), nn.LeakyReLU(0.2)]
            width = h
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(width, out_features)
        self.feature_dim = width

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)  # (B, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.trunk(x))
        return out.squeeze(1) if out.shape[1] == 1 else out  # (B,) logits
