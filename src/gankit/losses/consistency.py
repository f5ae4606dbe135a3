"""StackGAN++'s regularisers: colour consistency across adjacent scales of one sample, and the KL
term of conditioning augmentation."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def color_mean_covariance(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image, the mean `(B, C)` and covariance `(B, C, C)` of its pixels (each pixel a C-vector)."""
    x = images.flatten(2)  # (B, C, HW)
    mu = x.mean(2)  # (B, C)
    centred = x - mu[:, :, None]
    return mu, centred @ centred.transpose(1, 2) / x.shape[2]  # (B, C), (B, C, C)


def color_consistency(fine: torch.Tensor, coarse: torch.Tensor, mean_weight: float = 1.0,
                      cov_weight: float = 5.0) -> torch.Tensor:
    """lambda_1 ||mu_fine - mu_coarse||^2 + lambda_2 ||Sigma_fine - Sigma_coarse||_F^2, each averaged over
    elements and the batch (the reference code's MSE), lambdas 1 and 5. The images may differ in size;
    pass `coarse` detached to make it the target, as the reference code does."""
    mu_f, cov_f = color_mean_covariance(fine)
    mu_c, cov_c = color_mean_covariance(coarse)
    return mean_weight * F.mse_loss(mu_f, mu_c) + cov_weight * F.mse_loss(cov_f, cov_c)


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), averaged over elements (the reference code's mean)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).mean()
