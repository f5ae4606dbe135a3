"""Capabilities: each paper's own claim, measured on held-out data.

A capability is a function `fn(model, data, baselines=False, **options) -> {name: value}` of a
trained model and the run's `HeldOut` data, registered by name (in the spirit of stylegan2-ada's
metric registry). A variant names the ones that apply in `GANModel.capabilities`; the probes,
judges, side translators and baselines they train live here, not in the model files.
`baselines` adds what the claim is judged against (chance, the labels alone, a bicubic upscale).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from gankit.data.batches import HeldOut
from gankit.errors import GankitError

Capability = Callable[..., dict[str, float]]
CAPABILITIES: dict[str, Capability] = {}


def register_capability(name: str) -> Callable[[Capability], Capability]:
    def wrap(fn: Capability) -> Capability:
        if name in CAPABILITIES:
            raise GankitError(f"capability {name!r} is registered twice")
        CAPABILITIES[name] = fn
        return fn

    return wrap


def list_capabilities() -> list[str]:
    return sorted(CAPABILITIES)


def get_capability(name: str) -> Capability:
    if name not in CAPABILITIES:
        raise GankitError(f"unknown capability {name!r}; choose from {', '.join(list_capabilities())}")
    return CAPABILITIES[name]


def measure(model: Any, data: HeldOut, baselines: bool = False, names: tuple[str, ...] | None = None,
            **options: Any) -> dict[str, float]:
    """The model's capabilities (or `names`) on `data`, in eval mode, each from the same seeded RNG
    state (so one capability's draws never shift another's). `options` go to the capabilities whose
    signature takes them (e.g. `per_value` for a smaller test)."""
    names = tuple(type(model).capabilities) if names is None else names
    results: dict[str, float] = {}
    was_training = model.training
    model.eval()
    try:
        for name in names:
            fn = get_capability(name)
            accepted = inspect.signature(fn).parameters
            kwargs = {k: v for k, v in options.items() if k in accepted}
            with torch.random.fork_rng(devices=list(range(torch.cuda.device_count()))):
                torch.manual_seed(data.seed)
                results |= {k: float(v) for k, v in fn(model, data, baselines=baselines, **kwargs).items()}
    finally:
        model.train(was_training)
    return results


# Each module registers its capabilities on import.
from gankit.capabilities import (  # noqa: E402, F401
    attention,
    conditional,
    discriminator,
    editing,
    inpainting,
    latent,
    modes,
    pairs,
    pyramid,
    scales,
    semi_supervised,
    single_image,
    style,
    super_resolution,
    translation,
    video,
)

__all__ = ["CAPABILITIES", "HeldOut", "get_capability", "list_capabilities", "measure", "register_capability"]
