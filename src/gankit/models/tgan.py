"""Temporal Generative Adversarial Nets with Singular Value Clipping (Saito et al., arXiv 1611.06624).

The one idea: generate a video in two steps. A temporal generator turns one latent z0 into a sequence
of T frame latents z1_t with 1-D deconvolutions; an image generator draws every frame from (z0, z1_t),
so z0 holds what stays (the digit) and z1_t what moves. A 3-D convolutional critic scores whole clips
under the WGAN loss, kept Lipschitz by singular value clipping (every weight's singular values clipped
to 1, BatchNorm gains to [0.01, 1]) every 5 steps instead of WGAN's weight clipping.
Defaults as the authors' Moving MNIST config (pfnet-research/tgan): z0 and z1 of 100, 16 frames of
64x64, temporal widths 512-256-128-128, image G 512 -> 32 channels, critic 64 -> 512, weights uniform
in [+-0.01], RMSprop lr 5e-5 for all three nets, one G and one critic step per batch (G first), batch 32.

Clips travel through the engine as (B, T*C, H, W), frames stacked along channels (DataSpec.frames = T,
gankit.data.clips); `sample` returns that layout too, `preview` shows one clip per row.
Data: `--data moving-mnist` (two digits) or `moving-mnist-1` (one), made by gankit.data.moving_mnist.
Deviations from the paper, one line each:
- BatchNorm keeps its shift (the authors' config drops it); the critic ends in one 3-D convolution over
  the remaining (time, 4, 4) instead of a 2-D one per remaining time step (the same at 16 frames, 64 px).
- The critic forwards the fakes twice (for G's step, then for its own), so its BatchNorm statistics
  see the fakes twice per step; the authors reuse one forward pass.
- The `cpu` preset (the proof, on one-digit clips) uses 16 frames of 32x32, narrower nets (temporal 128,
  image G 64 -> 8, critic 32 -> 128), lr 2e-4 and init +-0.05: at lr 5e-5 and +-0.01 frames stay gray
  for the first hundreds of steps, more than a CPU budget has. The paper's values are the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_wasserstein, g_wasserstein
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn.video import (
    FrameGenerator,
    TemporalGenerator,
    VideoCritic,
    VideoGenerator,
    clip_singular_values_,
    uniform_init_,
)
from gankit.registry import register_model


@dataclass
class TGANConfig(Config):
    latent_dim: int = 100  # z0, one per clip
    frame_latent_dim: int = 100  # z1_t, one per frame
    frames: int = 16
    image_size: int = 64
    channels: int = 1  # per frame
    temporal_width: int = 512  # the temporal generator's first width
    g_width: int = 512  # the image generator's width at 4x4
    d_width: int = 64  # the critic's first width
    lr: float = 5e-5  # RMSprop, all three nets
    svc_every: int = 5  # critic steps between singular value clippings
    init_scale: float = 0.01  # weights uniform in [-init_scale, init_scale]

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "frame_latent_dim": 8, "frames": 4, "image_size": 8, "temporal_width": 16,
                 "g_width": 16, "d_width": 4, "svc_every": 1},
        "cpu": {"frames": 16, "image_size": 32, "temporal_width": 128, "g_width": 64, "d_width": 32, "lr": 2e-4,
                "init_scale": 0.05},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        for key in ("latent_dim", "frame_latent_dim", "temporal_width", "g_width", "d_width", "svc_every"):
            if getattr(self, key) < 1:
                raise GankitError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.lr <= 0 or self.init_scale <= 0:
            raise GankitError(f"lr and init_scale must be positive, got {self.lr} and {self.init_scale}")


@register_model("tgan")
class TGAN(GANModel):
    config_class = TGANConfig
    paper = "Temporal Generative Adversarial Nets with Singular Value Clipping"
    arxiv = "1611.06624"
    data_needs = "clips"
    capabilities = ("clip_identity", "motion")

    def __init__(self, config: TGANConfig) -> None:
        super().__init__(config)
        c = config
        self.generator = VideoGenerator(
            TemporalGenerator(c.latent_dim, c.frame_latent_dim, c.frames, c.temporal_width),
            FrameGenerator(c.latent_dim, c.frame_latent_dim, c.channels, c.image_size, c.g_width))
        self.discriminator = VideoCritic(c.channels, c.image_size, c.frames, c.d_width)
        uniform_init_(self.generator, c.init_scale)
        uniform_init_(self.discriminator, c.init_scale)
        self.optimizers = {
            "discriminator": torch.optim.RMSprop(self.discriminator.parameters(), lr=c.lr),
            "generator": torch.optim.RMSprop(self.generator.parameters(), lr=c.lr),
        }
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))  # drives svc_every; checkpointed

    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.frames * c.channels, image_size=c.image_size, frames=c.frames)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real = batch.images  # (B, T*C, H, W)
        z = self.latent(real.shape[0], self.config.latent_dim)
        with self.autocast():
            fake = self.generator(z)  # (B, T*C, H, W)
            with self.frozen(self.discriminator):
                loss_g = g_wasserstein(self.discriminator(fake))
        self.optimize(loss_g, "generator")  # G first, as the authors' updater
        with self.autocast():
            real_out, fake_out = self.discriminator(real), self.discriminator(fake.detach())
            loss_d = d_wasserstein(real_out, fake_out)
        self.optimize(loss_d, "discriminator")
        self.d_steps += 1
        if int(self.d_steps) % self.config.svc_every == 0:
            clip_singular_values_(self.discriminator)
        return {"loss/d": loss_d.detach(), "loss/g": loss_g.detach(),
                "wasserstein/estimate": (real_out.float().mean() - fake_out.float().mean()).detach()}

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        g = self.net("generator")
        with self.eval_mode(g):
            return g(z).float().clamp(-1, 1)  # (n, T*C, H, W)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` clips in [-1, 1], frames stacked along channels: (n, T*C, H, W)."""
        return self.generate(self.latent(n, self.config.latent_dim, generator))

    def preview(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int | None]:
        """One clip per row, its frames left to right: max(1, min(8, n // T)) clips."""
        t, c = self.config.frames, self.config.channels
        clips = self.sample(max(1, min(8, n // t)), generator=generator)  # (k, T*C, H, W)
        return clips.reshape(-1, c, *clips.shape[-2:]), t  # (k*T, C, H, W)
