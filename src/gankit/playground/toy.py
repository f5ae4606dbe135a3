"""Toy 2-D distributions: GAN Lab's four, the mode-collapse stress tests, and user points.

Every distribution draws from a `torch.Generator`, so a seeded run draws the same batches. Each one
also gives the square it is drawn in (`view`) and, where it is a mixture of Gaussians, its mode
centres and their standard deviation, which the mode metrics read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from gankit.errors import GankitError

# The datasets a config may name; "drawn" and "csv" take their points from the page.
TOY_DATASETS = ("line", "two_gaussians", "ring", "three_clusters", "8gaussians", "25gaussians", "swiss_roll",
                "drawn", "csv")
MAX_POINTS = 100_000


@dataclass
class Toy:
    """A 2-D distribution: `sample(n, generator) -> (n, 2)`, drawn in the square centred at
    (view[0], view[1]) with half-side view[2]; `centres` (K, 2) and `std` for Gaussian mixtures."""

    name: str
    sample: Callable[[int, torch.Generator], torch.Tensor]
    view: tuple[float, float, float]
    centres: torch.Tensor | None = None
    std: float | None = None


def _mixture(centres: torch.Tensor, std: float) -> Callable[[int, torch.Generator], torch.Tensor]:
    def sample(n: int, gen: torch.Generator) -> torch.Tensor:
        which = torch.randint(len(centres), (n,), generator=gen)  # (n,)
        return centres[which] + std * torch.randn(n, 2, generator=gen)  # (n, 2)
    return sample


def _ring_centres(k: int, radius: float) -> torch.Tensor:
    angle = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k)
    return (radius * torch.stack([angle.cos(), angle.sin()], 1)).float()  # (k, 2)


def _line(n: int, gen: torch.Generator) -> torch.Tensor:
    t = torch.rand(n, 1, generator=gen) * 1.6 - 0.8  # (n, 1) along the segment
    return torch.cat([t, 0.5 * t], 1) + 0.02 * torch.randn(n, 2, generator=gen)


def _ring(n: int, gen: torch.Generator) -> torch.Tensor:
    angle = torch.rand(n, generator=gen) * (2 * math.pi)
    radius = 0.7 + 0.03 * torch.randn(n, generator=gen)
    return torch.stack([radius * angle.cos(), radius * angle.sin()], 1)  # (n, 2)


def _swiss_roll(n: int, gen: torch.Generator) -> torch.Tensor:
    # scikit-learn's 2-D roll, t in [1.5 pi, 4.5 pi], scaled by 1/5 to fit [-2.5, 2.5]^2.
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=gen))
    roll = torch.stack([t * t.cos(), t * t.sin()], 1) / 5  # (n, 2)
    return roll + 0.05 * torch.randn(n, 2, generator=gen)


def _points(points: torch.Tensor, jitter: float) -> Callable[[int, torch.Generator], torch.Tensor]:
    def sample(n: int, gen: torch.Generator) -> torch.Tensor:
        which = torch.randint(len(points), (n,), generator=gen)
        return points[which] + jitter * torch.randn(n, 2, generator=gen)  # (n, 2)
    return sample


def _view_of(points: torch.Tensor) -> tuple[float, float, float]:
    lo, hi = points.min(0).values, points.max(0).values
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2 * 1.25, 1e-3)
    return float(centre[0]), float(centre[1]), half


def check_points(points: Sequence[Sequence[float]] | torch.Tensor, where: str = "points") -> torch.Tensor:
    """User points as a float32 (N, 2) tensor, or one clear error."""
    try:
        tensor = torch.as_tensor(points, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise GankitError(f"{where}: expected a list of [x, y] pairs ({exc})") from None
    if tensor.dim() != 2 or tensor.shape[1] != 2:
        raise GankitError(f"{where}: expected a list of [x, y] pairs, got shape {tuple(tensor.shape)}")
    if len(tensor) < 2:
        raise GankitError(f"{where}: need at least 2 points, got {len(tensor)}")
    if len(tensor) > MAX_POINTS:
        raise GankitError(f"{where}: at most {MAX_POINTS} points, got {len(tensor)}")
    if not torch.isfinite(tensor).all():
        raise GankitError(f"{where}: every coordinate must be a finite number")
    return tensor


def parse_csv(text: str) -> torch.Tensor:
    """2-D points from CSV text: one `x,y` per line (`;`, tab or spaces also separate); blank lines and
    `#` comments are skipped, and a first line that is not numeric is a header. A malformed line is one
    error naming its number and text."""
    rows: list[tuple[float, float]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f for f in line.replace(";", ",").replace("\t", ",").replace(" ", ",").split(",") if f]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if not rows and number == 1:  # a header such as "x,y"
                continue
            raise GankitError(f"CSV line {number}: expected two numbers x,y, got {raw.strip()[:60]!r}") from None
        if len(values) != 2 or not all(math.isfinite(v) for v in values):
            raise GankitError(f"CSV line {number}: expected two finite numbers x,y, got {raw.strip()[:60]!r}")
        rows.append((values[0], values[1]))
    if len(rows) < 2:
        raise GankitError(f"CSV: need at least 2 points of x,y, found {len(rows)}")
    return check_points(rows, "CSV")


def make_toy(name: str, points: torch.Tensor | None = None) -> Toy:
    """The distribution `name` (one of TOY_DATASETS); "drawn" and "csv" sample `points` (N, 2) with a
    jitter of 1% of their spread, so a handful of clicks is a distribution, not a set of atoms."""
    if name == "line":
        return Toy(name, _line, (0.0, 0.0, 1.2))
    if name == "two_gaussians":
        centres = torch.tensor([[-0.5, 0.4], [0.5, -0.4]])
        return Toy(name, _mixture(centres, 0.1), (0.0, 0.0, 1.2), centres, 0.1)
    if name == "ring":
        return Toy(name, _ring, (0.0, 0.0, 1.2))
    if name == "three_clusters":
        centres = _ring_centres(3, 0.65) @ torch.tensor([[0.0, 1.0], [-1.0, 0.0]])  # rotated: one on top
        return Toy(name, _mixture(centres, 0.08), (0.0, 0.0, 1.2), centres, 0.08)
    if name == "8gaussians":  # Unrolled GAN (arXiv 1611.02163): radius 2, std 0.02
        centres = _ring_centres(8, 2.0)
        return Toy(name, _mixture(centres, 0.02), (0.0, 0.0, 3.0), centres, 0.02)
    if name == "25gaussians":  # VEEGAN / PacGAN: a 5x5 grid at -4..4, std 0.05
        axis = torch.arange(-4.0, 4.1, 2.0)
        centres = torch.cartesian_prod(axis, axis)  # (25, 2)
        return Toy(name, _mixture(centres, 0.05), (0.0, 0.0, 5.5), centres, 0.05)
    if name == "swiss_roll":
        return Toy(name, _swiss_roll, (0.0, 0.0, 3.0))
    if name in ("drawn", "csv"):
        if points is None:
            what = "draw some points on the page" if name == "drawn" else "upload a CSV of x,y points"
            raise GankitError(f"data {name!r} needs points: {what}")
        points = check_points(points)
        view = _view_of(points) if name == "csv" else (0.0, 0.0, 1.2)
        spread = float((points.max(0).values - points.min(0).values).max())
        return Toy(name, _points(points, 0.01 * max(spread, 1e-3)), view)
    raise GankitError(f"unknown toy data {name!r}: choose from {', '.join(TOY_DATASETS)}")
