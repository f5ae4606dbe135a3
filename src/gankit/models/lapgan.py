"""Deep Generative Image Models using a Laplacian Pyramid of Adversarial Networks (Denton et al., arXiv 1506.05751).

The one idea: generate an image coarse to fine through its Laplacian pyramid. The coarsest level is
an ordinary GAN of the low-pass image; every finer level k is a conditional GAN whose G_k turns
(noise plane, up(coarser image)) into the band-pass residual h_k, and whose D_k scores up(coarser) + h_k
(the condition added to the band before D's first layer, as the paper and its code). Each level trains
on the real pyramid of the batch, independently of the others (the paper's CIFAR-10 recipe), all in one
`train_step`; only sampling chains them: I_0 = G_0(z), I_k = up(I_{k-1}) + G_k(z_k, up(I_{k-1})).
Defaults: 3 levels (8 -> 16 -> 32 px, the paper's CIFAR-10 sizes); fully connected coarsest nets
(G 100-1200-1200, D 600-600); band G 3 convs of 128 channels with a linear output, band D 2 convs of
128 + a linear head (facebook/eyescream); non-saturating loss. `levels` 1 is a plain single-scale GAN,
the proof's baseline (benchmarks/recipes/lapgan.json).
Deviations:
- Adam 2e-4 (0.5, 0.999), not SGD at 0.01 with momentum ramped to 0.7 and a decaying rate;
- pyramid filters: 2x2 averaging down, bilinear up (the paper blurs and decimates); bands are
  x - up(down(x)), so the pyramid collapses back exactly (gankit.nn.pyramid);
- band nets: 3x3 convs with BatchNorm in G (code: 7-7-5 kernels, none), stride-2 4x4 convs with
  LeakyReLU and no dropout in D (code: 5x5, ReLU, dropout); Gaussian noise (code: uniform [-1, 1]);
- coarsest nets: the library's MLPs (LeakyReLU 0.2, BatchNorm in G), no dropout in D;
- during sampling each level's image is clamped to [-1, 1] before the next level reads it;
- unconditional only (the paper's class-conditional form is not built).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn import MLPDiscriminator, MLPGenerator
from gankit.nn.pyramid import BandDiscriminator, BandGenerator, check_levels, gaussian_pyramid, up
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class LAPGANConfig(Config):
    latent_dim: int = 100  # z of the coarsest level; finer levels draw one noise plane each
    image_size: int = 32  # the finest level
    channels: int = 1
    levels: int = 3  # sides image_size / 2^(levels-1), ..., image_size
    g_hidden: tuple[int, ...] = (1200, 1200)  # coarsest G (fully connected)
    d_hidden: tuple[int, ...] = (600, 600)  # coarsest D (fully connected)
    g_width: int = 128  # channels of each band G
    g_layers: int = 3  # convolutions of each band G
    d_width: int = 128  # channels of each band D
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "levels": 2, "g_hidden": (16,), "d_hidden": (16,),
                 "g_width": 4, "g_layers": 2, "d_width": 4},
        # The proof's: 8/16/32 px MNIST; the paper's coarsest nets, band nets narrowed to 64 channels.
        "cpu": {"g_width": 64, "d_width": 64},
    }
    folder_defaults: ClassVar[dict[str, Any]] = {"channels": 3}

    @property
    def sizes(self) -> tuple[int, ...]:
        """The side of every level, coarsest first."""
        return tuple(self.image_size // 2 ** (self.levels - 1 - k) for k in range(self.levels))

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        check_levels(self.image_size, self.levels)
        if self.levels > 1 and (self.sizes[0] < 4 or self.sizes[0] % 2):  # each band D halves its input twice
            raise GankitError(f"the coarsest level must be an even side of at least 4 px; image_size {self.image_size} "
                              f"with {self.levels} levels gives {self.sizes[0]}")
        if self.g_layers < 1:
            raise GankitError(f"g_layers must be at least 1, got {self.g_layers}")


@register_model("lapgan")
class LAPGAN(GANModel):
    config_class = LAPGANConfig
    paper = "Deep Generative Image Models using a Laplacian Pyramid of Adversarial Networks"
    arxiv = "1506.05751"
    data_needs = "images"
    capabilities = ("pyramid_levels",)

    def __init__(self, config: LAPGANConfig) -> None:
        super().__init__(config)
        c, coarse = config, config.sizes[0]
        shape = (c.channels, coarse, coarse)
        # One (G, D) pair per level, coarsest first; the ModuleLists keep the engine's names (EMA of "generator").
        self.generator = nn.ModuleList([MLPGenerator(c.latent_dim, c.g_hidden, shape)]
                                       + [BandGenerator(c.channels, c.g_width, c.g_layers) for _ in c.sizes[1:]])
        self.discriminator = nn.ModuleList([MLPDiscriminator(shape, c.d_hidden)]
                                           + [BandDiscriminator(c.channels, s, c.d_width) for s in c.sizes[1:]])
        # The levels share no parameters, so one Adam over the summed losses steps each level exactly as
        # its own Adam over its own loss would.
        self.optimizers = {
            "discriminator": adam(self.discriminator.parameters(), c.lr_d, c.betas),
            "generator": adam(self.generator.parameters(), c.lr_g, c.betas),
        }

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    def _level(self, g: nn.ModuleList, k: int, cond: torch.Tensor | None, n: int,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Level k's image: G_0(z) at the coarsest level, else cond + G_k(noise plane, cond), where cond
        is the coarser image upsampled to this level's size."""
        if k == 0:
            return g[0](self.latent(n, self.config.latent_dim, generator))  # (n, C, s0, s0)
        s = cond.shape[-1]
        noise = self.latent(n, s * s, generator).view(n, 1, s, s)  # (n, 1, s, s)
        return cond + g[k](noise, cond)  # (n, C, s, s)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c = self.config
        real = gaussian_pyramid(batch.images, c.levels)  # coarsest first: (B, C, s_k, s_k) each
        n = real[0].shape[0]
        # Each level is conditioned on the *real* coarser image, so the levels train independently.
        conds = [None] + [up(x) for x in real[:-1]]  # (B, C, s_k, s_k) for k >= 1
        with self.autocast():
            fakes = [self._level(self.generator, k, conds[k], n) for k in range(c.levels)]
            real_out = [d(x) for d, x in zip(self.discriminator, real)]  # (B,) logits each
            fake_out = [d(x.detach()) for d, x in zip(self.discriminator, fakes)]
            losses_d = [d_bce(r, f) for r, f in zip(real_out, fake_out)]
        self.optimize(sum(losses_d), "discriminator")
        with self.frozen(self.discriminator), self.autocast():
            losses_g = [g_nonsaturating(d(x)) for d, x in zip(self.discriminator, fakes)]
        self.optimize(sum(losses_g), "generator")
        logs = {"loss/d": torch.stack(losses_d).sum().detach(), "loss/g": torch.stack(losses_g).sum().detach()}
        for s, ld, lg, r, f in zip(c.sizes, losses_d, losses_g, real_out, fake_out):
            logs |= {f"loss/d_{s}px": ld.detach(), f"loss/g_{s}px": lg.detach(),
                     f"d/real_{s}px": torch.sigmoid(r.detach().float()).mean(),
                     f"d/fake_{s}px": torch.sigmoid(f.detach().float()).mean()}
        return logs

    @torch.no_grad()
    def sample_levels(self, n: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """One chained draw seen at every level, coarsest first: [(n, C, s_0, s_0), ..., (n, C, S, S)],
        each in [-1, 1]; the last is what `sample` returns."""
        g = self.net("generator")
        images: list[torch.Tensor] = []
        with self.eval_mode(g):
            for k in range(self.config.levels):
                cond = up(images[-1]) if k else None
                images.append(self._level(g, k, cond, n, generator).float().clamp(-1, 1))
        return images

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.sample_levels(n, generator)[-1]  # (n, C, S, S)
