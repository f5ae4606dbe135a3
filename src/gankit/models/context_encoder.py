"""Context Encoders: Feature Learning by Inpainting (Pathak et al., arXiv 1604.07379).

The one idea: an encoder-decoder that sees an image with a region cut out learns to fill it from the
context; L2 alone gives a blurry mean, so a small adversarial term (0.999 * L2 + 0.001 * adversarial) pushes
the fill towards one sharp plausible answer. The L2 covers the hole plus a thin overlap ring into the
context, weighted 10x, so the fill agrees with its border.

Defaults: 128x128, centre 64x64 hole (or random blocks), 4 px overlap, Adam 2e-4 betas (0.5, 0.999) for both.

Deviations from the paper:
- G is a conv encoder-decoder down to 1x1 (no channel-wise FC layer) and outputs the whole image.
- G also gets the mask as an extra input channel (the paper fills the hole with the mean colour only).
- D (DCGAN) judges the whole image with the hole filled, not the fill alone.
- `photos` preset: a U-Net correcting the blur-filled hole (`fill="blur"`), Adam 1e-3 betas (0.9, 0.999).
- The photos proof samples G's EMA (decay 0.995; the paper has none).

Inputs, outputs and `inpaint` use float images in [-1, 1]; the hole is filled with 0 (or the blur-fill).

Lab notes (what was tried and measured): docs/variants/context_encoder.md
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from gankit.config import Config, check_channels
from gankit.data.masks import (
    Box,
    apply_mask,
    blur_fill,
    centre_box,
    centre_masks,
    composite,
    dilate,
    random_box_masks,
)
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch, DataSpec
from gankit.models.inpainting import InpaintingModel
from gankit.nn import DCGANDiscriminator, check_dcgan_size, dcgan_init
from gankit.nn.translation import ConvEncoderDecoder, ExamplePairs, UNetGenerator
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class ContextEncoderConfig(Config):
    image_size: int = 128
    channels: int = 3
    mask: Literal["centre", "random"] = "centre"
    hole: int = 64  # side of the centre hole; random blocks have sides in [hole / 2, hole]
    random_boxes: int = 3  # blocks per image in random mode (their union is the hole)
    overlap: int = 4  # the L2 also covers this many context pixels around the hole ...
    overlap_weight: float = 10.0  # ... weighted this much more (the paper's overlapL2Weight)
    generator: Literal["encoder_decoder", "unet"] = "encoder_decoder"  # the paper's bottleneck, or skips
    fill: Literal["zero", "blur"] = "zero"  # what G sees in the hole; "blur": G corrects the blur-fill
    rec_weight: float = 0.999
    adv_weight: float = 0.001
    g_width: int = 64
    g_max_width: int = 512
    d_width: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    grid_examples: int = 8  # fixed training images shown (masked | filled | original) in sample grids

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"image_size": 8, "channels": 1, "hole": 4, "overlap": 0, "g_width": 4, "d_width": 4,
                 "grid_examples": 4},
        # MNIST at 32x32: the centre 16x16 holds most of the digit; widths sized for a CPU.
        "cpu": {"image_size": 32, "channels": 1, "hole": 16, "overlap": 1, "g_width": 16, "g_max_width": 128,
                "d_width": 16},
        # Photo crops at 32x32 (`--data photos --channels 3`): a plain CPU-sized context encoder does not
        # beat the smooth blur-fill there, so G starts from it and learns the correction (see above).
        "photos": {"image_size": 32, "channels": 3, "hole": 16, "overlap": 1, "generator": "unet", "fill": "blur",
                   "g_width": 32, "g_max_width": 256, "d_width": 16, "lr": 1e-3, "betas": (0.9, 0.999)},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        check_dcgan_size(self.image_size)
        check_channels(self.channels)
        if not 0 < self.hole < self.image_size:
            raise GankitError(f"hole must be between 1 and image_size - 1 ({self.image_size - 1}), got {self.hole}")
        if self.overlap < 0 or self.random_boxes < 1:
            raise GankitError(f"overlap must be >= 0 and random_boxes >= 1, got {self.overlap}, {self.random_boxes}")


@register_model("context_encoder")
class ContextEncoder(InpaintingModel):
    config_class = ContextEncoderConfig
    paper = "Context Encoders: Feature Learning by Inpainting"
    arxiv = "1604.07379"
    capabilities: ClassVar[tuple[str, ...]] = ('hole_psnr',)
    data_needs = "images"

    def __init__(self, config: ContextEncoderConfig) -> None:
        super().__init__(config)
        c = config
        depth = int(math.log2(c.image_size))  # down to a 1x1 bottleneck, like the paper's 4000-d code
        # Input: the image with the hole blanked (or blur-filled) plus the mask as one more channel.
        if c.generator == "unet":
            self.generator = UNetGenerator(c.channels + 1, c.channels, depth, c.g_width, c.g_max_width, dropout=0.0)
        else:
            self.generator = ConvEncoderDecoder(c.channels + 1, c.channels, depth, c.g_width, c.g_max_width)
        self.discriminator = DCGANDiscriminator(c.channels, c.image_size, c.d_width)
        dcgan_init(self.generator)
        dcgan_init(self.discriminator)
        if c.fill == "blur":  # a zero last layer: training starts exactly at the blur-fill
            last = [m for m in self.generator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))][-1]
            torch.nn.init.zeros_(last.weight)
            if last.bias is not None:
                torch.nn.init.zeros_(last.bias)
        self.optimizers = {"generator": adam(self.generator.parameters(), c.lr, c.betas),
                           "discriminator": adam(self.discriminator.parameters(), c.lr, c.betas)}
        # Images kept from the first batch; domain B is unused (the original is the target).
        self.examples = ExamplePairs(c.grid_examples, c.channels, 1, c.image_size)

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    def size_multiple(self) -> int:
        return self.generator.size_multiple

    def hole_box(self) -> Box:
        """The centred hole the model was trained on, `(x, y, w, h)` in its own image size."""
        return centre_box(self.config.image_size, self.config.hole)

    def masks(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Training-style holes: `(n, 1, S, S)`, centre or random blocks (from `generator`)."""
        c = self.config
        if c.mask == "centre":
            return centre_masks(n, c.image_size, c.hole, self.device)
        return random_box_masks(n, c.image_size, c.hole, c.random_boxes, generator, self.device)

    def _fill(self, g: torch.nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.config.fill == "blur":
            base = blur_fill(x.float(), mask.float()).to(x.dtype)  # (B, C, S, S), the context diffused into the hole
            return (base + g(torch.cat([base, mask], 1))).clamp(-1, 1)
        return g(torch.cat([apply_mask(x, mask), mask], 1))  # (B, C+1, S, S) -> (B, C, S, S)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c = self.config
        x = batch.images  # (B, C, S, S)
        self.examples.keep(x, x[:, :1])
        mask = self.masks(len(x))  # (B, 1, S, S), 1 = hole
        with self.autocast():
            out = self._fill(self.generator, x, mask)
            filled = composite(x, out, mask)
            real_out = self.discriminator(x)
            fake_out = self.discriminator(filled.detach())
            loss_d = d_bce(real_out, fake_out)
        self.optimize(loss_d, "discriminator")
        with self.autocast():
            # L2 on the hole and, 10x heavier, on the overlap ring around it; mean per covered pixel.
            ring = dilate(mask, c.overlap) - mask
            weight = mask + c.overlap_weight * ring  # (B, 1, S, S)
            loss_l2 = ((out.float() - x).pow(2) * weight).sum() / (weight.sum() * x.shape[1]).clamp_min(1)
            with self.frozen(self.discriminator):
                loss_adv = g_nonsaturating(self.discriminator(filled))
            loss_g = c.rec_weight * loss_l2 + c.adv_weight * loss_adv
        self.optimize(loss_g, "generator")
        return {"loss/d": loss_d.detach(), "loss/g": loss_g.detach(), "loss/l2": loss_l2.detach(),
                "loss/g_adv": loss_adv.detach(), "d/real": torch.sigmoid(real_out.detach().float()).mean(),
                "d/fake": torch.sigmoid(fake_out.detach().float()).mean()}
