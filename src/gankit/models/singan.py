"""SinGAN: Learning a Generative Model from a Single Natural Image (Shaham et al., arXiv 1905.01164).

The one idea: learn the patch statistics of ONE image with a pyramid of small fully convolutional
GANs, trained coarse to fine; scale n turns the upsampled image of scale n-1 plus noise into a
sharper one (a residual), judged by a patch critic whose receptive field is a fraction of the image.
Each scale is one engine stage; earlier scales are frozen. A reconstruction loss (alpha 10) makes one
fixed noise map at the coarsest scale (zeros above) reproduce the image, and sets each scale's noise
amplitude (0.1 x the RMSE of the upsampled reconstruction).
Defaults (the paper's code): scale factor 0.75 adjusted so the coarsest shorter side is 25 px, finest
up to 250 px; 5 conv layers (3x3, BN, LeakyReLU 0.2) of 32 channels, doubling every 4 scales up to 128,
each scale initialised from the one below when widths match; WGAN-GP lambda 0.1; 2,000 iterations of
3 D and 3 G steps per scale; Adam 5e-4 betas (0.5, 0.999), lr x0.1 after 80% of a scale.
Applications without new training: any output size, a start scale (coarser = more diverse), an image
injected at a scale (paint2image, editing, harmonisation with a mask blend), super-resolution by
re-applying the finest scale.
Deviations: bilinear resizing instead of MATLAB-style bicubic; C-channel noise at the coarsest scale
(the code uses one channel, repeated); fresh fakes for each G step (the code reuses the last D step's);
no colour quantisation of paint inputs; `cpu` preset: finest side 64 px, 1,000 iterations per scale.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_wasserstein, g_wasserstein, interpolate, pixel_gradient_penalty
from gankit.models.base import Batch, DataSpec, GANModel, Stage, StageProgress
from gankit.optim import adam
from gankit.registry import register_model


@dataclass
class SinGANConfig(Config):
    channels: int = 3
    image_shape: tuple[int, int] = (188, 250)  # (H, W) of the finest scale; training sets it from the image
    max_size: int = 250  # the training image's longer side is brought down to this
    min_size: int = 25  # the coarsest scale's shorter side
    scale_factor: float = 0.75  # before adjustment to land exactly on min_size
    single_scale: bool = False  # the baseline: one GAN at the finest size, given the pyramid's compute
    conv_width: int = 32
    max_conv_width: int = 128
    num_layers: int = 5
    steps_per_scale: int = 2000
    d_steps: int = 3
    g_steps: int = 3
    lr: float = 5e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_drop_at: float = 0.8  # share of a scale's iterations after which lr is x0.1 (the code: 1,600 of 2,000)
    gp_weight: float = 0.1
    rec_weight: float = 10.0
    noise_amp: float = 0.1
    upscale_factor: int = 4  # `gankit upscale`: output side over input side

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"image_shape": (14, 14), "min_size": 10, "conv_width": 4, "num_layers": 3, "steps_per_scale": 2,
                 "d_steps": 1, "g_steps": 1},
        "cpu": {"image_shape": (48, 64), "max_size": 64, "steps_per_scale": 1000},
    }

    @classmethod
    def data_defaults(cls, source: str, preset: str | None, values: dict[str, Any]) -> dict[str, Any]:
        """The finest scale's shape from the training image: its own, longer side at most max_size."""
        from gankit.data.sources import is_single_image, single_image

        if not is_single_image(source):
            raise GankitError(f"singan learns from one image: give --data an image file or photo:NAME, not {source!r}")
        merged = {**(cls.presets.get(preset, {}) if preset else {}), **values}
        if "image_shape" in values:
            return {}
        h, w = single_image(source, 3).shape[-2:]
        shrink = min(1.0, merged.get("max_size", cls.max_size) / max(h, w))
        return {"image_shape": (max(1, round(h * shrink)), max(1, round(w * shrink)))}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.min_size < 2 * self.num_layers + 1:
            raise GankitError(f"min_size {self.min_size} is too small for the critic's {self.num_layers} valid 3x3 "
                              f"convs: use at least {2 * self.num_layers + 1}")
        if not 0 < self.scale_factor < 1 or not 0 < self.lr_drop_at <= 1:
            raise GankitError(f"scale_factor must be in (0, 1) and lr_drop_at in (0, 1], got {self.scale_factor}, "
                              f"{self.lr_drop_at}")
        if not self.single_scale and min(self.image_shape) <= self.min_size:
            h, w = self.image_shape
            raise GankitError(f"the image is {h}x{w} px, too small for a pyramid whose coarsest scale is min_size="
                              f"{self.min_size} px: use a larger image (shorter side above {self.min_size} px after "
                              f"max_size={self.max_size}) or --set min_size=... (at least {2 * self.num_layers + 1})")

    @property
    def factor(self) -> float:
        """The scale factor between neighbouring scales, adjusted so the coarsest shorter side is min_size."""
        if self.single_scale:
            return self.scale_factor
        return (self.min_size / min(self.image_shape)) ** (1 / self.top)

    @property
    def top(self) -> int:
        """Index of the finest scale (scales are 0 = coarsest .. top)."""
        if self.single_scale:
            return 0
        return max(1, math.ceil(math.log(self.min_size / min(self.image_shape)) / math.log(self.scale_factor)))

    def shapes(self, finest: tuple[int, int] | None = None) -> list[tuple[int, int]]:
        """(H, W) of every scale, coarsest first, for the training shape or any other `finest` size."""
        h, w = finest or self.image_shape
        if self.single_scale:
            return [(h, w)]
        f = self.factor
        return [(max(1, round(h * f ** (self.top - n))), max(1, round(w * f ** (self.top - n)))) for n in range(self.top + 1)]

    def width(self, scale: int) -> int:
        return min(self.conv_width * 2 ** (scale // 4), self.max_conv_width)


def conv_stack(c_in: int, width: int, layers: int, c_out: int) -> list[nn.Module]:
    """`layers` valid 3x3 convs, BN and leaky ReLU 0.2 between them: the body of both nets at every scale."""
    blocks = [nn.Sequential(nn.Conv2d(c_in if i == 0 else width, width, 3), nn.BatchNorm2d(width), nn.LeakyReLU(0.2))
              for i in range(layers - 1)]
    return [*blocks, nn.Conv2d(width, c_out, 3)]


class ScaleGenerator(nn.Module):
    """(noise, previous image upsampled) -> previous + residual; valid convs on a zero-padded input, so
    the output has the input's size and the net is fully convolutional (any size, any aspect)."""

    def __init__(self, channels: int, width: int, layers: int) -> None:
        super().__init__()
        self.pad = layers  # each valid 3x3 conv trims one pixel per side
        self.body = nn.Sequential(*conv_stack(channels, width, layers, channels), nn.Tanh())

    def forward(self, noise: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:  # (B, C, h, w) each
        return self.body(F.pad(noise + prev, [self.pad] * 4)) + prev


class PatchCritic(nn.Module):
    """WGAN critic of overlapping patches: (B, C, h, w) -> (B, 1, h - 2L, w - 2L)."""

    def __init__(self, channels: int, width: int, layers: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*conv_stack(channels, width, layers, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _init(m: nn.Module) -> None:
    if isinstance(m, nn.Conv2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def resize(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(hw):
        return x
    return F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=x.shape[-1] > hw[1])


@register_model("singan")
class SinGAN(GANModel):
    config_class = SinGANConfig
    paper = "SinGAN: Learning a Generative Model from a Single Natural Image"
    arxiv = "1905.01164"
    data_needs = "one image"
    ema_targets: ClassVar[tuple[str, ...]] = ()
    capabilities: ClassVar[tuple[str, ...]] = ("single_image",)
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 1}

    def __init__(self, config: SinGANConfig) -> None:
        super().__init__(config)
        c = config
        self.top = c.top
        self.generators = nn.ModuleList([ScaleGenerator(c.channels, c.width(n), c.num_layers) for n in range(self.top + 1)])
        self.critics = nn.ModuleList([PatchCritic(c.channels, c.width(n), c.num_layers) for n in range(self.top + 1)])
        self.apply(_init)
        shapes = c.shapes()
        # Checkpointed state: the scale in training, each scale's noise amplitude (set from the image at
        # the scale's first step), the fixed reconstruction noise and the training image itself, which
        # reconstruction, editing and harmonisation start from.
        self.register_buffer("scale", torch.tensor(self.top, dtype=torch.long))
        amps = torch.full((self.top + 1,), c.noise_amp)
        amps[0] = 1.0  # the coarsest scale generates from noise alone
        self.register_buffer("noise_amps", amps)
        self.register_buffer("calibrated", torch.zeros(self.top + 1, dtype=torch.bool))
        self.register_buffer("z_rec", torch.randn(1, c.channels, *shapes[0]))  # (1, C, h0, w0)
        self.register_buffer("image", torch.zeros(1, c.channels, *c.image_shape))  # (1, C, H, W) in [-1, 1]
        self._activate(self.top)

    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels, image_size=max(c.image_shape), image_shape=tuple(c.image_shape))

    def stages(self, train: Any) -> list[Stage]:
        c = self.config
        steps = c.steps_per_scale
        if c.single_scale:  # the baseline gets the pyramid's compute: its iterations weighted by each scale's pixels
            pyramid = dataclasses.replace(c, single_scale=False).shapes()
            steps = round(c.steps_per_scale * sum(h * w for h, w in pyramid) / (pyramid[-1][0] * pyramid[-1][1]))
        return [Stage(f"scale{n}-{h}x{w}", steps=steps, batch_size=1) for n, (h, w) in enumerate(c.shapes())]

    def begin_stage(self, progress: StageProgress) -> None:
        n = progress.index
        if n > 0 and self.config.width(n) == self.config.width(n - 1):  # the paper's warm start from the scale below
            self.generators[n].load_state_dict(self.generators[n - 1].state_dict())
            self.critics[n].load_state_dict(self.critics[n - 1].state_dict())
        self._activate(n)

    def _activate(self, n: int) -> None:
        self.scale.fill_(n)
        self._rec_input: tuple[int, torch.Tensor] | None = None  # scale n's reconstruction input, made once
        for i, (g, d) in enumerate(zip(self.generators, self.critics)):
            g.requires_grad_(i == n)
            d.requires_grad_(i == n)
        c = self.config
        self.optimizers = {"discriminator": adam(self.critics[n].parameters(), c.lr, c.betas),
                           "generator": adam(self.generators[n].parameters(), c.lr, c.betas)}

    # ---- the pyramid ---------------------------------------------------------------------------
    def _run(self, upto: int, shapes: list[tuple[int, int]], n: int, start: torch.Tensor | None = None,
             from_scale: int = 0, rec_below: int = 0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images of scale `upto` (n, C, h, w) through frozen scales in eval mode: scales below `rec_below`
        use the reconstruction noise, the others fresh noise; `start` (an image at scale `from_scale`)
        replaces the scales below `from_scale`."""
        x = torch.zeros(n, self.config.channels, *shapes[from_scale], device=self.device) if start is None else start
        for s in range(from_scale, upto + 1):
            if s > from_scale:
                x = resize(x, shapes[s])
            g = self.generators[s]
            if s < rec_below:
                z = (self.z_rec if s == 0 else torch.zeros_like(self.z_rec[:, :, :1, :1])).expand(n, -1, *shapes[s])
            else:
                z = torch.randn(n, self.config.channels, *shapes[s], device=self.device, generator=generator)
            with self.eval_mode(g):
                x = g(self.noise_amps[s] * z, x)
        return x

    def _reconstruct(self, upto: int) -> torch.Tensor:
        return self._run(upto, self.config.shapes(), 1, rec_below=upto + 1)  # (1, C, h, w)

    def _below(self, n: int, batch: int, rec: bool) -> torch.Tensor:
        """Scale n's input: the upsampled output of scale n-1 (zeros at the coarsest)."""
        shapes = self.config.shapes()
        if n == 0:
            return torch.zeros(batch, self.config.channels, *shapes[0], device=self.device)
        if rec:  # the scales below are frozen and their noise fixed: one reconstruction serves the whole scale
            cached = self._rec_input
            if cached is None or cached[0] != n or cached[1].device != self.device:
                with torch.no_grad():
                    self._rec_input = cached = (n, resize(self._reconstruct(n - 1), shapes[n]))
            return cached[1].expand(batch, -1, -1, -1)
        with torch.no_grad():
            x = self._run(n - 1, shapes, batch)
        return resize(x, shapes[n])

    # ---- training --------------------------------------------------------------------------------
    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c, n = self.config, int(self.scale)
        shapes = c.shapes()
        real = resize(batch.images, shapes[n])  # (B, C, h_n, w_n)
        b = real.shape[0]
        if not self.calibrated[n]:
            self.image.copy_(resize(batch.images[:1], tuple(c.image_shape)))
            if n > 0:
                rmse = (self._below(n, 1, rec=True) - real[:1]).pow(2).mean().sqrt()
                self.noise_amps[n] = c.noise_amp * rmse
            self.calibrated[n] = True
        lr = c.lr * (0.1 if self.progress is not None and self.progress.fraction >= c.lr_drop_at else 1.0)
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr
        g, d, amp = self.generators[n], self.critics[n], self.noise_amps[n]
        prev = self._below(n, b, rec=False)
        prev_rec = self._below(n, b, rec=True)
        z_rec = self.z_rec.expand(b, -1, -1, -1) if n == 0 else torch.zeros_like(real)
        for _ in range(c.d_steps):
            with torch.no_grad():
                fake = g(amp * torch.randn_like(real), prev)
            real_out, fake_out = d(real), d(fake.detach())
            x_hat = interpolate(real, fake)
            gp = c.gp_weight * pixel_gradient_penalty(d(x_hat), x_hat)
            loss_d = d_wasserstein(real_out, fake_out)
            self.optimize(loss_d + gp, "discriminator")
        for _ in range(c.g_steps):
            with self.frozen(d):
                loss_g = g_wasserstein(d(g(amp * torch.randn_like(real), prev)))
            rec = F.mse_loss(g(amp * z_rec, prev_rec), real)
            self.optimize(loss_g + c.rec_weight * rec, "generator")
        return {"loss/d": loss_d.detach(), "loss/g": loss_g.detach(), "loss/rec": rec.detach(),
                "penalty/gp": gp.detach(), "singan/scale": self.scale.detach().float(),
                "singan/noise_amp": amp.detach().clone()}

    # ---- sampling and the applications -----------------------------------------------------------
    def _finish(self, x: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        return resize(x, shape).float().clamp(-1, 1)  # mid-training: the current scale, upsampled to the final shape

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.sample_at(n, generator=generator)

    @torch.no_grad()
    def sample_at(self, n: int, size: tuple[int, int] | None = None, start_scale: int = 0,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` random images (n, C, H, W) at `size` (default: the training shape), fresh noise from
        `start_scale` up; the scales below it reconstruct the training image (coarser = more diverse)."""
        if not 0 <= start_scale <= self.top:
            raise GankitError(f"--start-scale must be 0..{self.top} (0 = coarsest, the most diverse)")
        if start_scale > 0 and size is not None and tuple(size) != tuple(self.config.image_shape):
            raise GankitError("--start-scale > 0 reconstructs the coarse scales of the training image, which has its "
                              f"own shape {tuple(self.config.image_shape)}: drop --size or use --start-scale 0")
        shapes = self.config.shapes(size)
        upto = int(self.scale)
        return self._finish(self._run(upto, shapes, n, rec_below=start_scale, generator=generator), shapes[-1])

    @torch.no_grad()
    def reconstruct(self) -> torch.Tensor:
        """The fixed-noise path: the training image as the pyramid reproduces it, (1, C, H, W)."""
        return self._finish(self._reconstruct(int(self.scale)), tuple(self.config.image_shape))

    @torch.no_grad()
    def inject(self, image: torch.Tensor, scale: int | None = None, n: int = 1,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """`image` (1, C, h, w) in [-1, 1], resized to the training shape, downsampled to `scale` (default: the
        middle scale) and run through the scales from there up with fresh noise: paint2image, editing and
        harmonisation."""
        scale = max(1, self.top // 2) if scale is None else scale
        if not 1 <= scale <= self.top:
            raise GankitError(f"--scale must be 1..{self.top}: the scale the image enters at (coarser = freer)")
        shapes = self.config.shapes()
        start = resize(resize(image, shapes[-1]), shapes[scale]).expand(n, -1, -1, -1)
        return self._finish(self._run(self.top, shapes, n, start=start, from_scale=scale, generator=generator), shapes[-1])

    @torch.no_grad()
    def upscale(self, x: torch.Tensor, tile: int | None = None) -> torch.Tensor:
        """Super-resolution x`upscale_factor`: upsample by about 1/scale-factor and re-apply the finest scale,
        repeated (fully convolutional, so `tile` is not needed)."""
        factor = self.config.upscale_factor
        steps = max(1, math.ceil(math.log(factor) / -math.log(self.config.factor)))
        h, w = x.shape[-2:]
        g = self.generators[self.top]
        for i in range(1, steps + 1):
            ratio = factor ** (i / steps)
            x = resize(x, (round(h * ratio), round(w * ratio)))
            with self.eval_mode(g):
                x = g(self.noise_amps[self.top] * torch.randn_like(x), x)
        return x.float().clamp(-1, 1)  # (B, C, h * factor, w * factor)
