"""Measuring what a variant promises beyond sample quality: classifiers, codes and encoders.

Pure functions of tensors plus two small drivers (batched prediction, a supervised baseline
trainer). Images are uint8 or float in [-1, 1], NCHW; everything returns Python floats.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.data.augment import random_affine, random_shift  # noqa: F401 (re-exported)
from gankit.data.core import to_signed_unit
from gankit.metrics.extractors import get_extractor


@torch.no_grad()
def predict(fn: Callable[[Tensor], Tensor], images: Tensor, device: torch.device, batch_size: int = 500) -> Tensor:
    """`fn` over `images` in batches on `device`; inputs reach `fn` as float [-1, 1]; output on CPU."""
    out = [fn(to_signed_unit(chunk.to(device))).float().cpu() for chunk in images.split(batch_size)]
    return torch.cat(out)


def accuracy(logits_or_pred: Tensor, labels: Tensor) -> float:
    """Top-1 accuracy from logits `(N, K)` or predicted classes `(N,)`."""
    pred = logits_or_pred.argmax(1) if logits_or_pred.dim() == 2 else logits_or_pred
    return (pred.cpu() == labels.cpu()).float().mean().item()


def best_mapping_accuracy(assigned: Tensor, labels: Tensor) -> tuple[float, list[int]]:
    """Accuracy of the best one-to-one map from cluster ids to classes (Hungarian algorithm).

    Returns the accuracy and the map (`mapping[cluster] = class`).
    """
    from scipy.optimize import linear_sum_assignment

    k = int(max(assigned.max(), labels.max())) + 1
    counts = torch.zeros(k, k, dtype=torch.long)
    counts.index_put_((assigned.long().cpu(), labels.long().cpu()), torch.ones(len(labels), dtype=torch.long), accumulate=True)
    rows, cols = linear_sum_assignment(-counts.numpy())
    mapping = [0] * k
    for r, c in zip(rows, cols):
        mapping[int(r)] = int(c)
    return counts[rows, cols].sum().item() / len(labels), mapping


def knn_accuracy(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, k: int = 5, chunk: int = 1000) -> float:
    """k-nearest-neighbour (Euclidean, majority vote) accuracy of codes `(N, D)`."""
    train_x, test_x = train_x.float(), test_x.float()
    num_classes = int(train_y.max()) + 1
    correct = 0
    for start in range(0, len(test_x), chunk):
        d = torch.cdist(test_x[start : start + chunk], train_x)  # (b, N_train)
        idx = d.topk(k, largest=False).indices
        votes = F.one_hot(train_y[idx], num_classes).sum(1)  # (b, K)
        correct += (votes.argmax(1) == test_y[start : start + chunk]).sum().item()
    return correct / len(test_x)


def mmd_rbf(x: Tensor, y: Tensor, scales: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)) -> float:
    """Unbiased squared MMD between samples `(N, D)` and `(M, D)` with a sum of RBF kernels.

    Bandwidths are `scales` times the median pairwise distance of the pooled samples, so the
    statistic does not depend on the codes' overall scale. Zero in expectation iff x ~ y.
    """
    x, y = x.double(), y.double()
    pooled = torch.cat([x, y])
    d2 = torch.cdist(pooled, pooled).pow(2)
    median = d2[d2 > 0].median().sqrt()
    kernel = sum(torch.exp(-d2 / (2 * (s * median) ** 2)) for s in scales)
    n, m = len(x), len(y)
    kxx, kyy, kxy = kernel[:n, :n], kernel[n:, n:], kernel[:n, n:]
    return ((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1)) + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
            - 2 * kxy.mean()).item()


_lenet = None


def digit_classes(images: Tensor, batch_size: int = 1000) -> Tensor:
    """The digit `lenet-mnist` sees in each image `(N,)` (the shipped MNIST classifier, 99.3%)."""
    global _lenet
    if _lenet is None:
        _lenet = get_extractor("lenet-mnist")
    _lenet.to(images.device)
    return _lenet.logits(images, batch_size).argmax(1)


def train_supervised(
    net: nn.Module,
    images: Tensor,
    labels: Tensor,
    steps: int = 2000,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    augment: Callable[[Tensor, torch.Generator], Tensor] | None = None,
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
) -> nn.Module:
    """Fit `net` (images in [-1, 1] -> logits) to a small labelled set with Adam: the baseline a
    semi-supervised variant is judged against. `augment(batch, generator)` defaults to a random
    shift of up to 2 pixels, as a fair baseline on 100 images needs some; a variant that augments
    its own labelled images otherwise passes the same function here. With `loss_fn=F.l1_loss` and
    `labels` the target images of aligned pairs (and no augmentation) it fits a translator instead."""
    augment = augment or (lambda batch, gen: random_shift(batch, 2, gen))
    device = next(net.parameters()).device
    x, y = to_signed_unit(images).to(device), labels.to(device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr)
    net.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (min(batch_size, len(x)),), generator=gen).to(device)
        loss = loss_fn(net(augment(x[idx], gen)), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net.eval()


def linear_probe_accuracy(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, steps: int = 200,
                          weight_decay: float = 1e-4) -> float:
    """Test accuracy of a multinomial logistic regression fitted to codes `(N, D)` by full-batch L-BFGS
    (deterministic), each feature standardised with the training codes' mean and std."""
    train_x, test_x = train_x.double(), test_x.double()
    mean, std = train_x.mean(0), train_x.std(0).clamp_min(1e-8)
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    num_classes = int(train_y.max()) + 1
    weight = torch.zeros(train_x.shape[1], num_classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=steps, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(train_x @ weight + bias, train_y) + weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return accuracy(test_x @ weight + bias, test_y)
