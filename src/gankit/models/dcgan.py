"""Unsupervised Representation Learning with Deep Convolutional GANs (Radford et al., arXiv 1511.06434).

The one idea: an all-convolutional G and D (strided convs, no pooling, no fully connected
hidden layers) with BatchNorm in both (not at G's output or D's input), ReLU in G and
LeakyReLU 0.2 in D, which makes GAN training stable for images. Weights N(0, 0.02),
Adam 2e-4, beta1 0.5. 32x32 for MNIST (resized from 28), 64x64 for image folders.
Deviation: default width 64 (the PyTorch reference's ngf) rather than the paper's 128; the
`cpu` preset halves it again so the demo trains in minutes on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from gankit.models.gan import GAN, GANConfig
from gankit.registry import register_model


@dataclass
class DCGANConfig(GANConfig):
    image_size: int = 32
    arch: Literal["mlp", "dcgan"] = "dcgan"

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_width": 4, "d_width": 4},
        "cpu": {"g_width": 32, "d_width": 32},
    }


@register_model("dcgan")
class DCGAN(GAN):
    config_class = DCGANConfig
    paper = "Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks"
    arxiv = "1511.06434"
