"""Adversarial objectives written on logits (numerically stable through softplus)."""

import torch
import torch.nn.functional as F


def d_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """D's GAN loss: -log D(x) - log(1 - D(G(z))), i.e. BCE with targets 1 and 0."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's non-saturating loss -log D(G(z)) (Goodfellow et al. 2014, section 3)."""
    return F.softplus(-fake_logits).mean()


def g_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's original minimax loss log(1 - D(G(z))); saturates early in training."""
    return -F.softplus(fake_logits).mean()
