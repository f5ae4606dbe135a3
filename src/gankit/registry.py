"""Name -> model class registry (timm style). Adding a variant is one file and one import."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from gankit.errors import GankitError

if TYPE_CHECKING:
    from gankit.models.base import GANModel

_MODELS: dict[str, type[GANModel]] = {}


def register_model(name: str):
    """Class decorator: make a `GANModel` subclass available as `name`."""

    def wrap(cls: type[GANModel]) -> type[GANModel]:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        from gankit.models.verbs import task_of

        for attr in ("config_class", "paper", "arxiv", "data_needs"):
            if not getattr(cls, attr, None):
                raise ValueError(f"model {name!r} must define class attribute {attr!r}")
        cls.name = name
        cls.task = task_of(cls)
        _MODELS[name] = cls
        return cls

    return wrap


def list_models() -> list[str]:
    _import_variants()
    return sorted(_MODELS)


def get_model_class(name: str) -> type[GANModel]:
    _import_variants()
    if name not in _MODELS:
        close = difflib.get_close_matches(name, list(_MODELS), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise GankitError(f"unknown model {name!r}{hint} (see `gankit list`: {', '.join(sorted(_MODELS))})")
    return _MODELS[name]


def create_model(name: str, preset: str | None = None, **overrides: Any) -> GANModel:
    """Build a registered model from its paper defaults, an optional preset and overrides."""
    cls = get_model_class(name)
    config = cls.config_class.from_dict(overrides, preset=preset)
    return cls(config)


def _import_variants() -> None:
    import gankit.models  # noqa: F401  (registers every variant on import)
