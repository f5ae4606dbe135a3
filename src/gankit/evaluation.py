"""Evaluate trained runs: the reference set, the extractor choice and the written report.

Real reference images pass through the same path as the training data (fitted to the
model's resolution and channels) before the extractor's own resize, so real and generated
images are treated identically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from gankit.data import NAMED, labeled_indices, load_data
from gankit.data.batches import HeldOut
from gankit.data.sources import is_single_image, load_for_spec
from gankit.errors import GankitError
from gankit.fileio import atomic_write_text
from gankit.models.base import GANModel

MNIST_LIKE = ("mnist", "fashion-mnist")


def default_extractor(source: str) -> str:
    # Each LeNet only means something on its own data (digits, clothes); elsewhere the standard network.
    return {"mnist": "lenet-mnist", "fashion-mnist": "lenet-fashion"}.get(source, "inception-v3")


def reference_set(info: dict[str, Any], model: GANModel, split: str) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Held-out real images for a run's data (uint8, the model's size) and their cache key."""
    data = info.get("data", {})
    source = data.get("source", "mnist")
    spec = model.data_spec()
    if source in NAMED:  # every named source has a held-out split (photos: whole photos held out)
        ds = load_data(source, spec.image_size, spec.channels, split=split, data_dir=data.get("data_dir"))
        key = (source, split, f"{spec.image_size}px", f"{spec.channels}ch")
    else:  # a folder has no held-out split: compare against the training images themselves
        ds = load_data(source, spec.image_size, spec.channels, data_dir=data.get("data_dir"))
        key = (Path(source).name, "all", f"{spec.image_size}px", f"{spec.channels}ch", str(len(ds)))
    return ds.images, key


def model_sampler(model: GANModel, generator_seed: int = 0) -> Callable[..., torch.Tensor]:
    """A `sample_fn(n, labels=None)` over `model` that draws fresh noise each call."""
    gen = torch.Generator(model.device).manual_seed(generator_seed)

    def sample_fn(n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        lab = None if labels is None else labels.to(model.device)
        return model.sample(n, labels=lab, generator=gen)

    return sample_fn


def evaluate_model(
    model: GANModel,
    info: dict[str, Any],
    metrics: Sequence[str] = ("fid", "kid", "is", "pr", "dc"),
    n: int = 10_000,
    extractor: str | Any | None = None,
    split: str = "test",
    seed: int = 0,
    batch_size: int = 500,
    inception_weights: str | None = None,
    reference: tuple[torch.Tensor, tuple[str, ...]] | None = None,
) -> dict[str, Any]:
    from gankit.metrics import evaluate

    source = info.get("data", {}).get("source", "mnist")
    extractor = extractor or default_extractor(source)
    kwargs = {"weights": inception_weights} if inception_weights and extractor == "inception-v3" else None
    if "label_acc" in metrics and not model.data_spec().needs_labels:
        raise GankitError(f"label_acc needs a class-conditional model; {model.name} does not take labels")
    with_ppl = "ppl" in metrics
    metrics = [m for m in metrics if m != "ppl"]
    was_training = model.training
    model.eval()
    try:
        if metrics:
            real, key = reference if reference is not None else reference_set(info, model, split)
            result = evaluate(model_sampler(model, seed), real, metrics, n=n, extractor=extractor,
                              batch_size=batch_size, real_key=key, seed=seed, extractor_kwargs=kwargs)
        else:
            result = {"metrics": {}, "protocol": {"n_real": 0, "n_fake": n, "reference": "none", "seed": seed}}
        if with_ppl:
            result = _add_ppl(model, result, n, extractor, kwargs, seed, batch_size)
    finally:
        model.train(was_training)
    result["protocol"]["model"] = model.name
    return result


def _add_ppl(model: GANModel, result: dict[str, Any], n: int, extractor: str | Any, kwargs: dict | None,
             seed: int, batch_size: int) -> dict[str, Any]:
    """`ppl_<space>[extractor]` for every latent space of the model, on `n` pairs."""
    from gankit.inference import require
    from gankit.metrics.extractors import Extractor, get_extractor
    from gankit.metrics.ppl import perceptual_path_length

    require(model, "interpolate")
    ext = extractor if isinstance(extractor, Extractor) else get_extractor(extractor, **(kwargs or {}))
    ext.to(model.device)
    for space in model.latent_spaces():
        gen = torch.Generator(model.device).manual_seed(seed)  # the same pairs in every space
        value = perceptual_path_length(model.render, model.to_space, ext.features, model.config.latent_dim, space,
                                       n=n, batch_size=min(batch_size, 250), generator=gen, device=model.device)
        result["metrics"][f"ppl_{space}[{ext.name}]"] = value
    result["protocol"].update(extractor=ext.name, weights_hash=ext.weights_hash, ppl_eps=1e-4)
    return result


def write_report(run: str | os.PathLike, result: dict[str, Any]) -> Path:
    path = Path(run) / "eval.json"
    atomic_write_text(path, json.dumps(result, indent=2))
    return path


def format_table(metrics: dict[str, float]) -> str:
    width = max(len(k) for k in metrics)
    return "\n".join(f"{k.ljust(width)}  {v:.4f}" for k, v in metrics.items())


def held_out(info: dict[str, Any], model: GANModel, split: str = "test") -> HeldOut:
    """A run's training data and held-out split at the model's size, for its capabilities."""
    data = info.get("data", {})
    source = data.get("source", "mnist")
    spec = model.data_spec()
    if source not in NAMED and spec.pairing == "none" and not is_single_image(source):
        raise GankitError(f"capabilities are measured on a named dataset's held-out split; {source} is a folder")
    # Held-out data is never jittered: the model's own size, centre crops.
    load = lambda s: load_for_spec(spec, source, s, data.get("data_dir"), data.get("direction", "AtoB"), False)  # noqa: E731
    train = load("train")
    if data.get("max_images") is not None:
        train = train.subset(data["max_images"])
    test = load(split)
    seed = int(info.get("train", {}).get("seed", 0))
    labeled = (labeled_indices(train.labels, spec.labels_per_class, seed, spec.label_fraction)
               if spec.semi_supervised else None)
    return HeldOut(train=train, test=test, labeled_indices=labeled, seed=seed)


def has_capability(model: GANModel) -> bool:
    return bool(type(model).capabilities)


def measure_capability(model: GANModel, info: dict[str, Any], split: str = "test", baselines: bool = False,
                       **options: Any) -> dict[str, float]:
    """The model's registered capabilities on the run's held-out data (empty for variants without one)."""
    from gankit.capabilities import measure

    if not has_capability(model):
        return {}
    return measure(model, held_out(info, model, split), baselines=baselines, **options)
