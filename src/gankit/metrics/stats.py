"""Cache of real-image features, keyed by data set, extractor weights and sample count.

Files live in `cache_dir()/stats/` as float32 safetensors (10k x 128 lenet features: 5 MB;
10k x 2048 Inception features: 82 MB) with the key repeated in their metadata. Raw features,
not just mean/covariance, because KID and the k-NN metrics need them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor

from gankit.data.mnist import cache_dir
from gankit.errors import GankitError
from gankit.metrics.extractors import Extractor

PROTOCOL = "1"  # bump when an extractor's `prepare` or the cache layout changes


def reference_name(key: str | Sequence[str]) -> str:
    """`("mnist", "test")` or `"mnist-test"` -> a file-name-safe `mnist-test`."""
    parts = [key] if isinstance(key, str) else [str(p) for p in key]
    return "-".join(re.sub(r"[^A-Za-z0-9_.+-]+", "_", p) for p in parts)


def _meta(reference: str, extractor: Extractor, n: int) -> dict[str, str]:
    return {
        "reference": reference,
        "extractor": extractor.name,
        "weights_hash": extractor.weights_hash,
        "n": str(n),
        "protocol": PROTOCOL,
    }


def stats_path(reference: str, extractor: Extractor, n: int) -> Path:
    return (
        cache_dir()
        / "stats"
        / f"{reference}-{extractor.name}-{extractor.weights_hash}-n{n}-p{PROTOCOL}.safetensors"
    )


def load_features(reference: str, extractor: Extractor, n: int) -> Tensor | None:
    """Cached features, or None when absent, unreadable or written under another key."""
    path = stats_path(reference, extractor, n)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as fh:
            if fh.metadata() != _meta(reference, extractor, n):
                return None
            features = fh.get_tensor("features")
    except (OSError, SafetensorError):
        return None  # damaged: recompute and overwrite
    return features if features.shape == (n, extractor.feature_dim) else None


def save_features(reference: str, extractor: Extractor, n: int, features: Tensor) -> Path:
    path = stats_path(reference, extractor, n)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file({"features": features.float().contiguous()}, str(tmp), metadata=_meta(reference, extractor, n))
    os.replace(tmp, path)  # atomic: readers never see a half-written file
    return path


def real_features(
    real: Tensor | None, extractor: Extractor, n: int, reference: str | None, batch_size: int = 1000
) -> Tensor:
    """Features of `real[:n]`, through the cache when `reference` names the data set."""
    if reference is not None:
        cached = load_features(reference, extractor, n)
        if cached is not None:
            return cached
    if real is None:
        where = f"no cached features for {reference}" if reference else "no real images given"
        raise GankitError(f"FID, KID, PR and DC need real images ({where}): pass them")
    features = extractor.features(real[:n], batch_size)
    if reference is not None:
        save_features(reference, extractor, n, features)
    return features
