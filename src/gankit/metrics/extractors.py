"""Feature extractors: frozen networks that map images to features (and class logits).

An extractor owns its input protocol (`prepare`): images arrive as float tensors in
[-1, 1] (or uint8), NCHW, any size, 1 or 3 channels, and real and fake images go through
exactly the same steps. Extractors are looked up by name, like models.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from gankit.data.core import to_signed_unit  # noqa: F401 (re-exported)
from gankit.errors import GankitError

_EXTRACTORS: dict[str, Callable[..., Extractor]] = {}


def register_extractor(name: str) -> Callable[[type[Extractor]], type[Extractor]]:
    """Class decorator: make an `Extractor` subclass available as `get_extractor(name)`."""

    def wrap(cls: type[Extractor]) -> type[Extractor]:
        if name in _EXTRACTORS:
            raise ValueError(f"extractor {name!r} registered twice")
        cls.name = name
        _EXTRACTORS[name] = cls
        return cls

    return wrap


def list_extractors() -> list[str]:
    """Names accepted by `get_extractor`, sorted."""
    return sorted(_EXTRACTORS)


def get_extractor(name: str, **kwargs) -> Extractor:
    """Build the extractor registered as `name` (on CPU, frozen, in eval mode)."""
    if name not in _EXTRACTORS:
        raise GankitError(f"unknown feature extractor {name!r}: choose from {', '.join(list_extractors())}")
    return _EXTRACTORS[name](**kwargs)


def file_hash(path: str | os.PathLike) -> str:
    """First 16 hex digits of the file's sha256: identifies the weights in cache keys and reports."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


class Extractor(nn.Module):
    """Base class. Subclasses set `weights_hash`, `num_classes` (0 = no classifier head),
    implement `prepare` (images in [-1, 1] -> network input) and `forward` (-> features, logits)."""

    name: str = ""
    weights_hash: str = ""
    num_classes: int = 0
    feature_dim: int = 0

    def prepare(self, images: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def train(self, mode: bool = True) -> Extractor:
        # Always frozen: dropout or batch-norm updates would change the metric itself.
        return super().train(False)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def extract(self, images: Tensor, batch_size: int = 1000) -> tuple[Tensor, Tensor | None]:
        """`(features (N, D) float32, logits (N, K) float32 or None)` on CPU, computed in batches."""
        device, feats, logits = self.device, [], []
        for chunk in images.split(batch_size):
            with torch.inference_mode():
                x = self.prepare(to_signed_unit(chunk.to(device, non_blocking=True)))
                f, lg = self(x)
            feats.append(f.float().cpu())
            if lg is not None:
                logits.append(lg.float().cpu())
        # Concatenating outside inference mode gives ordinary tensors that callers may modify.
        return torch.cat(feats), (torch.cat(logits) if logits else None)

    def features(self, images: Tensor, batch_size: int = 1000) -> Tensor:
        """Features `(N, D)` of images in [-1, 1] (or uint8)."""
        return self.extract(images, batch_size)[0]

    def logits(self, images: Tensor, batch_size: int = 1000) -> Tensor:
        """Class logits `(N, K)` of images in [-1, 1] (or uint8)."""
        if not self.num_classes:
            raise GankitError(f"extractor {self.name!r} has no classifier head: it cannot give logits")
        logits = self.extract(images, batch_size)[1]
        assert logits is not None
        return logits


def weights_dir() -> Path:
    """Where the package ships its own extractor weights."""
    return Path(__file__).parent / "weights"
