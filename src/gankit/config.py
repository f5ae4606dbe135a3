"""Typed configs: dataclasses whose fields are checked against their annotations.

Unknown keys and values of the wrong type are errors that list the valid choices, so a
typo in `--set lr=...` never silently trains with a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, get_args, get_origin, get_type_hints

from gankit.errors import GankitError

C = TypeVar("C", bound="Config")


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Return `value` as type `tp`, accepting JSON/CLI forms (lists for tuples, ints for floats)."""
    origin = get_origin(tp)
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise GankitError(f"{where}: {value!r} is not one of {_type_name(tp)}")
    if origin in (typing.Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except GankitError:
                continue
        raise GankitError(f"{where}: {value!r} is not {_type_name(tp)}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise GankitError(f"{where}: expected a list, got {value!r}")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], where) for v in value)
        if len(args) != len(value):
            raise GankitError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_coerce(v, a, where) for v, a in zip(value, args))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise GankitError(f"{where}: expected true or false, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise GankitError(f"{where}: expected a number, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise GankitError(f"{where}: expected an integer, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise GankitError(f"{where}: expected a string, got {value!r}")
    raise TypeError(f"{where}: unsupported config field type {tp!r}")


@dataclasses.dataclass
class Config:
    """Base for every config: `from_dict` validates, `to_dict` is JSON-ready."""

    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    # Fields that must be > 0, by name, for every variant at once: rates, sizes, widths and
    # hidden layers (a zero latent_dim or width trains a net that cannot learn; a negative one crashes
    # deep inside torch). A subclass narrows or widens this with its own pattern.
    positive_fields: ClassVar[str] = (r"lr|lr_[a-z]+|latent_dim|code_dim|image_size|num_classes|n_critic|n_dis|"
                                      r"[a-z_]*width[s]?|(g|d|ae|q|t|fc)?_?hidden|blocks|[gd]_blocks|scale")
    not_positive_fields: ClassVar[tuple[str, ...]] = ("lr_decay_from",)

    def __post_init__(self) -> None:
        hints = get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            setattr(self, field.name, _coerce(value, hints[field.name], f"{type(self).__name__}.{field.name}"))
        self._check_ranges()

    def _check_ranges(self) -> None:
        """The checks every config gets from its field names; one line with the valid range each."""
        name = type(self).__name__
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            where = f"{name}.{field.name}"
            if isinstance(value, float) and not math.isfinite(value):
                raise GankitError(f"{where} must be a finite number, got {value}")
            if field.name == "betas" and isinstance(value, tuple):
                if not all(0 <= b < 1 for b in value):
                    raise GankitError(f"{where} are Adam's decay rates, each in [0, 1) (e.g. [0.5, 0.999]), "
                                      f"got {list(value)}")
                continue
            if field.name in self.not_positive_fields or not re.fullmatch(self.positive_fields, field.name):
                continue
            items = value if isinstance(value, tuple) else (value,)
            bad = [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool) and v <= 0]
            if bad:
                kind = "an integer >= 1" if isinstance(bad[0], int) else "a number > 0"
                each = " (each)" if isinstance(value, tuple) else ""
                raise GankitError(f"{where} must be {kind}{each}, got {bad[0]}")

    @classmethod
    def data_defaults(cls, source: str, preset: str | None, values: dict[str, Any]) -> dict[str, Any]:
        """Config values that training on `source` (a dataset name, a folder or a file) implies, before the
        user's own `values`: by default a folder's `folder_defaults` (size and colour)."""
        return dict(getattr(cls, "folder_defaults", {})) if Path(source).is_dir() else {}

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls: type[C], values: dict[str, Any], preset: str | None = None) -> C:
        """Build from defaults, then a named preset, then `values`; reject unknown keys."""
        merged: dict[str, Any] = {}
        if preset is not None and not (preset == PAPER and PAPER not in cls.presets):  # the defaults are the paper's
            if preset not in cls.presets:
                choices = ", ".join(sorted([*cls.presets, PAPER]))
                raise GankitError(f"unknown preset {preset!r} for {cls.__name__}: choose from {choices}")
            merged.update(cls.presets[preset])
        merged.update(values)
        names = cls.field_names()
        for key in merged:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise GankitError(f"unknown {cls.__name__} key {key!r}{hint}; valid keys: {', '.join(names)}")
        return cls(**merged)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def replace(self: C, **changes: Any) -> C:
        return type(self).from_dict({**self.to_dict(), **changes})


PAPER = "paper"  # the preset every config has: its defaults, the paper's settings

# The embedded digit sets, and the preset each variant's proof trains on them with (benchmarks/recipes/*.json,
# copied here: the library does not read benchmarks/). On 28 px digits the paper's nets (e.g. pix2pix's
# 256 px, batch-1 U-Net) learn next to nothing in minutes on a CPU; `gankit train` without --preset takes these.
DIGIT_DATA = ("mnist", "edges2digits", "mnist-m")
PROOF_PRESETS: dict[str, str] = {
    "aae": "cpu", "acgan": "cpu", "ccgan": "cpu", "cgan": "cpu", "cogan": "cpu", "infogan": "cpu", "pixelda": "cpu",
    "sgan": "cpu", "cyclegan": "digits", "discogan": "digits", "dualgan": "digits", "pix2pix": "digits",
}


def default_preset(model: str, data: Any, presets: dict[str, Any]) -> str | None:
    """The preset to use when none is given: the proof's on the embedded digit data, else None (the defaults)."""
    preset = PROOF_PRESETS.get(model)
    return preset if isinstance(data, str) and data in DIGIT_DATA and preset in presets else None


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def parse_override(text: str) -> tuple[str, Any]:
    """Parse `key=value` from the CLI; the value is JSON when it parses, else a string."""
    import json

    if "=" not in text:
        raise GankitError(f"--set expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def pyramid_size(widths: tuple[int, ...]) -> int:
    """The image side of one channel count per resolution from 4 px (4, 8, 16, ...), checked."""
    if not widths or min(widths) < 1:
        raise GankitError(f"widths needs one positive channel count per resolution from 4 px, got {widths}")
    return 4 * 2 ** (len(widths) - 1)


def check_channels(*values: int) -> None:
    """Image configs take 1 (gray) or 3 (RGB) channels; anything else is a one-line error."""
    for c in values:
        if c not in (1, 3):
            raise GankitError(f"channels must be 1 (gray) or 3 (RGB), got {c}")
