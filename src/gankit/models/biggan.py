"""Large Scale GAN Training for High Fidelity Natural Image Synthesis (Brock et al., arXiv 1809.11096).

The one idea: class-conditional GANs scale when G's BNs are conditioned on a shared class embedding
plus a chunk of z per block (hierarchical z), D is a projection discriminator, both are spectrally
normalised, and G's weights are averaged (EMA); sampling z from a truncated normal then trades
variety for fidelity (the truncation trick), which orthogonal regularisation makes G amenable to.
Defaults (the authors' CIFAR script, ajbrock/BigGAN-PyTorch): ResNet G and D at 32 px, width 256 /
128 here, z 128 in 4 chunks, shared embedding 128, hinge, Adam 2e-4 both, betas (0, 0.999), 4 D steps
per G step, orthogonal regularisation 1e-4 (the paper's; the CIFAR script turns it off); train with
`--ema 0.9999` for G's EMA.
Deviations:
- the nets are the spectral-norm family's CIFAR ResNets with conditional BN (no BigGAN-deep blocks,
  no self-attention at 32 px, as the CIFAR script);
- the `cpu` preset narrows G and D to 64 channels, `digits` to 32 at 32 px.
Proof: see docs/variants/biggan.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch.nn.utils.parametrizations import spectral_norm

from gankit.errors import GankitError
from gankit.losses import orthogonal_penalty
from gankit.models.base import Batch, ClassRowsGrid, DataSpec
from gankit.models.sn_family import SpectralNormConfig, SpectralNormGAN
from gankit.nn.biggan import ConditionalResNetGenerator, ProjectionDiscriminator
from gankit.nn.spectral import spectral_normalize
from gankit.registry import register_model


@dataclass
class BigGANConfig(SpectralNormConfig):
    num_classes: int = 10
    embed_dim: int = 128  # the shared class embedding
    ortho_weight: float = 1e-4  # beta of the orthogonal regularisation of G; 0 turns it off
    betas: tuple[float, float] = (0.0, 0.999)
    n_dis: int = 4  # D steps per G step

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_width": 8, "d_width": 8, "embed_dim": 4, "n_dis": 2},
        "cpu": {"g_width": 64, "d_width": 64},
        "digits": {"g_width": 32, "d_width": 32, "latent_dim": 64, "embed_dim": 32, "n_dis": 2},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_classes < 2:
            raise GankitError(f"num_classes must be at least 2, got {self.num_classes}")


def truncated_normal(n: int, dim: int, threshold: float, device: torch.device,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, dim) standard normal draws with every value of magnitude above `threshold` redrawn."""
    if threshold <= 0:
        raise GankitError(f"the truncation threshold must be positive, got {threshold}")
    z = torch.randn(n, dim, device=device, generator=generator)
    while True:
        out = z.abs() > threshold
        if not out.any():
            return z
        z = torch.where(out, torch.randn(n, dim, device=device, generator=generator), z)


@register_model("biggan")
class BigGAN(ClassRowsGrid, SpectralNormGAN):
    config_class = BigGANConfig
    paper = "Large Scale GAN Training for High Fidelity Natural Image Synthesis"
    arxiv = "1809.11096"
    data_needs = "images+labels"
    capabilities: ClassVar[tuple[str, ...]] = ("judged_label_acc",)

    def build_networks(self, c: BigGANConfig) -> tuple[ConditionalResNetGenerator, ProjectionDiscriminator]:
        generator = ConditionalResNetGenerator(c.latent_dim, c.num_classes, c.channels, c.image_size, c.g_width,
                                               c.embed_dim)
        discriminator = ProjectionDiscriminator(c.channels, c.num_classes, c.image_size, c.d_width)
        spectral_normalize(generator)
        spectral_normalize(discriminator)
        spectral_norm(discriminator.embed)  # as the reference code's SN embedding
        return generator, discriminator

    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels, image_size=c.image_size, needs_labels=True, num_classes=c.num_classes)

    def random_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randint(0, self.config.num_classes, (n,), device=self.device, generator=generator)

    def real_condition(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        return (batch.labels,)  # (B,)

    def fake_condition(self, n: int) -> tuple[torch.Tensor, ...]:
        return (self.random_labels(n),)  # (n,) classes for G to draw and D to judge them as

    def g_penalty(self, logs: dict[str, torch.Tensor]) -> torch.Tensor | None:
        if not self.config.ortho_weight:
            return None
        ortho = orthogonal_penalty(self.generator)
        logs["loss/ortho"] = ortho.detach()
        return self.config.ortho_weight * ortho

    def _labels_for(self, n: int, labels: torch.Tensor | None, generator: torch.Generator | None) -> torch.Tensor:
        if labels is None:
            return self.random_labels(n, generator)
        labels = labels.to(self.device)
        if labels.shape != (n,) or int(labels.min()) < 0 or int(labels.max()) >= self.config.num_classes:
            raise GankitError(f"labels must be ({n},) classes in 0..{self.config.num_classes - 1}")
        return labels

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` images (n, C, S, S) of the given classes (random ones when None)."""
        y = self._labels_for(n, labels, generator)
        return self._generate(self.latent(n, self.config.latent_dim, generator), y)

    @torch.no_grad()
    def sample_truncated(self, n: int, threshold: float, labels: torch.Tensor | None = None,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """The truncation trick: z drawn from a normal truncated at +-`threshold` (smaller: closer to the
        mode of each class, less varied)."""
        y = self._labels_for(n, labels, generator)
        return self._generate(truncated_normal(n, self.config.latent_dim, threshold, self.device, generator), y)

    def _generate(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        g = self.net("generator")
        with self.eval_mode(g):
            return g(z, y).float().clamp(-1, 1)  # (n, C, S, S)
