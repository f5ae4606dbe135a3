"""The playground's configuration, and its round trip through a URL query string.

The query string names every field (in a fixed order), so a link keeps working when a default
changes; parsing it rejects unknown keys and values with one line naming the valid choices.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args, get_origin, get_type_hints
from urllib.parse import parse_qsl, urlencode

from gankit.config import Config
from gankit.errors import GankitError

LOSSES = ("nonsaturating", "minimax", "least_squares", "wgan", "wgan_gp", "hinge", "dragan", "r1")
MAX_LAYERS, MAX_WIDTH, MAX_NOISE_DIM, MAX_BATCH, MAX_STEPS = 5, 100, 16, 4096, 20


@dataclass
class PlaygroundConfig(Config):
    """One 2-D run. Defaults: GAN Lab's set-up (ReLU MLPs, 2-D noise) on 8 Gaussians with Adam.

    Changing `seed` restarts the run; every other field takes effect at the next iteration, keeping
    the weights, except a network's shape (`*_layers`, `*_width`, `noise_dim` for G), which rebuilds
    that network alone with fresh weights and optimizer state.
    """

    seed: int = 0
    data: Literal["line", "two_gaussians", "ring", "three_clusters", "8gaussians", "25gaussians", "swiss_roll",
                  "drawn", "csv"] = "8gaussians"
    loss: Literal["nonsaturating", "minimax", "least_squares", "wgan", "wgan_gp", "hinge", "dragan",
                  "r1"] = "nonsaturating"
    noise: Literal["gaussian", "uniform"] = "gaussian"
    noise_dim: int = 2
    g_layers: int = 3
    g_width: int = 64
    d_layers: int = 3
    d_width: int = 64
    g_optimizer: Literal["adam", "sgd"] = "adam"
    d_optimizer: Literal["adam", "sgd"] = "adam"
    g_lr: float = 1e-3
    d_lr: float = 1e-3
    d_steps: int = 1
    g_steps: int = 1
    batch_size: int = 256
    penalty_weight: float = 10.0  # lambda of wgan_gp and dragan, gamma of r1 (its penalty is gamma/2 E||grad||^2)
    clip: float = 0.01  # wgan: the critic's weights are clamped to [-clip, clip] after each of its steps

    positive_fields: ClassVar[str] = r"noise_dim|[gd]_width|[gd]_lr|[gd]_steps|batch_size|clip"

    def _check_ranges(self) -> None:
        super()._check_ranges()
        for net in ("g", "d"):
            layers, width = getattr(self, f"{net}_layers"), getattr(self, f"{net}_width")
            if not 0 <= layers <= MAX_LAYERS:
                raise GankitError(f"{net}_layers must be 0..{MAX_LAYERS} hidden layers, got {layers}")
            if width > MAX_WIDTH:
                raise GankitError(f"{net}_width must be 1..{MAX_WIDTH}, got {width}")
            if getattr(self, f"{net}_steps") > MAX_STEPS:
                raise GankitError(f"{net}_steps must be 1..{MAX_STEPS}, got {getattr(self, f'{net}_steps')}")
            if getattr(self, f"{net}_lr") > 10:
                raise GankitError(f"{net}_lr must be in (0, 10], got {getattr(self, f'{net}_lr')}")
        if self.noise_dim > MAX_NOISE_DIM:
            raise GankitError(f"noise_dim must be 1..{MAX_NOISE_DIM}, got {self.noise_dim}")
        if self.batch_size > MAX_BATCH:
            raise GankitError(f"batch_size must be 1..{MAX_BATCH}, got {self.batch_size}")
        if self.penalty_weight < 0:
            raise GankitError(f"penalty_weight must be >= 0, got {self.penalty_weight}")
        if not 0 <= self.seed < 2**63:
            raise GankitError(f"seed must be in 0..2^63-1, got {self.seed}")


def _parse_value(key: str, raw: str, tp: Any) -> Any:
    if get_origin(tp) is Literal:
        choices = get_args(tp)
        if raw not in choices:
            raise GankitError(f"{key}={raw!r} is not one of {', '.join(choices)}")
        return raw
    try:
        value = int(raw) if tp is int else float(raw)
    except ValueError:
        kind = "an integer" if tp is int else "a number"
        raise GankitError(f"{key}={raw!r} is not {kind}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise GankitError(f"{key}={raw!r} is not a finite number")
    return value


def parse_points(raw: str) -> list[list[float]]:
    """`x1,y1;x2,y2;...` -> [[x1, y1], ...]."""
    points = []
    for i, pair in enumerate(p for p in raw.split(";") if p):
        parts = pair.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            points.append([float(parts[0]), float(parts[1])])
        except ValueError:
            raise GankitError(f"points: pair {i + 1} {pair[:30]!r} is not x,y") from None
    return points


def format_points(points: Any) -> str:
    return ";".join(f"{float(x):.3g},{float(y):.3g}" for x, y in points)


def from_query(query: str, base: PlaygroundConfig | None = None) -> tuple[PlaygroundConfig, list[list[float]] | None]:
    """A config (the fields not named keep `base`'s values, or the defaults) and the drawn points,
    from a query string such as `loss=hinge&seed=3` (a leading `?` is allowed)."""
    hints = get_type_hints(PlaygroundConfig)
    names = PlaygroundConfig.field_names()
    values = base.to_dict() if base is not None else {}
    points = None
    for key, raw in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        if key == "points":
            points = parse_points(raw)
        elif key not in names:
            raise GankitError(f"unknown playground setting {key!r}; valid settings: {', '.join(names)}, points")
        else:
            values[key] = _parse_value(key, raw, hints[key])
    return PlaygroundConfig.from_dict(values), points


def to_query(config: PlaygroundConfig, points: Any = None) -> str:
    """Every field in declaration order (floats in repr form, so the link replays exactly); `points`
    when the data is drawn."""
    pairs = [(f.name, repr(v) if isinstance(v, float) else str(v))
             for f in dataclasses.fields(config) for v in [getattr(config, f.name)]]
    if points is not None and config.data == "drawn":
        pairs.append(("points", format_points(points)))
    return urlencode(pairs, safe=",;")
