"""Typed configs: dataclasses whose fields are checked against their annotations.

Unknown keys and values of the wrong type are errors that list the valid choices, so a
typo in `--set lr=...` never silently trains with a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
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

    def __post_init__(self) -> None:
        hints = get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            setattr(self, field.name, _coerce(value, hints[field.name], f"{type(self).__name__}.{field.name}"))

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls: type[C], values: dict[str, Any], preset: str | None = None) -> C:
        """Build from defaults, then a named preset, then `values`; reject unknown keys."""
        merged: dict[str, Any] = {}
        if preset is not None:
            if preset not in cls.presets:
                choices = ", ".join(sorted(cls.presets)) or "none"
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


def check_channels(*values: int) -> None:
    """Image configs take 1 (gray) or 3 (RGB) channels; anything else is a one-line error."""
    for c in values:
        if c not in (1, 3):
            raise GankitError(f"channels must be 1 (gray) or 3 (RGB), got {c}")
