"""The headless playground: a 2-D GAN whose every setting can change between iterations.

`Playground(config)` builds a ReLU MLP G and D, trains them with `step()` (`d_steps` D steps, then
`g_steps` G steps), `d_step()` or `g_step()`, takes new settings with `configure()` and draws a
`frame()`. The losses are gankit's own (`gankit.losses`), composed per name in `OBJECTIVES`.

Seeded: weights are initialised from the seed, batches and noise come from one torch.Generator, and
the measuring samples from another, so the same config and seed give bit-identical metrics on one
thread. Frames measure with fixed real points and fixed noise: a D-only step moves the heatmap and
never the fakes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from gankit import losses as L
from gankit.engine.checkpoint import flatten_state, unflatten_state
from gankit.errors import GankitError
from gankit.playground.config import PlaygroundConfig, format_points, parse_points, to_query
from gankit.playground.metrics import histogram_divergences, mode_quality
from gankit.playground.toy import check_points, make_toy

EVAL_N, SHOW_N, HEAT_RES, MANIFOLD_RES = 2500, 500, 48, 16
RUN_KIND = "gankit-playground-2d"
G_SHAPE, D_SHAPE = ("g_layers", "g_width", "noise_dim"), ("d_layers", "d_width")


@dataclass(frozen=True)
class Objective:
    """D's loss of (D, real, fake, config, generator) -> (loss, penalties) and G's loss of D(G(z));
    `after_d` runs after each D step (weight clipping); `heat` says how to show D's output."""

    d_loss: Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]
    g_loss: Callable[[torch.Tensor], torch.Tensor]
    heat: str  # "sigmoid": a logit; "raw01": least-squares targets 0 and 1; "critic": unbounded values
    after_d: Callable[[nn.Module, PlaygroundConfig], None] | None = None
    critic: bool = False  # a Wasserstein critic: E D(x) - E D(G(z)) estimates W1


def _plain(d_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable[..., Any]:
    def d_loss(d, real, fake, cfg, gen):
        return d_fn(d(real), d(fake)), {}
    return d_loss


def _real_and_fake(d, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """D on both batches in one pass (exact: the MLP has no batch statistics). The penalty's own pass
    stays apart: inside the joint graph its double backward would run over all three batches."""
    return d(torch.cat([real, fake])).split([len(real), len(fake)])


def _wgan_gp(d, real, fake, cfg, gen):
    x_hat = L.interpolate(real, fake, generator=gen)  # (B, 2) between reals and fakes
    gp = cfg.penalty_weight * L.gradient_penalty(d(x_hat), x_hat)
    return L.d_wasserstein(*_real_and_fake(d, real, fake)) + gp, {"penalty/gp": gp}


def _dragan(d, real, fake, cfg, gen):
    x_hat = L.interpolate(real, L.dragan_perturb(real, 0.5, generator=gen), generator=gen)  # (B, 2) near the data
    gp = cfg.penalty_weight * L.gradient_penalty(d(x_hat), x_hat)
    return L.d_bce(*_real_and_fake(d, real, fake)) + gp, {"penalty/dragan": gp}


def _r1(d, real, fake, cfg, gen):
    real = real.detach().requires_grad_(True)
    real_out = d(real)
    r1 = cfg.penalty_weight / 2 * L.r1_penalty(real_out, real)
    return L.d_bce(real_out, d(fake)) + r1, {"penalty/r1": r1}


OBJECTIVES: dict[str, Objective] = {
    "nonsaturating": Objective(_plain(L.d_bce), L.g_nonsaturating, "sigmoid"),
    "minimax": Objective(_plain(L.d_bce), L.g_minimax, "sigmoid"),
    "least_squares": Objective(_plain(L.d_least_squares), L.g_least_squares, "raw01"),
    "wgan": Objective(_plain(L.d_wasserstein), L.g_wasserstein, "critic",
                      after_d=lambda d, cfg: L.clip_weights_(d, cfg.clip), critic=True),
    "wgan_gp": Objective(_wgan_gp, L.g_wasserstein, "critic", critic=True),
    "hinge": Objective(_plain(L.d_hinge), L.g_hinge, "critic"),
    "dragan": Objective(_dragan, L.g_nonsaturating, "sigmoid"),
    "r1": Objective(_r1, L.g_nonsaturating, "sigmoid"),
}


def mlp(inputs: int, layers: int, width: int, outputs: int) -> nn.Sequential:
    """`layers` hidden ReLU layers of `width` units (0: one linear map), as in GAN Lab."""
    modules: list[nn.Module] = []
    for _ in range(layers):
        modules += [nn.Linear(inputs, width), nn.ReLU()]
        inputs = width
    return nn.Sequential(*modules, nn.Linear(inputs, outputs))


def _stream_seed(seed: int, stream: int) -> int:
    """Independent seeds per purpose (G init, D init, batches, measuring) and per rebuild of a net."""
    return (seed * 1_000_003 + stream * 7919) % (2**63)


class Playground:
    """A 2-D GAN run; see the module docstring. `points` (N, 2) are the drawn or uploaded data."""

    def __init__(self, config: PlaygroundConfig | None = None, points: Any = None) -> None:
        self.config = config or PlaygroundConfig()
        self.points = self._clean_points(self.config.data, points)
        self.toy = make_toy(self.config.data, self.points)
        self.iteration, self.history = 0, []
        self.builds = {"g": 0, "d": 0}  # rebuilds of each net, for their init seeds
        self.gen = torch.Generator().manual_seed(_stream_seed(self.config.seed, 1))
        self._build("g")
        self._build("d")
        self._refresh_eval()
        self.last: dict[str, float] = {}

    # ---- building ------------------------------------------------------------------------
    @staticmethod
    def _clean_points(data: str, points: Any) -> torch.Tensor | None:
        if points is None or data not in ("drawn", "csv"):
            return None
        points = check_points(points)
        if data == "drawn":  # rounded as the URL writes them, so that a link replays the run exactly
            points = check_points(parse_points(format_points(points.tolist())))
        return points

    def _build(self, net: str) -> None:
        cfg = self.config
        stream = 10 + 2 * self.builds[net] + (net == "d")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_stream_seed(cfg.seed, stream))
            if net == "g":
                self.g = mlp(cfg.noise_dim, cfg.g_layers, cfg.g_width, 2)
            else:
                self.d = mlp(2, cfg.d_layers, cfg.d_width, 1)
        self.builds[net] += 1
        self._make_optimizer(net)

    def _make_optimizer(self, net: str) -> None:
        kind, lr = getattr(self.config, f"{net}_optimizer"), getattr(self.config, f"{net}_lr")
        params = getattr(self, net).parameters()
        # foreach: one kernel per op over all tensors, bit-identical to the default per-tensor loop and ~30%
        # more iterations/s on the 2-D page (the fused kernel is faster still but rounds differently)
        opt = (torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999), foreach=True) if kind == "adam"
               else torch.optim.SGD(params, lr=lr))
        setattr(self, f"opt_{net}", opt)

    def _refresh_eval(self) -> None:
        """The fixed points every frame and metric reads: real samples and the noise of the shown fakes."""
        gen = torch.Generator().manual_seed(_stream_seed(self.config.seed, 2))
        self.eval_real = self.toy.sample(EVAL_N, gen)  # (EVAL_N, 2)
        self.eval_z = self.noise(EVAL_N, gen)  # (EVAL_N, noise_dim)

    def noise(self, n: int, gen: torch.Generator) -> torch.Tensor:
        if self.config.noise == "uniform":
            return torch.rand(n, self.config.noise_dim, generator=gen) * 2 - 1  # U[-1, 1]
        return torch.randn(n, self.config.noise_dim, generator=gen)

    def configure(self, config: PlaygroundConfig, points: Any = None) -> None:
        """Take new settings at the next iteration (see PlaygroundConfig); a new seed restarts the run."""
        old, new = self.config, config
        new_points = self._clean_points(new.data, points) if points is not None else self.points
        if new.data in ("drawn", "csv") and new_points is None:
            make_toy(new.data, None)  # raises the one-line "needs points" error
        if new.seed != old.seed:
            self.__init__(new, new_points)  # a restart, in place
            return
        changed = {f.name for f in dataclasses.fields(new) if getattr(new, f.name) != getattr(old, f.name)}
        data_changed = "data" in changed or (points is not None and new.data in ("drawn", "csv"))
        self.config = new
        if data_changed:
            self.points, self.toy = new_points, make_toy(new.data, new_points)
        if changed & set(G_SHAPE):
            self._build("g")
        if changed & set(D_SHAPE):
            self._build("d")
        for net in ("g", "d"):
            if f"{net}_optimizer" in changed and not changed & set(G_SHAPE if net == "g" else D_SHAPE):
                self._make_optimizer(net)
            for group in getattr(self, f"opt_{net}").param_groups:
                group["lr"] = getattr(new, f"{net}_lr")
        if data_changed or changed & {"noise", "noise_dim"}:
            self._refresh_eval()

    @property
    def objective(self) -> Objective:
        return OBJECTIVES[self.config.loss]

    # ---- training ------------------------------------------------------------------------
    def d_step(self) -> dict[str, float]:
        """One step of D on a fresh batch of reals and fakes."""
        n = self.config.batch_size
        real = self.toy.sample(n, self.gen)  # (B, 2)
        with torch.no_grad():
            fake = self.g(self.noise(n, self.gen))  # (B, 2)
        loss, penalties = self.objective.d_loss(self.d, real, fake, self.config, self.gen)
        self._check(loss, "D")
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if self.objective.after_d is not None:
            self.objective.after_d(self.d, self.config)
        out = {"loss/d": float(loss.detach())} | {k: float(v.detach()) for k, v in penalties.items()}
        self.last.update(out)
        return out

    def g_step(self) -> dict[str, float]:
        """One step of G against the current D (D's weights get no gradients)."""
        fake = self.g(self.noise(self.config.batch_size, self.gen))  # (B, 2)
        self.d.requires_grad_(False)
        try:
            loss = self.objective.g_loss(self.d(fake))
        finally:
            self.d.requires_grad_(True)
        self._check(loss, "G")
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self.last["loss/g"] = float(loss.detach())
        return {"loss/g": self.last["loss/g"]}

    def step(self, on_phase: Callable[[str], None] | None = None) -> dict[str, float]:
        """One iteration: `d_steps` D steps, then `g_steps` G steps; `on_phase("d")` and `on_phase("g")`
        are called after each phase (the page's slow motion draws a frame there)."""
        out: dict[str, float] = {}
        for _ in range(self.config.d_steps):
            out.update(self.d_step())
        if on_phase is not None:
            on_phase("d")
        for _ in range(self.config.g_steps):
            out.update(self.g_step())
        self.iteration += 1
        self.history.append([self.iteration, out["loss/d"], out["loss/g"]])
        del self.history[:-2000]  # the last losses, kept with a saved run
        if on_phase is not None:
            on_phase("g")
        return out

    def _check(self, loss: torch.Tensor, net: str) -> None:
        if not torch.isfinite(loss):
            raise GankitError(f"{net}'s {self.config.loss} loss became {float(loss)} at iteration {self.iteration}: "
                              "lower the learning rate and reset")

    # ---- measuring -----------------------------------------------------------------------
    @torch.no_grad()
    def fakes(self) -> torch.Tensor:
        return self.g(self.eval_z)  # (EVAL_N, 2)

    @torch.no_grad()
    def metrics(self) -> dict[str, float | None]:
        """`js`, `kl` (nats, grid histogram), `modes` and `high_quality` (mixtures of Gaussians only, else
        None), `w1` (the critic's E D(x) - E D(G(z)) for WGAN losses, else None)."""
        fake = self.fakes()
        out: dict[str, float | None] = dict(histogram_divergences(self.eval_real, fake, self.toy.view))
        if self.toy.centres is not None:
            out.update(mode_quality(fake, self.toy.centres, self.toy.std))
        else:
            out.update(modes=None, high_quality=None)
        out["modes_total"] = None if self.toy.centres is None else float(len(self.toy.centres))
        out["w1"] = float(self.d(self.eval_real).mean() - self.d(fake).mean()) if self.objective.critic else None
        return out

    def heatmap(self) -> torch.Tensor:
        """D on a HEAT_RES x HEAT_RES grid over the view, row 0 at the bottom, mapped to [0, 1]."""
        cx, cy, half = self.toy.view
        axis = torch.linspace(-half, half, HEAT_RES)
        ys, xs = torch.meshgrid(axis + cy, axis + cx, indexing="ij")
        with torch.no_grad():
            out = self.d(torch.stack([xs.flatten(), ys.flatten()], 1)).view(HEAT_RES, HEAT_RES)  # (R, R)
        if self.objective.heat == "sigmoid":
            return out.sigmoid()
        if self.objective.heat == "raw01":
            return out.clamp(0, 1)
        lo, hi = out.min(), out.max()
        return (out - lo) / (hi - lo).clamp_min(1e-12)

    def arrows(self, fake: torch.Tensor) -> torch.Tensor:
        """-d(G's loss)/d(x) at each shown fake (N, 2): where G's gradient pushes that point."""
        x = fake.detach().requires_grad_(True)
        self.d.requires_grad_(False)
        try:
            loss = self.objective.g_loss(self.d(x)) * len(x)  # per-sample terms, not their mean
            (grad,) = torch.autograd.grad(loss, x)
        finally:
            self.d.requires_grad_(True)
        return -grad

    @torch.no_grad()
    def manifold(self) -> torch.Tensor:
        """G over a MANIFOLD_RES^2 grid of the first two noise dimensions (the others 0): (R, R, 2);
        with 1-D noise, a line (1, R, 2)."""
        dim = self.config.noise_dim
        span = 1.0 if self.config.noise == "uniform" else 2.0
        axis = torch.linspace(-span, span, MANIFOLD_RES)
        if dim == 1:
            return self.g(axis[:, None]).view(1, MANIFOLD_RES, 2)
        a, b = torch.meshgrid(axis, axis, indexing="ij")
        z = torch.zeros(MANIFOLD_RES * MANIFOLD_RES, dim)
        z[:, 0], z[:, 1] = a.flatten(), b.flatten()
        return self.g(z).view(MANIFOLD_RES, MANIFOLD_RES, 2)

    def frame(self, phase: str = "") -> dict[str, Any]:
        """What the page draws: `arrays` of float32 tensors and `info` (JSON-ready)."""
        fake = self.fakes()[:SHOW_N]
        arrays = {"real": self.eval_real[:SHOW_N], "fake": fake, "heat": self.heatmap(),
                  "arrows": self.arrows(fake), "manifold": self.manifold()}
        info = {"iteration": self.iteration, "phase": phase, "view": list(self.toy.view), "losses": self.last,
                "metrics": self.metrics(), "query": to_query(self.config, self._drawn()),
                "config": self.config.to_dict(), "heat_kind": self.objective.heat}
        return {"arrays": arrays, "info": info}

    def _drawn(self) -> list[list[float]] | None:
        return None if self.points is None or self.config.data != "drawn" else self.points.tolist()

    # ---- saving --------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        """Write `playground.json` (config, points, history), `model.safetensors` (G and D) and the exact
        training state (`state.safetensors` + `state.json`: optimizers, RNG); `Playground.load` resumes
        it bit for bit. Written beside the target and renamed into place."""
        folder = Path(folder)
        if folder.exists() and not (folder / "playground.json").exists():
            raise GankitError(f"{folder} exists and is not a playground run; choose another folder")
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        weights = {f"g.{k}": v.contiguous() for k, v in self.g.state_dict().items()}
        weights |= {f"d.{k}": v.contiguous() for k, v in self.d.state_dict().items()}
        save_file(weights, tmp / "model.safetensors")
        tensors: dict[str, torch.Tensor] = {}
        state = flatten_state({"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                               "gen": self.gen.get_state(), "points": self.points}, tensors)
        save_file(tensors, tmp / "state.safetensors")
        (tmp / "state.json").write_text(json.dumps(state))
        doc = {"kind": RUN_KIND, "config": self.config.to_dict(), "iteration": self.iteration, "builds": self.builds,
               "history": self.history, "last": self.last, "query": to_query(self.config, self._drawn())}
        (tmp / "playground.json").write_text(json.dumps(doc, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Playground:
        """A run written by `save`, ready to continue exactly where it stopped."""
        folder = Path(folder)
        try:
            doc = json.loads((folder / "playground.json").read_text())
            tensors = load_file(folder / "state.safetensors")
            state = unflatten_state(json.loads((folder / "state.json").read_text()), tensors)
            weights = load_file(folder / "model.safetensors")
        except (OSError, ValueError) as exc:
            raise GankitError(f"{folder} is not a readable playground run: {exc}") from None
        if doc.get("kind") != RUN_KIND:
            raise GankitError(f"{folder} is not a playground run (kind {doc.get('kind')!r})")
        config = PlaygroundConfig.from_dict(doc["config"])
        run = cls(config, state["points"])
        # Rebuild each net as often as the saved run did, so later rebuilds draw the same init seeds.
        for net in ("g", "d"):
            while run.builds[net] < doc["builds"][net]:
                run._build(net)
        run.g.load_state_dict({k[2:]: v for k, v in weights.items() if k.startswith("g.")})
        run.d.load_state_dict({k[2:]: v for k, v in weights.items() if k.startswith("d.")})
        run.opt_g.load_state_dict(state["opt_g"])
        run.opt_d.load_state_dict(state["opt_d"])
        run.gen.set_state(state["gen"])
        run.iteration, run.history, run.last = doc["iteration"], doc["history"], doc["last"]
        return run
