"""Sample-quality metrics as pure functions of feature / logit tensors.

Statistics are computed in float64; nearest-neighbour distances in float32 chunks of 1000
rows, so 10k x 10k comparisons need ~40 MB at a time.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gankit.errors import GankitError


def gaussian_stats(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean `(D,)` and unbiased covariance `(D, D)` of `(N, D)` features, in float64."""
    x = features.double()
    if x.ndim != 2 or len(x) < 2:
        raise GankitError(f"need at least 2 feature vectors of shape (N, D), got {tuple(x.shape)}")
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (len(x) - 1)


def _sqrt_psd(c: Tensor) -> Tensor:
    w, v = torch.linalg.eigh(c)
    return (v * w.clamp_min(0).sqrt()) @ v.T


def frechet_distance(mu1: Tensor, cov1: Tensor, mu2: Tensor, cov2: Tensor) -> float:
    """|mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)) between two Gaussians.

    tr (C1 C2)^(1/2) = sum of sqrt(eigenvalues) of the symmetric PSD matrix C1^(1/2) C2 C1^(1/2)
    (similar to C1 C2), so symmetric eigensolvers suffice: no complex parts to discard, unlike sqrtm.
    """
    mu1, mu2, cov1, cov2 = (t.double() for t in (mu1, mu2, cov1, cov2))
    r1 = _sqrt_psd(cov1)
    m = r1 @ cov2 @ r1
    tr_covmean = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + cov1.trace() + cov2.trace() - 2 * tr_covmean)


def fid(real: Tensor, fake: Tensor) -> float:
    """Fréchet Inception Distance (Heusel et al., arXiv 1706.08500) between two feature sets."""
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))


def kid(
    real: Tensor, fake: Tensor, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Kernel Inception Distance (Bińkowski et al., arXiv 1801.01401): `(mean, std)` over subsets
    of the unbiased MMD^2 with kernel k(x, y) = (x.y / d + 1)^3. Subsets are capped at the set sizes.

    Cost: 3 * num_subsets float64 (m x d) @ (d x m) products; the defaults take ~2 s on 2 CPU
    cores for d = 128 and 16x that for Inception's d = 2048."""
    x, y = real.double(), fake.double()
    d, m = x.shape[1], min(subset_size, len(x), len(y))
    if m < 2:
        raise GankitError("KID needs at least 2 real and 2 fake samples")
    if m == len(x) == len(y):
        num_subsets = 1  # every "subset" is the whole of both sets: all estimates would be equal
    gen = torch.Generator().manual_seed(seed)
    one = torch.ones((), dtype=torch.float64, device=x.device)
    values = []
    for _ in range(num_subsets):
        a = x[torch.randperm(len(x), generator=gen)[:m]]
        b = y[torch.randperm(len(y), generator=gen)[:m]]
        kaa, kbb, kab = (torch.addmm(one, u, v.T, alpha=1 / d).pow_(3) for u, v in ((a, a), (b, b), (a, b)))
        within = (kaa.sum() - kaa.diagonal().sum() + kbb.sum() - kbb.diagonal().sum()) / (m * (m - 1))
        values.append(within - 2 * kab.mean())
    t = torch.stack(values)
    return float(t.mean()), float(t.std(correction=0))


def inception_score(logits: Tensor, splits: int = 10) -> tuple[float, float]:
    """Inception Score (Salimans et al., arXiv 1606.03498): exp E_x KL(p(y|x) || p(y)),
    `(mean, std)` over `splits` consecutive parts."""
    if len(logits) < splits:
        raise GankitError(f"IS needs at least {splits} samples (one per split), got {len(logits)}")
    scores = []
    for logp in torch.tensor_split(torch.log_softmax(logits.double(), 1), splits):
        log_py = torch.logsumexp(logp, 0) - math.log(len(logp))  # log of the split's marginal p(y)
        scores.append((logp.exp() * (logp - log_py)).sum(1).mean().exp())
    t = torch.stack(scores)
    return float(t.mean()), float(t.std(correction=0))


def _centered(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    # Distances expand |x|^2 + |y|^2 - 2 x.y in float32; removing the common mean keeps that from cancelling.
    center = real.double().mean(0)
    return (real.double() - center).float(), (fake.double() - center).float()


def _sq_dist(x: Tensor, y: Tensor, y_sq: Tensor) -> Tensor:
    """Squared Euclidean distances (len(x), len(y)); `y_sq` = |y|^2 per row. Faster than cdist."""
    return torch.addmm(y_sq, x, y.T, alpha=-2).add_(x.square().sum(1, keepdim=True)).clamp_min_(0)


def _kth_nn_sq_dist(x: Tensor, k: int, chunk: int) -> Tensor:
    """Squared distance from each row of x to its k-th nearest other row."""
    if len(x) <= k:
        raise GankitError(f"k-NN metrics with k={k} need more than {k} samples per set, got {len(x)}")
    x_sq = x.square().sum(1)
    # k + 1: every point is its own nearest neighbour at distance 0. (topk is ~10x faster than kthvalue.)
    return torch.cat(
        [_sq_dist(c, x, x_sq).topk(k + 1, dim=1, largest=False).values[:, k] for c in x.split(chunk)]
    )


def precision_recall(real: Tensor, fake: Tensor, k: int = 3, chunk: int = 1000) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., arXiv 1904.06991).

    precision: share of fake samples inside some real k-NN ball; recall: share of real samples
    inside some fake k-NN ball (balls include their boundary, as in the paper's code)."""
    real, fake = _centered(real, fake)
    r_real, r_fake = _kth_nn_sq_dist(real, k, chunk), _kth_nn_sq_dist(fake, k, chunk)
    real_sq = real.square().sum(1)
    in_real = []
    in_fake = torch.zeros(len(real), dtype=torch.bool, device=real.device)
    for c, r in zip(fake.split(chunk), r_fake.split(chunk)):
        dist = _sq_dist(c, real, real_sq)  # (chunk, N_real)
        in_real.append((dist <= r_real).any(1))
        in_fake |= (dist <= r[:, None]).any(0)
    return float(torch.cat(in_real).double().mean()), float(in_fake.double().mean())


def density_coverage(real: Tensor, fake: Tensor, k: int = 5, chunk: int = 1000) -> tuple[float, float]:
    """Density and coverage (Naeem et al., arXiv 2002.09797), from real k-NN balls only.

    density: mean number of real balls holding a fake sample, divided by k (about 1 when the
    distributions match; above 1 when fakes crowd dense regions); coverage: share of real
    balls holding at least one fake sample (strict inequality, as in the paper's code)."""
    real, fake = _centered(real, fake)
    r_real, real_sq = _kth_nn_sq_dist(real, k, chunk), real.square().sum(1)
    hits = 0
    covered = torch.zeros(len(real), dtype=torch.bool, device=real.device)
    for c in fake.split(chunk):
        inside = _sq_dist(c, real, real_sq) < r_real  # (chunk, N_real)
        hits += int(inside.sum())
        covered |= inside.any(0)
    return hits / (k * len(fake)), float(covered.double().mean())


def label_accuracy(logits: Tensor, labels: Tensor) -> float:
    """Share of samples whose classifier argmax equals the requested label."""
    if len(logits) != len(labels):
        raise GankitError(f"got {len(logits)} logits for {len(labels)} labels")
    return float((logits.argmax(1) == labels.to(logits.device)).double().mean())
