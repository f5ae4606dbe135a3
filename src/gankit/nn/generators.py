"""Choosing a generator by architecture, shared by variants with the same G (no weight init here:
callers initialise, so each variant keeps its own random-number order)."""

from __future__ import annotations

from torch import nn

from gankit.nn.dcgan import DCGANGenerator
from gankit.nn.mlp import MLPGenerator


def build_generator(
    arch: str, latent_dim: int, channels: int, image_size: int, hidden: tuple[int, ...], width: int
) -> nn.Module:
    """The classic MLP generator for `arch == "mlp"`, otherwise the DCGAN generator."""
    if arch == "mlp":
        return MLPGenerator(latent_dim, hidden, (channels, image_size, image_size))
    return DCGANGenerator(latent_dim, channels, image_size, width)
