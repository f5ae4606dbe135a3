"""Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network
(Ledig et al., arXiv 1609.04802).

The one idea: pixel-wise MSE makes a super-resolved image the blurry average of every plausible sharp
image; comparing deep features (content loss: VGG19 relu5_4 maps rescaled by 1/12.75) plus a small
adversarial term (1e-3) pushes G towards one sharp, natural-looking image instead. G (SRResNet, 16 residual
blocks, x4 by pixel shuffle) trains alone with MSE ("srresnet" stage), then as SRGAN ("srgan" stage).

Defaults: x4 from bicubic (antialiased, 8-bit) LR made inside the model, images in [-1, 1], Adam 1e-4 betas
(0.9, 0.999); content net VGG19 if its weights are at hand, else the shipped `gankit-sr-features`.

Deviations from the paper:
- `pretrain_steps` MSE steps then SRGAN until the budget, at one learning rate (paper: 1e6 + 2e5, 1e-4/1e-5).
- `cpu` preset: 4 blocks of width 32, D width 16, 32 px HR crops, lr 1e-3, the shipped feature net, `bicubic_skip`.
- `cpu` preset keeps the pixel MSE (weight 1) in the SRGAN phase; the paper's default (0) is kept.
- PSNR/SSIM on RGB with `scale` border pixels shaved (paper: Y channel), on small held-out photo crops.

Lab notes (what was tried and measured): docs/variants/srgan.md
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch, DataSpec, GANModel, Stage
from gankit.nn.content import ContentNetwork, bicubic, load_content_network, resolve_content_network
from gankit.nn.srresnet import SRDiscriminator, SRResNet
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class SRGANConfig(Config):
    image_size: int = 96  # high-resolution training crop (the paper's 96x96)
    channels: int = 3
    scale: int = 4
    blocks: int = 16
    width: int = 64
    bicubic_skip: bool = False  # predict the residual over the bicubic upscale (not in the paper)
    d_width: int = 64
    d_stages: int = 4  # conv stride-1/stride-2 pairs: widths d_width * 1, 2, 4, 8
    d_dense: int = 1024
    pretrain_steps: int = 1_000_000  # SRResNet (MSE) steps before the adversarial phase (paper: 1e6)
    adv_weight: float = 1e-3
    mse_weight: float = 0.0  # pixel MSE kept in the adversarial phase (paper: 0, content loss only)
    content_network: Literal["auto", "vgg19", "gankit-sr-features"] = "auto"
    vgg19_weights: str | None = None  # torchvision's vgg19-dcbb9e9d.pth, for offline use
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    tile: int = 256  # `upscale` cuts larger inputs into tiles of this many low-resolution pixels
    grid_examples: int = 8  # fixed training crops shown (bicubic | G | HR) in sample grids

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"image_size": 16, "channels": 1, "blocks": 1, "width": 4, "d_width": 4, "d_stages": 2,
                 "d_dense": 8, "pretrain_steps": 0, "content_network": "gankit-sr-features", "tile": 8,
                 "grid_examples": 4},
        "cpu": {"image_size": 32, "blocks": 4, "width": 32, "bicubic_skip": True, "d_width": 16, "d_dense": 128,
                "pretrain_steps": 600, "mse_weight": 1.0, "content_network": "gankit-sr-features", "lr": 1e-3,
                "tile": 128},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.image_size % self.scale:
            raise GankitError(f"image_size ({self.image_size}) must be a multiple of scale ({self.scale})")
        if self.blocks < 0 or self.width < 1 or self.tile < 4 or self.pretrain_steps < 0:
            raise GankitError("blocks >= 0, width >= 1, tile >= 4 and pretrain_steps >= 0 are required")


def downsample(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The paper's low-resolution input: antialiased bicubic 1/scale, clamped and quantised to 8 bits
    (what a stored LR image holds). (B, C, S, S) -> (B, C, S / scale, S / scale), in [-1, 1]."""
    lr = bicubic(hr.float(), 1 / scale).clamp(-1, 1)
    return torch.round((lr + 1) * 127.5) / 127.5 - 1


@register_model("srgan")
class SRGAN(GANModel):
    config_class = SRGANConfig
    paper = "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network"
    arxiv = "1609.04802"
    capabilities: ClassVar[tuple[str, ...]] = ('upscale_psnr',)
    data_needs = "images"

    def __init__(self, config: SRGANConfig) -> None:
        super().__init__(config)
        c = config
        # Resolved now so that config.json records the network that trained the run.
        c.content_network = resolve_content_network(c.content_network, c.vgg19_weights)
        self.generator = SRResNet(c.channels, c.scale, c.width, c.blocks, c.bicubic_skip)
        self.discriminator = SRDiscriminator(c.channels, c.image_size, c.d_width, c.d_stages, c.d_dense)
        self.optimizers = {"generator": adam(self.generator.parameters(), c.lr, c.betas),
                           "discriminator": adam(self.discriminator.parameters(), c.lr, c.betas)}
        self.register_buffer("step_count", torch.zeros((), dtype=torch.int64))  # steps trained (both stages)
        self.register_buffer("examples", torch.zeros(c.grid_examples, c.channels, c.image_size, c.image_size))
        self.register_buffer("examples_kept", torch.zeros((), dtype=torch.bool))
        self._content: ContentNetwork | None = None  # frozen, loaded on first use; not in the checkpoint

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    def stages(self, train: Any) -> list[Stage]:
        """SRResNet: `pretrain_steps` of G alone with MSE; then SRGAN to the end of the run."""
        srgan = Stage("srgan")
        if self.config.pretrain_steps == 0:
            return [srgan]
        return [Stage("srresnet", steps=self.config.pretrain_steps, trains=("generator",)), srgan]

    @property
    def adversarial(self) -> bool:
        """In the SRGAN stage, where D trains (outside the engine's stages: always)."""
        return self.trains("discriminator")

    def content_net(self) -> ContentNetwork:
        if self._content is None:
            # A plain attribute, not a submodule: its weights stay out of parameters and checkpoints.
            object.__setattr__(self, "_content", load_content_network(self.config.content_network,
                                                                      self.config.vgg19_weights))
        if self._content.mean.device != self.device:
            self._content.to(self.device)
        return self._content

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c = self.config
        hr = batch.images  # (B, C, S, S)
        if not bool(self.examples_kept):
            k = min(len(hr), len(self.examples))
            self.examples[:k] = hr[:k].detach()
            self.examples_kept.fill_(True)
        phi = self.content_net()  # loaded at the first step, so a missing VGG19 fails at once, not after pretraining
        lr = downsample(hr, c.scale)  # (B, C, S / scale, S / scale)
        zero = hr.new_zeros(())
        if not self.adversarial:  # SRResNet: MSE only
            with self.autocast():
                loss_mse = F.mse_loss(self.generator(lr).float(), hr)
            self.optimize(loss_mse, "generator")
            self.step_count += 1
            return {"loss/g": loss_mse.detach(), "loss/d": zero, "loss/content": zero, "loss/mse": loss_mse.detach(),
                    "loss/g_adv": zero}
        with self.autocast():
            sr = self.generator(lr)  # (B, C, S, S)
            real_out = self.discriminator(hr)
            fake_out = self.discriminator(sr.detach())
            loss_d = d_bce(real_out, fake_out)
        self.optimize(loss_d, "discriminator")
        with self.autocast():
            with torch.no_grad():
                target = phi(hr)
            loss_content = F.mse_loss(phi(sr).float(), target.float())
            with self.frozen(self.discriminator):
                loss_adv = g_nonsaturating(self.discriminator(sr))
            loss_mse = F.mse_loss(sr.float(), hr)
            loss_g = loss_content + c.adv_weight * loss_adv + c.mse_weight * loss_mse
        self.optimize(loss_g, "generator")
        self.step_count += 1
        return {"loss/g": loss_g.detach(), "loss/d": loss_d.detach(), "loss/content": loss_content.detach(),
                "loss/mse": loss_mse.detach(), "loss/g_adv": loss_adv.detach(),
                "d/real": torch.sigmoid(real_out.detach().float()).mean(),
                "d/fake": torch.sigmoid(fake_out.detach().float()).mean()}

    # ---- super-resolution --------------------------------------------------------------------
    def _tile_weights(self, start: int, length: int, total: int, margin: int, band: float) -> torch.Tensor:
        """Blend weights along one axis for a tile covering low-res [start, start + length) of `total`:
        (length * scale,) high-res weights, 1 in the tile's share and ramping linearly to 0 over `band`
        low-res pixels centred `margin` pixels inside each edge that has a neighbour. Where the tile's
        context reaches past the network's receptive radius, neighbours agree and the blend is exact."""
        s = self.config.scale
        pos = (torch.arange(length * s, dtype=torch.float64) + 0.5) / s  # low-res coordinate in the tile
        w = torch.ones_like(pos)
        if start > 0:
            w = w * ((pos - (margin - band / 2)) / band).clamp(0, 1)
        if start + length < total:
            w = w * (((length - margin + band / 2) - pos) / band).clamp(0, 1)
        return w

    @staticmethod
    def _starts(total: int, tile: int, step: int) -> list[int]:
        if total <= tile:
            return [0]
        starts = list(range(0, total - tile, step))
        return starts + [total - tile]  # the last tile ends at the border

    @torch.no_grad()
    def upscale(self, x: torch.Tensor, tile: int | None = None) -> torch.Tensor:
        """x`scale` super-resolution of `x` (B, C, h, w) in [-1, 1], any size down to 1x1: returns
        (B, C, h * scale, w * scale) in [-1, 1]. Inputs larger than `tile` low-res pixels (default
        `config.tile`) are cut into overlapping tiles whose outputs are blended across the seams; each
        tile keeps up to the network's receptive radius of extra context, so tiled and whole results
        agree up to float rounding when tiles are at least ~3x that radius."""
        c = self.config
        if x.ndim != 4 or x.shape[1] != c.channels:
            raise GankitError(f"upscale takes (B, {c.channels}, H, W) images, got shape {tuple(x.shape)}")
        if x.shape[-1] < 1 or x.shape[-2] < 1:
            raise GankitError(f"upscale needs an image of at least 1x1 pixels, got {tuple(x.shape[-2:])}")
        tile = tile or c.tile
        g = self.net("generator")
        x = x.to(self.device).float()
        b, ch, h, w = x.shape
        s = c.scale
        with self.eval_mode(g), self.autocast():
            if h <= tile and w <= tile:
                return g(x).float().clamp(-1, 1)
            # Each tile gives its neighbour `margin` pixels of context (capped: tiles at least a third
            # new area) and blends over `band` pixels in the middle of the overlap.
            margin = min(g.receptive_radius + 2, tile // 3)
            band = max(1.0, min(4.0, margin / 2))
            step = tile - 2 * margin
            out = x.new_zeros(b, ch, h * s, w * s)
            weight = x.new_zeros(1, 1, h * s, w * s)
            for y0 in self._starts(h, tile, step):
                th = min(tile, h)
                wy = self._tile_weights(y0, th, h, margin, band)
                for x0 in self._starts(w, tile, step):
                    tw = min(tile, w)
                    wx = self._tile_weights(x0, tw, w, margin, band)
                    wt = (wy[:, None] * wx[None, :]).to(x.dtype)  # (th * s, tw * s)
                    y = g(x[..., y0 : y0 + th, x0 : x0 + tw]).float()  # (B, C, th * s, tw * s)
                    out[..., y0 * s : (y0 + th) * s, x0 * s : (x0 + tw) * s] += y * wt
                    weight[..., y0 * s : (y0 + th) * s, x0 * s : (x0 + tw) * s] += wt
        return (out / weight).clamp(-1, 1)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """x`scale` upscales of the low-resolution copies of the training crops kept from the first
        batch (cycled to n): (n, C, S, S). Deterministic; `generator` is unused (G has no noise)."""
        hr = self.examples[torch.arange(n, device=self.examples.device) % len(self.examples)]
        return self.upscale(downsample(hr, self.config.scale))

    def preview(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int | None]:
        hr = self.examples
        lr = downsample(hr, self.config.scale)
        up = bicubic(lr, self.config.scale).clamp(-1, 1)
        return torch.stack([up, self.upscale(lr), hr], 1).flatten(0, 1), 3  # rows of bicubic | G | HR
