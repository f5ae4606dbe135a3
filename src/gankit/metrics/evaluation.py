"""`evaluate(sample_fn, real)` and `compare(real, fake)`: named metrics with a recorded protocol."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from gankit.errors import GankitError
from gankit.metrics import functional as M
from gankit.metrics.extractors import Extractor, get_extractor
from gankit.metrics.stats import real_features, reference_name


@dataclass
class Sets:
    """What a metric may read: features of both sets, fake logits and the labels asked for."""

    real: Tensor | None
    fake: Tensor
    logits: Tensor | None
    labels: Tensor | None
    seed: int


def _kid(s: Sets) -> dict[str, float]:
    mean, std = M.kid(s.real, s.fake, seed=s.seed)
    return {"kid": mean, "kid_std": std}


def _is(s: Sets) -> dict[str, float]:
    mean, std = M.inception_score(s.logits)
    return {"is": mean, "is_std": std}


def _pr(s: Sets) -> dict[str, float]:
    p, r = M.precision_recall(s.real, s.fake)
    return {"precision": p, "recall": r}


def _dc(s: Sets) -> dict[str, float]:
    d, c = M.density_coverage(s.real, s.fake)
    return {"density": d, "coverage": c}


# name -> (needs real features, needs logits, function); results are reported as `key[extractor]`.
METRICS: dict[str, tuple[bool, bool, Callable[[Sets], dict[str, float]]]] = {
    "fid": (True, False, lambda s: {"fid": M.fid(s.real, s.fake)}),
    "kid": (True, False, _kid),
    "is": (False, True, _is),
    "pr": (True, False, _pr),
    "dc": (True, False, _dc),
    "label_acc": (False, True, lambda s: {"label_acc": M.label_accuracy(s.logits, s.labels)}),
}
DEFAULT_METRICS = ("fid", "kid", "is", "pr", "dc")


def list_metrics() -> list[str]:
    return list(METRICS)


def _version() -> str:
    try:
        return importlib.metadata.version("gankit")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def evaluate(
    sample_fn: Callable[..., Tensor],
    real: Tensor | None,
    metrics: Sequence[str] | str = DEFAULT_METRICS,
    n: int = 10000,
    extractor: str | Extractor = "lenet-mnist",
    batch_size: int = 500,
    real_key: str | Sequence[str] | None = None,
    labels_fn: Callable[[int], Tensor] | None = None,
    seed: int = 0,
    extractor_kwargs: dict | None = None,
) -> dict:
    """Score `n` generated images against real ones.

    sample_fn: `sample_fn(batch_n)` -> float images in [-1, 1], NCHW (any size, 1 or 3 channels);
        called as `sample_fn(batch_n, labels)` with CPU int64 labels when labels are in use, i.e.
        when `labels_fn(n)` is given or `label_acc` is asked for (labels then cycle 0..K-1).
        Put the model in eval mode first; sampling runs under no_grad with the RNG seeded by
        `seed` (the caller's RNG state is restored afterwards).
    real: uint8 or [-1, 1] float images; the first `min(n, len(real))` are used. May be None
        when `real_key` has cached features.
    real_key: names the real set, e.g. `("mnist", "test")`, to cache its features on disk.
    extractor: a registered name (built with `extractor_kwargs`, placed on the samples' device)
        or an `Extractor` instance, which callers evaluating repeatedly should keep.
    metrics: names from `list_metrics()` (fid, kid, is, pr, dc, label_acc), or "fid,kid".
    Returns `{"metrics": {"fid[lenet-mnist]": ..., ...}, "protocol": {...}}`.
    """
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",")]  # "fid,kid" as a CLI would pass it
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise GankitError(f"unknown metric {unknown[0]!r}: choose from {', '.join(METRICS)}")
    ext = (
        extractor
        if isinstance(extractor, Extractor)
        else get_extractor(extractor, **(extractor_kwargs or {}))
    )
    need_real = any(METRICS[m][0] for m in metrics)
    if any(METRICS[m][1] for m in metrics) and not ext.num_classes:
        raise GankitError(f"IS and label_acc need a classifier: extractor {ext.name!r} has none")
    if "label_acc" in metrics and labels_fn is None:
        k = ext.num_classes
        labels_fn = lambda count: torch.arange(count) % k  # noqa: E731
    labels = None if labels_fn is None else labels_fn(n).long().cpu()

    feats, logits = [], []
    devices = list(range(torch.cuda.device_count()))
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        torch.manual_seed(seed)
        for start in range(0, n, batch_size):
            b = min(batch_size, n - start)
            images = sample_fn(b) if labels is None else sample_fn(b, labels[start : start + b])
            if not isinstance(images, Tensor) or images.ndim != 4 or len(images) != b:
                got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
                raise GankitError(f"sample_fn({b}) must return a (N, C, H, W) tensor with N={b}, got {got}")
            if start == 0 and not isinstance(extractor, Extractor):
                ext.to(images.device)
            f, lg = ext.extract(images, batch_size)
            feats.append(f)
            logits.append(lg)

    n_real = n if real is None else min(n, len(real))
    reference = reference_name(real_key) if real_key is not None else f"tensor[{n_real}]"
    real_feats = None
    if need_real:
        cache_ref = reference if real_key is not None else None
        real_feats = real_features(real, ext, n_real, cache_ref, batch_size)
    sets = Sets(real_feats, torch.cat(feats), None if logits[0] is None else torch.cat(logits), labels, seed)
    values: dict[str, float] = {}
    for name in metrics:
        for key, value in METRICS[name][2](sets).items():
            values[f"{key}[{ext.name}]"] = value
    protocol = {
        "extractor": ext.name,
        "weights_hash": ext.weights_hash,
        "n_real": n_real if need_real else 0,
        "n_fake": n,
        "reference": reference,
        "seed": seed,
        "gankit_version": _version(),
    }
    return {"metrics": values, "protocol": protocol}


def compare(
    real_images: Tensor,
    fake_images: Tensor,
    metrics: Sequence[str] = DEFAULT_METRICS,
    extractor: str | Extractor = "lenet-mnist",
    labels: Tensor | None = None,
    batch_size: int = 500,
    seed: int = 0,
    extractor_kwargs: dict | None = None,
) -> dict:
    """`evaluate` for two image tensors (uint8 or [-1, 1] float, NCHW). `labels`: the classes
    the fake images were asked to show, for `label_acc`. Uses `min(len(real), len(fake))` reals."""
    if "label_acc" in metrics and labels is None:
        raise GankitError("label_acc needs the labels the fake images were generated for")

    def sample_fn(b: int, _labels: Tensor | None = None) -> Tensor:
        nonlocal pos
        pos += b
        return fake_images[pos - b : pos]

    pos = 0
    return evaluate(
        sample_fn,
        real_images,
        metrics,
        n=len(fake_images),
        extractor=extractor,
        batch_size=batch_size,
        labels_fn=None if labels is None else (lambda _n: labels),
        seed=seed,
        extractor_kwargs=extractor_kwargs,
    )
