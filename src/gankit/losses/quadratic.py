"""GAN-QP's quadratic-potential critic loss (Su, arXiv 1811.07296) and the per-sample Pearson
correlation that O-GAN (Su, arXiv 1903.01931) adds to both players' losses."""

import torch


def pearson_correlation(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Per-row Pearson correlation of `a` and `b` (B, D): each row centred and scaled to unit length
    across its D components, then their dot product; (B,) values in [-1, 1]."""
    a = a.float() - a.float().mean(1, keepdim=True)
    b = b.float() - b.float().mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(eps)


def d_quadratic_potential(real_out: torch.Tensor, fake_out: torch.Tensor, real: torch.Tensor, fake: torch.Tensor,
                          weight: float = 0.25) -> torch.Tensor:
    """Critic loss E[D(G(z)) - D(x)] + weight * E[(D(x) - D(G(z)))^2 / mean_pixels (x - G(z))^2], real
    and fake paired by index: the quadratic term replaces a Lipschitz constraint (weight 0.25 as in
    the O-GAN code). `real_out`, `fake_out` (B,); `real`, `fake` (B, ...)."""
    diff = real_out.float() - fake_out.float()  # (B,)
    distance = (real.float() - fake.float()).pow(2).flatten(1).mean(1)  # (B,)
    return -diff.mean() + weight * (diff.pow(2) / distance.clamp_min(1e-8)).mean()


def g_quadratic_potential(fake_out: torch.Tensor) -> torch.Tensor:
    """G's GAN-QP loss: raise the critic's value of its samples, -E D(G(z))."""
    return -fake_out.float().mean()
