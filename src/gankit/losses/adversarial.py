"""Adversarial objectives, written on D's raw outputs (logits or critic values).

Sigmoid-based losses go through softplus, which is the stable form of log(sigmoid(.)):
-log sigmoid(t) = softplus(-t) and -log(1 - sigmoid(t)) = softplus(t).
"""

import torch
import torch.nn.functional as F


def d_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    """D's GAN loss: -log D(x) - log(1 - D(G(z))), i.e. BCE with targets 1 and 0. `real_target` < 1 is
    one-sided label smoothing (Salimans et al., arXiv 1606.03498, section 3.4): only the real target moves."""
    real = F.softplus(-real_logits).mean()
    if real_target != 1.0:
        real = real_target * real + (1 - real_target) * F.softplus(real_logits).mean()
    return real + F.softplus(fake_logits).mean()


def feature_matching(fake_features: torch.Tensor, real_features: torch.Tensor) -> torch.Tensor:
    """G's feature-matching loss (Salimans et al., section 3.1): the squared distance between the batch
    means of D's features of fakes (B, F) and reals (B', F), averaged over features (the authors' code)."""
    return (fake_features.float().mean(0) - real_features.float().mean(0)).pow(2).mean()


def g_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's non-saturating loss -log D(G(z)) (Goodfellow et al. 2014, section 3)."""
    return F.softplus(-fake_logits).mean()


def g_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's original minimax loss log(1 - D(G(z))); saturates when D rejects fakes confidently."""
    return -F.softplus(fake_logits).mean()


def d_least_squares(real_out: torch.Tensor, fake_out: torch.Tensor, a: float = 0.0, b: float = 1.0) -> torch.Tensor:
    """LSGAN (arXiv 1611.04076, eq. 2): 1/2 E(D(x) - b)^2 + 1/2 E(D(G(z)) - a)^2."""
    return 0.5 * ((real_out - b) ** 2).mean() + 0.5 * ((fake_out - a) ** 2).mean()


def g_least_squares(fake_out: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    """LSGAN: 1/2 E(D(G(z)) - c)^2."""
    return 0.5 * ((fake_out - c) ** 2).mean()


def d_wasserstein(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """Critic loss E D(G(z)) - E D(x); its negation estimates the Wasserstein-1 distance."""
    return fake_out.mean() - real_out.mean()


def g_wasserstein(fake_out: torch.Tensor) -> torch.Tensor:
    return -fake_out.mean()


def d_hinge(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """Hinge loss (Lim & Ye, arXiv 1705.02894): E relu(1 - D(x)) + E relu(1 + D(G(z)))."""
    return F.relu(1.0 - real_out).mean() + F.relu(1.0 + fake_out).mean()


def g_hinge(fake_out: torch.Tensor) -> torch.Tensor:
    return -fake_out.mean()


def d_relativistic(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """RSGAN (Jolicoeur-Martineau, arXiv 1807.00734): -log sigmoid(C(x) - C(G(z))), paired."""
    return F.softplus(-(real_logits - fake_logits)).mean()


def g_relativistic(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-(fake_logits - real_logits)).mean()


def d_relativistic_average(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """RaSGAN: each sample is compared with the other set's mean logit."""
    return (F.softplus(-(real_logits - fake_logits.mean())).mean()
            + F.softplus(fake_logits - real_logits.mean()).mean())


def g_relativistic_average(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return (F.softplus(-(fake_logits - real_logits.mean())).mean()
            + F.softplus(real_logits - fake_logits.mean()).mean())


def g_boundary_seeking(fake_logits: torch.Tensor) -> torch.Tensor:
    """BGAN, continuous (arXiv 1702.08431, eq. 9): 1/2 (log D - log(1 - D))^2 = 1/2 logit^2,
    pushing G(z) towards D's decision boundary where D = 1/2."""
    return 0.5 * (fake_logits**2).mean()


def d_semi_supervised(logits_lab: torch.Tensor, labels: torch.Tensor, logits_unl: torch.Tensor,
                      logits_fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Supervised and unsupervised losses of a K-logit D with the fake logit fixed at 0 (Improved-GAN
    semi-supervised form, arXiv 1606.03498; used by sgan and ccgan).

    With lse = logsumexp(logits): log D(x) = lse - softplus(lse) and log(1 - D(x)) = -softplus(lse),
    so -log D(x_unl) - log(1 - D(G(z))) is computed without overflow. Halved, as in the authors' code.
    """
    supervised = F.cross_entropy(logits_lab.float(), labels)
    lse_unl, lse_fake = logits_unl.float().logsumexp(1), logits_fake.float().logsumexp(1)  # (B,)
    unsupervised = 0.5 * ((F.softplus(lse_unl) - lse_unl).mean() + F.softplus(lse_fake).mean())
    return supervised, unsupervised
