"""A U-Net Based Discriminator for Generative Adversarial Networks (Schonfeld et al., arXiv 2002.12655).

The one idea: D is a U-Net, judging each image as a whole (encoder) and each pixel (decoder), so G
gets feedback on where an image looks fake; CutMix images (a box of a fake pasted into a real image)
teach the decoder to mark the pasted region, and a consistency loss asks D's map of a mix to be the
same mix of D's maps of the two images.
Defaults (the authors' BigGAN-based code, boschresearch/unetgan): BCE / non-saturating losses on both
outputs, CutMix with probability rising linearly to 0.5 over `mix_warmup` steps, consistency weight
1, SN in G and D, Adam G 5e-5 / D 2e-4, betas (0, 0.999), one D step per G step.
Deviations:
- G is the spectral-norm family's unconditional 32 px ResNet G, D its ResNet blocks as a U-Net (the
  paper's nets are BigGAN's at 128-256 px);
- `unet=false` keeps the encoder and drops decoder, CutMix and consistency: the ablation;
- the `cpu` preset narrows G and D to 64 channels, `digits` to 32 on 32 px gray MNIST.
Proof: see docs/variants/unetgan.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from gankit.data.masks import cutmix_masks
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch
from gankit.models.sn_family import SpectralNormConfig, SpectralNormGAN
from gankit.nn.resnet_gan import ResNetGenerator
from gankit.nn.spectral import spectral_normalize
from gankit.nn.unet_discriminator import UNetDiscriminator
from gankit.registry import register_model


@dataclass
class UNetGANConfig(SpectralNormConfig):
    d_width: int = 64
    unet: bool = True  # false: encoder-only D, no CutMix (the ablation)
    mix_prob: float = 0.5  # CutMix probability after the warm-up
    mix_warmup: int = 2000  # steps over which it rises from 0
    consistency_weight: float = 1.0
    lr_g: float = 5e-5
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.999)

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_width": 8, "d_width": 8, "mix_warmup": 2},
        "cpu": {"g_width": 64, "d_width": 64},
        "digits": {"channels": 1, "g_width": 32, "d_width": 32, "latent_dim": 64},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.mix_prob <= 1:
            raise GankitError(f"mix_prob is a probability in [0, 1], got {self.mix_prob}")
        if self.mix_warmup < 0:
            raise GankitError(f"mix_warmup must be 0 or more steps, got {self.mix_warmup}")


@register_model("unetgan")
class UNetGAN(SpectralNormGAN):
    config_class = UNetGANConfig
    paper = "A U-Net Based Discriminator for Generative Adversarial Networks"
    arxiv = "2002.12655"
    capabilities: ClassVar[tuple[str, ...]] = ("dmap_iou",)

    def __init__(self, config: UNetGANConfig) -> None:
        super().__init__(config)
        # The first real batch, kept (and checkpointed) to show D's maps of real/fake mixes.
        self.register_buffer("examples", torch.zeros(8, config.channels, config.image_size, config.image_size))
        self.register_buffer("has_examples", torch.zeros((), dtype=torch.bool))

    def build_networks(self, c: UNetGANConfig) -> tuple[ResNetGenerator, UNetDiscriminator]:
        generator = ResNetGenerator(c.latent_dim, c.channels, c.image_size, c.g_width)
        discriminator = UNetDiscriminator(c.channels, c.image_size, c.d_width, decoder=c.unet)
        return spectral_normalize(generator), spectral_normalize(discriminator)

    def mix_probability(self) -> float:
        c = self.config
        return c.mix_prob * min(1.0, int(self.d_steps) / c.mix_warmup) if c.mix_warmup else c.mix_prob

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real = batch.images  # (B, C, S, S)
        c = self.config
        if not self.has_examples:
            self.examples.copy_(real[torch.arange(len(self.examples), device=real.device) % len(real)].detach())
            self.has_examples.fill_(True)
        z = self.latent(len(real), c.latent_dim)
        d = self.discriminator
        with self.autocast():
            fake = self.generator(z)  # (B, C, S, S)
            # D has no BatchNorm: one pass over real and fake is exactly two passes.
            score, pixels = d(torch.cat([real, fake.detach()]))
            real_score, fake_score = score.split(len(real))
            loss_d = d_bce(real_score, fake_score)
            logs = {"d/real": real_score.detach().float().mean(), "d/fake": fake_score.detach().float().mean()}
            if pixels is not None:
                real_px, fake_px = pixels.split(len(real))  # (B, 1, S, S) each
                loss_d = loss_d + d_bce(real_px, fake_px)
                if torch.rand((), device=self.device) < self.mix_probability():
                    mask = cutmix_masks(len(real), c.image_size, device=self.device)  # (B, 1, S, S), 1 = real
                    mixed = mask * real + (1 - mask) * fake.detach()
                    mix_score, mix_px = d(mixed)
                    # The mix is judged fake as a whole, real where it shows the real image.
                    loss_mix = F.softplus(mix_score).mean() + F.binary_cross_entropy_with_logits(mix_px, mask)
                    target = mask * real_px.detach() + (1 - mask) * fake_px.detach()
                    loss_cons = F.mse_loss(mix_px, target)
                    loss_d = loss_d + loss_mix + c.consistency_weight * loss_cons
                    logs |= {"loss/mix": loss_mix.detach(), "loss/consistency": loss_cons.detach()}
        self.optimize(loss_d, "discriminator")
        self.d_steps += 1
        with self.frozen(d), self.autocast():
            score, pixels = d(fake)
            loss_g = g_nonsaturating(score) + (g_nonsaturating(pixels) if pixels is not None else 0)
        self.optimize(loss_g, "generator")
        return logs | {"loss/d": loss_d.detach(), "loss/g": loss_g.detach()}

    @torch.no_grad()
    def pixel_logits(self, x: torch.Tensor) -> torch.Tensor:
        """D's per-pixel logits (B, 1, S, S) for images `x` in [-1, 1] (positive: looks real)."""
        d = self.net("discriminator")
        if d.up is None:
            raise GankitError(f"{self.name} was trained with unet=false: its D has no per-pixel output")
        with self.eval_mode(d):
            return d(x)[1].float()

    @torch.no_grad()
    def discriminator_maps(self, generator: torch.Generator | None = None, n: int = 8) -> dict[str, tuple[torch.Tensor, int]]:
        """Rows of: a real training example | a fake | their CutMix (real outside the box) | the true
        mask | D's per-pixel map of the mix (white: judged real)."""
        real = self.examples[torch.arange(n, device=self.device) % len(self.examples)]  # (n, C, S, S)
        fake = self.sample(n, generator=generator)  # (n, C, S, S)
        mask = cutmix_masks(n, self.config.image_size, generator=generator).to(self.device)
        mixed = mask * real + (1 - mask) * fake
        dmap = torch.sigmoid(self.pixel_logits(mixed)) * 2 - 1  # [-1, 1]
        rgb = [t.expand(-1, 3, -1, -1) for t in (real, fake, mixed, mask * 2 - 1, dmap)]
        return {"cutmix": (torch.stack(rgb, 1).flatten(0, 1), 5)}
