"""Find the latent of a real image by optimisation (the StyleGAN2 paper's projector, section 5 and
appendix D, arXiv 1912.04958), for any generator with a latent (`LatentRenderer`).

From the mean latent, Adam moves one latent (in the model's last space: w for StyleGAN) to lower
the pixel MSE plus, where a feature network is given, the squared distance of unit-normalised
features (the paper's is LPIPS; none is at hand offline). As in the paper the rate ramps up over
the first 5% of the steps and down (cosine) over the last 25%, and noise of 5% of the latents'
spread, fading out by 75% of the way, keeps the search from stalling early.
Deviation: the per-pixel noise inputs stay fixed (the paper optimises them too, with a regulariser).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gankit.data import to_uint8
from gankit.data.core import to_unit_range
from gankit.errors import GankitError
from gankit.inference import require
from gankit.metrics.ppl import unit_rows
from gankit.models.base import GANModel


@dataclass
class Projection:
    latent: torch.Tensor  # (1, D) in `space`
    space: str
    image: torch.Tensor  # uint8 (C, S, S), the reconstruction
    mse: float  # in [-1, 1] pixel units, of the reconstruction
    start_mse: float  # of the mean latent's image


def project(model: GANModel, target: torch.Tensor, steps: int = 500, lr: float = 0.1, seed: int = 0,
            features: Callable[[torch.Tensor], torch.Tensor] | None = None, space: str | None = None) -> Projection:
    """The latent whose render matches `target`, uint8 (C, S, S) at the model's size and channels."""
    require(model, "interpolate")
    spec = model.data_spec()
    if target.dtype != torch.uint8 or tuple(target.shape) != (spec.channels, spec.image_size, spec.image_size):
        raise GankitError(f"project takes a uint8 image shaped ({spec.channels}, {spec.image_size}, {spec.image_size}) "
                          f"for {model.name}, got {target.dtype} {tuple(target.shape)}")
    if steps < 1:
        raise GankitError(f"steps must be at least 1, got {steps}")
    space = space or model.latent_spaces()[-1]
    x = to_unit_range(target)[None].to(model.device)  # (1, C, S, S)
    gen = torch.Generator(model.device).manual_seed(seed)
    with torch.no_grad():
        cloud = model.to_space(model.latent(1000, model.config.latent_dim, gen), space)  # (1000, D)
        mean, spread = cloud.mean(0, keepdim=True), cloud.std(0).pow(2).sum().sqrt().item()
        start_mse = F.mse_loss(model.render(mean, space), x).item()
        target_features = None if features is None else unit_rows(features(x))
    latent = mean.clone().requires_grad_(True)
    opt = torch.optim.Adam([latent], lr=lr, betas=(0.9, 0.999))
    was_training = model.training
    model.eval()
    try:
        for step in range(steps):
            t = step / steps
            rate = lr * min(1.0, t / 0.05) * (0.5 - 0.5 * math.cos(math.pi * min(1.0, (1 - t) / 0.25)))
            for group in opt.param_groups:
                group["lr"] = rate
            noise_scale = spread * 0.05 * max(0.0, 1 - t / 0.75) ** 2
            noisy = latent + torch.randn(latent.shape, device=model.device, generator=gen) * noise_scale
            image = model.render(noisy, space)
            loss = F.mse_loss(image, x)
            if target_features is not None:
                loss = loss + (unit_rows(features(image)) - target_features).pow(2).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            final = model.render(latent, space)
    finally:
        model.train(was_training)
    return Projection(latent.detach(), space, to_uint8(final)[0].cpu(), F.mse_loss(final, x).item(), start_mse)
