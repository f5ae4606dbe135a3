"""Adaptive discriminator augmentation (Karras et al., arXiv 2006.06676).

Every image D sees (reals, fakes, reals inside R1) passes through the same differentiable pipeline;
each transformation fires per sample with probability p, and p follows the overfitting heuristic
r_t = E[sign(D(real))] towards a target: up when D is too sure of the reals, down otherwise.
The pipeline is ADA's `bgc` set: pixel blitting (x-flip, 90-degree rotations, integer translation),
general geometry (isotropic and anisotropic scaling, rotation, fractional translation) and colour
(brightness, contrast, luma flip, hue rotation, saturation; the last three on RGB only), with ADA's
magnitudes. Deviation: the geometric part is one bilinear `grid_sample` with reflection padding
(ADA upsamples with a wavelet filter first, which matters at high resolution).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError


def _chosen(p: float, n: int, device: torch.device) -> torch.Tensor:
    return torch.rand(n, device=device) < p  # (n,)


def _geometry(n: int, p: float, device: torch.device) -> torch.Tensor:
    """(n, 3, 3) affine maps in normalised coordinates, each factor drawn with probability p."""
    eye = torch.eye(3, device=device).expand(n, 3, 3)

    def scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
        m = eye.clone()
        m[:, 0, 0], m[:, 1, 1] = sx, sy
        return m

    def rotate(theta: torch.Tensor) -> torch.Tensor:
        m = eye.clone()
        c, s = torch.cos(theta), torch.sin(theta)
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
        return m

    def translate(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
        m = eye.clone()
        m[:, 0, 2], m[:, 1, 2] = tx, ty
        return m

    on = lambda q=p: _chosen(q, n, device).float()  # noqa: E731
    flip = on() * torch.randint(0, 2, (n,), device=device)
    g = scale(1 - 2 * flip, torch.ones(n, device=device))
    quarter = on() * torch.randint(0, 4, (n,), device=device)
    g = g @ rotate(quarter * math.pi / 2)
    shift = (torch.rand(n, 2, device=device) * 2 - 1) * 0.125 * 2 * on()[:, None]  # up to 1/8 of the side
    g = g @ translate(shift[:, 0], shift[:, 1])
    iso = torch.exp2(torch.randn(n, device=device) * 0.2 * on())
    g = g @ scale(iso, iso)
    p_rot = 1 - math.sqrt(max(0.0, 1 - p))  # two rotations: together they fire with probability p
    g = g @ rotate((torch.rand(n, device=device) * 2 - 1) * math.pi * on(p_rot))
    aniso = torch.exp2(torch.randn(n, device=device) * 0.2 * on())
    g = g @ scale(aniso, 1 / aniso)
    g = g @ rotate((torch.rand(n, device=device) * 2 - 1) * math.pi * on(p_rot))
    frac = torch.randn(n, 2, device=device) * 0.125 * 2 * on()[:, None]
    return g @ translate(frac[:, 0], frac[:, 1])


def _colour(x: torch.Tensor, p: float) -> torch.Tensor:
    n, c = x.shape[:2]
    device = x.device
    on = lambda: _chosen(p, n, device).to(x.dtype).view(n, 1, 1, 1)  # noqa: E731
    x = x + torch.randn(n, 1, 1, 1, device=device, dtype=x.dtype) * 0.2 * on()  # brightness
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = mean + (x - mean) * torch.exp2(torch.randn(n, 1, 1, 1, device=device, dtype=x.dtype) * 0.5 * on())  # contrast
    if c == 3:
        luma_axis = torch.full((3,), 1 / math.sqrt(3), device=device, dtype=x.dtype)
        luma = (x * luma_axis.view(1, 3, 1, 1)).sum(1, keepdim=True)  # (n, 1, H, W)
        flip = on() * torch.randint(0, 2, (n, 1, 1, 1), device=device, dtype=x.dtype)
        x = x - 2 * flip * luma * luma_axis.view(1, 3, 1, 1)  # luma flip
        theta = (torch.rand(n, device=device, dtype=x.dtype) * 2 - 1) * math.pi * on().view(n)
        # Hue: rotation about the luma axis (Rodrigues), chroma only.
        kx = torch.tensor([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], device=device, dtype=x.dtype) / math.sqrt(3)
        rot = (torch.eye(3, device=device, dtype=x.dtype) + torch.sin(theta)[:, None, None] * kx
               + (1 - torch.cos(theta))[:, None, None] * (kx @ kx))  # (n, 3, 3)
        x = torch.einsum("nij,njhw->nihw", rot, x)
        luma = (x * luma_axis.view(1, 3, 1, 1)).sum(1, keepdim=True)
        sat = torch.exp2(torch.randn(n, 1, 1, 1, device=device, dtype=x.dtype) * on())
        x = luma * luma_axis.view(1, 3, 1, 1) + (x - luma * luma_axis.view(1, 3, 1, 1)) * sat
    return x


def augment(x: torch.Tensor, p: float) -> torch.Tensor:
    """`x` (B, C, H, W) in [-1, 1] with each transformation applied per sample with probability `p`;
    differentiable in `x`. p = 0 returns `x` itself."""
    if p <= 0:
        return x
    n = x.shape[0]
    theta = _geometry(n, p, x.device)[:, :2].to(x.dtype)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return _colour(x, p)


class AdaptiveAugment(nn.Module):
    """The augmentation probability p and its controller (buffers, so a resumed run goes on exactly).

    Call `observe(real_logits)` on every D step; every `interval` of them p moves by
    sign(r_t - target) * images seen / `speed_images` (ADA: 500k images for p to go 0 -> 1)."""

    def __init__(self, target: float = 0.6, interval: int = 4, speed_images: int = 500_000, p: float = 0.0,
                 adaptive: bool = True) -> None:
        super().__init__()
        if not 0 <= p < 1 or interval < 1 or speed_images < 1:
            raise GankitError(f"ADA needs p in [0, 1), interval >= 1 and speed_images >= 1, got {p}, {interval}, "
                              f"{speed_images}")
        self.target, self.interval, self.speed_images, self.adaptive = target, interval, speed_images, adaptive
        self.register_buffer("p", torch.tensor(float(p)))
        self.register_buffer("rt", torch.zeros(()))  # the last heuristic value, for the log
        self.register_buffer("sign_sum", torch.zeros(()))
        self.register_buffer("seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return augment(x, float(self.p))

    @torch.no_grad()
    def observe(self, real_logits: torch.Tensor) -> None:
        self.sign_sum += real_logits.detach().float().sign().sum()
        self.seen += real_logits.numel()
        self.calls += 1
        if int(self.calls) % self.interval:
            return
        self.rt.copy_(self.sign_sum / self.seen.clamp_min(1))
        if self.adaptive:
            step = float(self.seen) / self.speed_images
            self.p.copy_((self.p + torch.sign(self.rt - self.target) * step).clamp(0.0, 1.0))
        self.sign_sum.zero_()
        self.seen.zero_()
