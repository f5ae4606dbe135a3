"""Improved Techniques for Training GANs (Salimans et al., arXiv 1606.03498): the building blocks of the
techniques that any variant with a standard D can switch on (gankit.models.gan's config options).

- `MinibatchDiscrimination` (section 3.2): D sees how close each image's features are to the rest of its
  minibatch, so a G that collapses to one mode is told apart by the batch.
- `MinibatchDiscriminator`: a D (with `features()` and a logit) given that layer before its last linear layer.
- `VirtualBatchNorm` / `VirtualBatchGenerator` (section 3.4): every BatchNorm of G normalised with the
  statistics of a fixed reference batch (plus the example itself), so one output no longer depends on
  the other examples of its batch.
- `ParameterHistory` (section 3.3): the running mean of a net's past parameters, for the historical
  averaging penalty ||theta - mean_t theta_t||^2.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from gankit.errors import GankitError


class MinibatchDiscrimination(nn.Module):
    """features f (B, A) -> [f, o] (B, A + kernels): o_b(x_i) = sum_{j != i} exp(-||M_ib - M_jb||_1),
    M = f T with T of shape (A, kernels, kernel_dim). Defaults 100 x 5 (the authors' MinibatchLayer)."""

    def __init__(self, in_features: int, kernels: int = 100, kernel_dim: int = 5) -> None:
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.05)  # the code's N(0, 0.05)
        self.bias = nn.Parameter(torch.full((kernels,), -1.0))  # the code's b = -1: o starts near 0 after it

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        m = (f @ self.T).view(-1, self.kernels, self.kernel_dim)  # (B, kernels, kernel_dim)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(-1)  # (B, B, kernels)
        # exp(-0) = 1 on the diagonal: drop each image's closeness to itself.
        o = torch.exp(-l1).sum(1) - 1.0  # (B, kernels)
        return torch.cat([f, o + self.bias], 1)


class MinibatchDiscriminator(nn.Module):
    """`base` (a D with `features(x) -> (B, A)` and `feature_dim`) whose logit reads the features and the
    minibatch-discrimination outputs: a new linear head replaces `base.head` (an equivalent linear map)."""

    def __init__(self, base: nn.Module, kernels: int = 100, kernel_dim: int = 5) -> None:
        super().__init__()
        self.trunk = base.trunk
        self.minibatch = MinibatchDiscrimination(base.feature_dim, kernels, kernel_dim)
        self.head = nn.Linear(base.feature_dim + kernels, 1)
        self.feature_dim = base.feature_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x).flatten(1)  # (B, A): what feature matching compares

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.minibatch(self.features(x))).squeeze(1)  # (B,) logits


class VirtualBatchNorm(nn.Module):
    """BatchNorm with the statistics of a reference batch: in the reference pass the batch is normalised
    with its own statistics, which are kept; afterwards each example x is normalised with
    mean = (N mean_ref + mean(x)) / (N + 1) (and likewise E[x^2]), N the reference batch's size; for
    images mean(x) is the example's own per-channel mean over space (the authors' code)."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.reference: tuple[torch.Tensor, torch.Tensor, int] | None = None  # mean, mean of squares, N

    def _shape(self, x: torch.Tensor) -> tuple[int, ...]:
        return (1, -1) + (1,) * (x.dim() - 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C) or (B, C, H, W)
        space = tuple(range(2, x.dim()))
        if self.reference is None:  # the reference pass
            dims = (0, *space)
            mean, mean_sq = x.mean(dims, keepdim=True), (x * x).mean(dims, keepdim=True)  # (1, C[, 1, 1])
            self.reference = (mean, mean_sq, x.shape[0])
        else:
            ref_mean, ref_sq, n = self.reference
            own_mean = x.mean(space, keepdim=True) if space else x  # (B, C[, 1, 1])
            own_sq = (x * x).mean(space, keepdim=True) if space else x * x
            new = 1.0 / (n + 1)
            mean = new * own_mean + (1 - new) * ref_mean
            mean_sq = new * own_sq + (1 - new) * ref_sq
        var = (mean_sq - mean * mean).clamp_min(0)
        out = (x - mean) * torch.rsqrt(var + self.eps)
        return out * self.weight.view(self._shape(x)) + self.bias.view(self._shape(x))


def replace_batchnorm(net: nn.Module) -> int:
    """Swap every BatchNorm1d/2d in `net` for a VirtualBatchNorm of the same width; the number swapped."""
    swapped = 0
    for name, child in list(net.named_children()):
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            setattr(net, name, VirtualBatchNorm(child.num_features, child.eps))
            swapped += 1
        else:
            swapped += replace_batchnorm(child)
    return swapped


class VirtualBatchGenerator(nn.Module):
    """G whose BatchNorms are VirtualBatchNorms over a fixed reference batch of noise `reference_z`
    (N, latent_dim), drawn once and checkpointed. Every call runs G on the reference batch first (the
    paper's cost: two forward passes), in training and sampling alike, so a sample never depends on the
    other samples of its batch."""

    def __init__(self, net: nn.Module, reference_z: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        if replace_batchnorm(net) == 0:
            raise GankitError("virtual batch norm replaces G's BatchNorm layers, and this generator has none")
        self.register_buffer("reference_z", reference_z)

    def _norms(self) -> Iterator[VirtualBatchNorm]:
        return (m for m in self.net.modules() if isinstance(m, VirtualBatchNorm))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for m in self._norms():
            m.reference = None
        self.net(self.reference_z.to(z.dtype))
        try:
            return self.net(z)
        finally:
            for m in self._norms():  # drop the reference graph: the next call makes its own
                m.reference = None


class ParameterHistory(nn.Module):
    """The running mean of a net's past parameters (checkpointed buffers), for historical averaging."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.names = [name for name, _ in net.named_parameters()]
        for i, p in enumerate(net.parameters()):
            self.register_buffer(f"mean{i}", p.detach().clone())
        self.register_buffer("count", torch.ones((), dtype=torch.long))

    def means(self) -> list[torch.Tensor]:
        return [getattr(self, f"mean{i}") for i in range(len(self.names))]

    def penalty(self, net: nn.Module) -> torch.Tensor:
        """||theta - mean of theta_1..t||^2, summed over every parameter of `net`."""
        return sum(((p - m) ** 2).sum() for p, m in zip(net.parameters(), self.means()))  # type: ignore[return-value]

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        """Add the current parameters to the mean (call after each optimizer step)."""
        self.count += 1
        for p, m in zip(net.parameters(), self.means()):
            m.add_((p.detach() - m) / self.count)
