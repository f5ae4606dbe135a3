"""The spectral-norm family's shared training (SNGAN, SAGAN, SELF-MOD, BigGAN): ResNet G and D, hinge
loss, `n_dis` D steps per G step, Adam for each net. A variant builds its two nets and names its
settings; a class-conditional one also says what G and D are conditioned on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_hinge, g_hinge
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.optim import adam


@dataclass
class SpectralNormConfig(Config):
    """The settings every member has; a variant's config subclasses it and changes the defaults."""

    latent_dim: int = 128
    image_size: int = 32
    channels: int = 3
    g_width: int = 256
    d_width: int = 128
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.9)
    n_dis: int = 1  # D steps per G step

    folder_defaults: ClassVar[dict[str, Any]] = {"image_size": 32, "channels": 3}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.n_dis < 1:
            raise GankitError(f"n_dis must be at least 1, got {self.n_dis}")


class SpectralNormGAN(GANModel):
    """Subclasses set `self.generator` and `self.discriminator` in `build_networks(config)`; the config
    has latent_dim, image_size, channels, lr_g, lr_d, betas and n_dis."""

    data_needs = "images"

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        c = config
        self.generator, self.discriminator = self.build_networks(c)
        self.optimizers = {
            "discriminator": adam(self.discriminator.parameters(), c.lr_d, c.betas),
            "generator": adam(self.generator.parameters(), c.lr_g, c.betas),
        }
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))  # drives n_dis; checkpointed

    def build_networks(self, config: Config) -> tuple[nn.Module, nn.Module]:
        raise NotImplementedError

    def extra_logs(self) -> dict[str, torch.Tensor]:
        """Scalars a variant logs beside the losses at every step."""
        return {}

    def real_condition(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """What D sees beside each real image (class-conditional variants: its label); none by default."""
        return ()

    def fake_condition(self, n: int) -> tuple[torch.Tensor, ...]:
        """What G and D see beside each of `n` fakes (e.g. random labels), drawn after z."""
        return ()

    def g_penalty(self, logs: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """A regulariser added to G's loss (e.g. BigGAN's orthogonal one); logs what it adds."""
        return None

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real = batch.images  # (B, C, S, S)
        g_turn = int(self.d_steps) % self.config.n_dis == 0
        z = self.latent(len(real), self.config.latent_dim)
        real_cond, fake_cond = self.real_condition(batch), self.fake_condition(len(real))
        with self.autocast(), torch.set_grad_enabled(g_turn):
            fake = self.generator(z, *fake_cond)  # (B, C, S, S); its graph is kept only when G steps after this D step
        with self.autocast():
            # D has no BatchNorm: one pass over real and fake is exactly two passes.
            both_cond = [torch.cat([r, f]) for r, f in zip(real_cond, fake_cond)]
            real_out, fake_out = self.discriminator(torch.cat([real, fake.detach()]), *both_cond).split(len(real))
            loss_d = d_hinge(real_out, fake_out)
        self.optimize(loss_d, "discriminator")
        self.d_steps += 1
        logs = {"loss/d": loss_d.detach(), "d/real": real_out.detach().float().mean(),
                "d/fake": fake_out.detach().float().mean()}
        if g_turn:
            with self.frozen(self.discriminator), self.autocast():
                loss_g = g_hinge(self.discriminator(fake, *fake_cond))
                penalty = self.g_penalty(logs)
                if penalty is not None:
                    loss_g = loss_g + penalty
            self.optimize(loss_g, "generator")
            logs["loss/g"] = loss_g.detach()
        return logs | {k: v.detach() for k, v in self.extra_logs().items()}

    @torch.no_grad()
    def sample_from(self, z: torch.Tensor) -> torch.Tensor:
        """G's images (n, C, S, S) in [-1, 1] for latents `z` (n, latent_dim), in eval mode."""
        g = self.net("generator")
        with self.eval_mode(g):
            return g(z).float().clamp(-1, 1)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.sample_from(self.latent(n, self.config.latent_dim, generator))  # (n, C, S, S)
