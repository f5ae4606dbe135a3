"""Regularisers of D: gradient penalties and weight clipping (pure, no `.backward()` inside).

Gradient penalties take D's outputs and the inputs they were computed from, and return a
differentiable penalty (via `torch.autograd.grad(create_graph=True)`).
"""

from __future__ import annotations

import torch
from torch import nn


def per_sample_grad_norm(outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """||d outputs_i / d inputs_i||_2 over ALL non-batch dims, one value per sample `(B,)`.
    (A per-pixel norm here was a real bug in a reference WGAN-GP script.)"""
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    return grad.flatten(1).norm(2, dim=1)


def interpolate(real: torch.Tensor, other: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """x_hat = alpha * real + (1 - alpha) * other with ONE alpha ~ U[0, 1] per sample; requires grad."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, generator=generator)
    return (alpha * real.detach() + (1 - alpha) * other.detach()).requires_grad_(True)


def gradient_penalty(outputs: torch.Tensor, inputs: torch.Tensor, target: float = 1.0) -> torch.Tensor:
    """WGAN-GP (arXiv 1704.00028): E (||grad D(x_hat)||_2 - target)^2; multiply by lambda outside."""
    return ((per_sample_grad_norm(outputs, inputs) - target) ** 2).mean()


def pixel_gradient_penalty(outputs: torch.Tensor, inputs: torch.Tensor, target: float = 1.0) -> torch.Tensor:
    """E over pixels of (||d sum(D) / d x_pixel||_2 over channels - target)^2: SinGAN's code penalises a patch
    critic per pixel, the gradient of its whole output map at each input pixel, not one norm per image."""
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    return ((grad.norm(2, dim=1) - target) ** 2).mean()


def dragan_perturb(real: torch.Tensor, scale: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """DRAGAN (arXiv 1705.07215): x + delta, delta = scale * std(x) * U[0, 1] per element."""
    noise = torch.rand(real.shape, device=real.device, generator=generator)
    return real + scale * real.std() * noise


def r1_penalty(real_outputs: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al., arXiv 1801.04406): E ||grad D(x)||^2 on real data; scale by gamma/2 outside."""
    return (per_sample_grad_norm(real_outputs, real) ** 2).mean()


@torch.no_grad()
def clip_weights_(module: nn.Module, limit: float) -> None:
    """WGAN (arXiv 1701.07875): clamp every parameter of the critic to [-limit, limit] in place."""
    for p in module.parameters():
        p.clamp_(-limit, limit)


def orthogonal_penalty(module: nn.Module) -> torch.Tensor:
    """BigGAN's orthogonal regularisation (arXiv 1809.11096, eq. 3): the sum over every conv and linear
    weight W (flattened to (out, in)) of ||W W^T * (1 - I)||_F^2, which pushes filters apart without
    constraining their norms; scale by beta (1e-4 in the paper) outside. Spectrally normalised layers
    are penalised on their raw weight (reading `.weight` would run a power iteration)."""
    total = None
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            raw = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            w = raw.flatten(1)  # (out, in*k*k)
            gram = w @ w.t()
            off = gram - torch.diag_embed(torch.diagonal(gram))
            term = (off**2).sum()
            total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal_penalty: the module has no conv or linear weights")
    return total
