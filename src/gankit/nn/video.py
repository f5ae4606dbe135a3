"""Building blocks of video GANs: a temporal generator of frame latents, a per-frame image generator,
a 3-D convolutional critic, and singular value clipping (TGAN, arXiv 1611.06624).

Clips travel as (B, T*C, H, W), frames stacked along channels (gankit.data.clips); the critic reads
them as (B, C, T, H, W).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.errors import GankitError


def _log2(value: int, what: str, at_least: int = 1) -> int:
    k = int(math.log2(value)) if value >= 1 else -1
    if value < at_least or 2**k != value:
        raise GankitError(f"{what} must be a power of two of at least {at_least}, got {value}")
    return k


class TemporalGenerator(nn.Module):
    """z0 (B, Z) -> T frame latents (B, T, Zf) in [-1, 1]: a 1-D deconvolution to length 1, then
    log2(T) deconvolutions (kernel 4, stride 2) that double the length, BatchNorm + ReLU, tanh last."""

    def __init__(self, latent_dim: int, frame_latent_dim: int, frames: int, width: int = 512) -> None:
        super().__init__()
        ups = _log2(frames, "frames", 2)
        widths = [max(width >> i, width // 4) for i in range(ups)]  # 512, 256, 128, 128 at T = 16
        layers: list[nn.Module] = [nn.ConvTranspose1d(latent_dim, widths[0], 1), nn.BatchNorm1d(widths[0]), nn.ReLU()]
        for i in range(ups):
            out = frame_latent_dim if i == ups - 1 else widths[i + 1]
            layers.append(nn.ConvTranspose1d(widths[i], out, 4, 2, 1))
            layers += [nn.Tanh()] if i == ups - 1 else [nn.BatchNorm1d(out), nn.ReLU()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None]).transpose(1, 2)  # (B, Z, 1) -> (B, Zf, T) -> (B, T, Zf)


class FrameGenerator(nn.Module):
    """One frame (N, C, S, S) from the clip's latent z0 (N, Z) and the frame's latent z1 (N, Zf): each goes
    through a linear map to width/2 maps of 4x4, the two are concatenated, then DCGAN deconvolutions
    (kernel 4, stride 2) halve the width up to S, and a 3x3 deconvolution with tanh gives C channels."""

    def __init__(self, latent_dim: int, frame_latent_dim: int, channels: int, image_size: int, width: int = 512) -> None:
        super().__init__()
        ups = _log2(image_size, "image_size", 8) - 2
        if width >> ups < 1:
            raise GankitError(f"g_width {width} is too narrow to halve {ups} times")
        self.half = width // 2
        self.clip = nn.Sequential(nn.Linear(latent_dim, 16 * self.half, bias=False), nn.BatchNorm1d(16 * self.half), nn.ReLU())
        self.frame = nn.Sequential(nn.Linear(frame_latent_dim, 16 * self.half, bias=False), nn.BatchNorm1d(16 * self.half),
                                   nn.ReLU())
        layers: list[nn.Module] = []
        for i in range(ups):
            layers += [nn.ConvTranspose2d(width >> i, width >> (i + 1), 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width >> (i + 1)), nn.ReLU()]
        layers += [nn.ConvTranspose2d(width >> ups, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z0: torch.Tensor, z1: torch.Tensor) -> torch.Tensor:
        n = z0.shape[0]
        h = torch.cat([self.clip(z0).view(n, self.half, 4, 4), self.frame(z1).view(n, self.half, 4, 4)], 1)  # (N, W, 4, 4)
        return self.net(h)  # (N, C, S, S)


class VideoGenerator(nn.Module):
    """z0 (B, Z) -> clips (B, T*C, S, S): the temporal generator's T frame latents, each rendered with z0
    by the frame generator (all B*T frames in one batch, so BatchNorm sees every frame)."""

    def __init__(self, temporal: TemporalGenerator, frame: FrameGenerator) -> None:
        super().__init__()
        self.temporal, self.frame = temporal, frame

    def forward(self, z0: torch.Tensor) -> torch.Tensor:
        z1 = self.temporal(z0)  # (B, T, Zf)
        b, t = z1.shape[:2]
        frames = self.frame(z0.repeat_interleave(t, 0), z1.reshape(b * t, -1))  # (B*T, C, S, S)
        return frames.view(b, t * frames.shape[1], *frames.shape[2:])  # (B, T*C, S, S)


class VideoCritic(nn.Module):
    """Clips (B, T*C, S, S) -> one score each (B,): 3-D convolutions (kernel 4, stride 2 in time and space;
    in space only once time is down to one step) with LeakyReLU 0.2 and BatchNorm after all but the first,
    from S down to 4 px, then one convolution over what is left of (time, 4, 4)."""

    def __init__(self, channels: int, image_size: int, frames: int, width: int = 64) -> None:
        super().__init__()
        downs = _log2(image_size, "image_size", 8) - 2
        self.frames, self.channels = frames, channels
        layers: list[nn.Module] = []
        c, t = channels, frames
        for i in range(downs):
            out = width << i
            kt, st = (4, 2) if t >= 2 else (3, 1)  # (4, 2, 1) halves the time; (3, 1, 1) keeps one step
            layers.append(nn.Conv3d(c, out, (kt, 4, 4), (st, 2, 2), 1))
            layers += [nn.BatchNorm3d(out)] if i else []
            layers.append(nn.LeakyReLU(0.2))
            c, t = out, (t + 2 - kt) // st + 1
        layers.append(nn.Conv3d(c, 1, (t, 4, 4)))
        self.net = nn.Sequential(*layers)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        b, _, h, w = clips.shape
        x = clips.view(b, self.frames, self.channels, h, w).transpose(1, 2)  # (B, C, T, H, W)
        return self.net(x).view(b)


@torch.no_grad()
def clip_singular_values_(module: nn.Module, limit: float = 1.0) -> None:
    """TGAN's singular value clipping, in place: every convolution / linear weight, reshaped to
    (out, in * kernel), gets its singular values clipped to `limit` (W <- U min(S, 1) V^T); every
    BatchNorm scale is clipped into [0.01 std, std] of its running statistics (std = sqrt(running_var)),
    which bounds the layer's gain gamma / std by 1, as the authors' code does."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear)):
            u, s, vh = torch.linalg.svd(m.weight.reshape(m.weight.shape[0], -1).float(), full_matrices=False)
            m.weight.copy_(((u * s.clamp(max=limit)) @ vh).view_as(m.weight))
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine and m.running_var is not None:
            std = m.running_var.sqrt()
            m.weight.copy_(torch.minimum(torch.maximum(m.weight, 0.01 * std), std))


def uniform_init_(module: nn.Module, scale: float = 0.01) -> None:
    """The authors' initialisation: every convolution and linear weight uniform in [-scale, scale], biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.uniform_(m.weight, -scale, scale)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
