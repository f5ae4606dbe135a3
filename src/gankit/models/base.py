"""The contract between a variant and the engine.

A variant owns its networks, optimizers and objective (`train_step`); the engine owns the
loop, devices, AMP, data parallelism, EMA, logging and checkpoints, and reaches the variant
only through the methods below, never by its name.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from gankit.config import Config
from gankit.data.batches import Batch, DataSpec, HeldOut  # noqa: F401 (HeldOut re-exported)
from gankit.errors import GankitError
from gankit.nn.spectral import power_iterate, spectral_vectors


@dataclass(frozen=True)
class Stage:
    """One stage of training, declared by a variant's `stages()` and walked by the engine in order.

    The engine rebuilds the batch stream at the stage's image size and batch size, calls the
    variant's `begin_stage` hook at its start, tells `train_step` the progress within it (through
    `GANModel.progress`), and writes a checkpoint at its end.
    """

    name: str
    steps: int | None = None  # budget in optimisation steps; None with images None: the rest of the run
    images: int | None = None  # budget in training images instead (rounded up to whole batches)
    image_size: int | None = None  # None: the variant's data_spec().image_size
    batch_size: int | None = None  # None: the run's batch size
    trains: tuple[str, ...] | None = None  # optimizers (networks) that step in this stage; None: all

    def __post_init__(self) -> None:
        if self.steps is not None and self.images is not None:
            raise GankitError(f"stage {self.name!r}: give its budget in steps or in images, not both")
        for key in ("steps", "images", "image_size", "batch_size"):
            value = getattr(self, key)
            if value is not None and value < (0 if key in ("steps", "images") else 1):
                raise GankitError(f"stage {self.name!r}: {key} must be positive, got {value}")

    def budget(self, batch_size: int, world_size: int = 1) -> int | None:
        """Steps this stage runs for, or None when it runs to the end of the run."""
        if self.images is not None:
            return -(-self.images // (batch_size * world_size))
        return self.steps


@dataclass(frozen=True)
class StageProgress:
    """Where training is: stage `index` of the run, `step` steps done of its `steps` (an open-ended
    stage's steps are what the run's budget leaves it). `fraction` is what a fade-in reads."""

    index: int
    stage: Stage
    step: int
    steps: int

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / max(1, self.steps))


@dataclass
class AmpSettings:
    """Mixed precision chosen by the engine; variants only call `autocast()` / `optimize()`."""

    enabled: bool = False
    dtype: torch.dtype = torch.float32
    scalers: dict[str, torch.amp.GradScaler] = field(default_factory=dict)


class GANModel(nn.Module):
    """Base class of every registered variant."""

    name: ClassVar[str]
    config_class: ClassVar[type[Config]]
    paper: ClassVar[str]  # title
    arxiv: ClassVar[str]  # id, e.g. "1406.2661"
    task: ClassVar[str]  # generate | translate | enhance | adapt, set from the verbs at registration
    data_needs: ClassVar[str]  # images | images+labels | paired | unpaired
    # Submodules that get an exponential moving average when the engine enables EMA.
    ema_targets: ClassVar[tuple[str, ...]] = ("generator",)
    # The registered capabilities (gankit.capabilities) that measure this paper's claim on held-out
    # data; its proof recipe is benchmarks/recipes/<name>.json.
    capabilities: ClassVar[tuple[str, ...]] = ()
    # TrainConfig values this variant's paper uses (e.g. batch_size 1, lr_decay_from 0.5); the
    # user's own values override them.
    train_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.ema = nn.ModuleDict()
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.amp = AmpSettings()
        # Set by the engine under data parallelism: averages gradients across processes.
        self.grad_sync: Callable[[list[torch.Tensor]], None] | None = None
        # Set by the engine before every train_step: the stage and the progress within it.
        self.progress: StageProgress | None = None

    # ---- what a variant implements -------------------------------------------------------
    def data_spec(self) -> DataSpec:
        raise NotImplementedError

    def stages(self, train: Any) -> list[Stage]:
        """The ordered stages of a run given its `TrainConfig`; one open-ended stage by default."""
        return [Stage("train")]

    def begin_stage(self, progress: StageProgress) -> None:
        """Called by the engine at the start of each stage (and, on resume, for every stage up to the
        current one before the weights are loaded): grow a network, freeze a scale, make optimizers.
        The engine moves new modules to the device and refreshes EMA copies afterwards."""

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One optimisation step on `batch`; returns detached scalar losses by stable name."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(
        self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """`n` images in [-1, 1], NCHW, from the (EMA) generator in eval mode."""
        raise NotImplementedError

    def grid_labels(self, n: int) -> torch.Tensor | None:
        """Labels for the training-time sample grid (class-conditional variants override)."""
        return None

    def grid_nrow(self, n: int) -> int | None:
        """Images per row in sample grids; None means a square grid."""
        return None

    def preview(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int | None]:
        """The training-time grid: `(images in [-1, 1], images per row)`. Translation variants show
        input | output | target rows instead of plain samples."""
        return self.sample(n, labels=self.grid_labels(n), generator=generator), self.grid_nrow(n)

    # ---- what the task verbs read (the verbs themselves are protocols: gankit.models.verbs) --
    def input_channels(self, method: str) -> int:
        """Channels the CLI reads images with for `method` (classify, encode, translate, ...)."""
        return self.data_spec().channels

    def size_multiple(self) -> int:
        """Input sides `translate` and `inpaint` accept are multiples of this."""
        return 1

    # ---- helpers for variants ------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def net(self, name: str) -> nn.Module:
        """The network to *sample* with: its EMA copy when the engine keeps one."""
        return self.ema[name] if name in self.ema else getattr(self, name)

    def autocast(self) -> contextlib.AbstractContextManager:
        if not self.amp.enabled:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp.dtype)

    def trains(self, optimizer: str) -> bool:
        """Whether the current stage steps `optimizer` (every optimizer outside staged training)."""
        names = None if self.progress is None else self.progress.stage.trains
        return names is None or optimizer in names

    def optimize(self, loss: torch.Tensor, optimizer: str) -> None:
        """Backward `loss` into the parameters of `optimizer` and take its step."""
        if not self.trains(optimizer):
            stage = self.progress.stage  # type: ignore[union-attr]
            raise GankitError(f"{self.name} stepped {optimizer!r} in stage {stage.name!r}, which trains only "
                              f"{', '.join(stage.trains or ())}")
        opt = self.optimizers[optimizer]
        opt.zero_grad(set_to_none=True)
        scaler = self.amp.scalers.get(optimizer)
        (scaler.scale(loss) if scaler is not None else loss).backward()
        if self.grad_sync is not None:
            self.grad_sync([p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None])
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()

    @contextlib.contextmanager
    def frozen(self, *modules: nn.Module) -> Iterator[None]:
        """Skip weight gradients of `modules` (e.g. D during G's step); inputs still get them."""
        saved = [(p, p.requires_grad) for m in modules for p in m.parameters()]
        for p, _ in saved:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p, flag in saved:
                p.requires_grad_(flag)

    @contextlib.contextmanager
    def eval_mode(self, *modules: nn.Module) -> Iterator[None]:
        modes = [m.training for m in modules]
        for m in modules:
            m.eval()
        try:
            yield
        finally:
            for m, mode in zip(modules, modes):
                m.train(mode)

    def latent(self, n: int, dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Standard normal noise on the model's device, optionally from a fixed generator."""
        if generator is not None and generator.device != self.device:
            raise GankitError(f"generator is on {generator.device} but the model is on {self.device}")
        return torch.randn(n, dim, device=self.device, generator=generator)

    # ---- EMA, driven by the engine ---------------------------------------------------------
    def enable_ema(self) -> None:
        for name in self.ema_targets:
            if name not in self.ema:
                shadow = copy.deepcopy(getattr(self, name))
                shadow.requires_grad_(False)
                shadow.eval()
                self.ema[name] = shadow

    @torch.no_grad()
    def refresh_ema(self) -> None:
        """After a stage hook changed a network's structure: its EMA copy takes the new structure,
        keeping the averaged values of every tensor that kept its name and shape."""
        for name, shadow in list(self.ema.items()):
            live = getattr(self, name)
            old, new = shadow.state_dict(), live.state_dict()
            if old.keys() == new.keys() and all(old[k].shape == new[k].shape for k in old):
                continue
            fresh = copy.deepcopy(live)
            fresh.requires_grad_(False)
            fresh.eval()
            fresh.load_state_dict({k: old[k] if k in old and old[k].shape == v.shape else v for k, v in new.items()})
            self.ema[name] = fresh

    @torch.no_grad()
    def update_ema(self, decay: float) -> None:
        for name, shadow in self.ema.items():
            live = getattr(self, name)
            for s, p in zip(shadow.parameters(), live.parameters()):
                s.lerp_(p, 1.0 - decay)
            # Running statistics (BatchNorm) are averaged like the weights, since the live net's
            # latest ones do not fit the averaged weights (measured: an averaged BatchNorm MLP
            # classifier, decay 0.999, read MNIST at 64% with copied statistics, 95% with averaged
            # ones, the same as with statistics recomputed on data).
            own_vectors = {id(t) for t in spectral_vectors(shadow)}
            for s, b in zip(shadow.buffers(), live.buffers()):
                if id(s) in own_vectors:  # spectral norm's u, v: iterated on the averaged weights below
                    continue
                if s.is_floating_point():
                    s.lerp_(b, 1.0 - decay)
                else:  # counters such as num_batches_tracked
                    s.copy_(b)
            power_iterate(shadow)

    def extra_repr(self) -> str:
        return f"config={self.config}"

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "paper": self.paper, "arxiv": self.arxiv, "task": self.task, "data": self.data_needs}


def check_class_labels(labels: torch.Tensor | None, n: int, num_classes: int, device: torch.device) -> torch.Tensor:
    """The classes to draw `n` images of, on `device`: `labels` (n,) int64 checked, or 0..K-1 cycled when None."""
    if labels is None:
        return torch.arange(n, device=device) % num_classes  # (n,)
    if labels.shape != (n,) or labels.dtype != torch.long:
        raise GankitError(f"labels must be an int64 tensor of shape ({n},), got {tuple(labels.shape)} {labels.dtype}")
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        raise GankitError(f"labels must lie in 0..{num_classes - 1}, got {labels.min().item()}..{labels.max().item()}")
    return labels.to(device)


class ClassRowsGrid:
    """Mixin for class-conditional generators (`config.num_classes`): sample grids show one class per row."""

    def grid_nrow(self, n: int) -> int:
        """One class per row: 10 images a row when `n` allows, fewer for small grids."""
        return max(1, min(10, n // self.config.num_classes))

    def grid_labels(self, n: int) -> torch.Tensor:
        """Row i shows class i (rows beyond K start again at class 0)."""
        return (torch.arange(n, device=self.device) // self.grid_nrow(n)) % self.config.num_classes  # (n,)


class ZLatent:
    """Mixin for generators of z alone (no noise inputs): sampling renders fresh z, and `render` gives
    latent interpolation and perceptual path length (`gankit.models.verbs.LatentRenderer`) a
    deterministic image of any z. The variant implements `generate(z) -> images in [-1, 1]`."""

    def latent_spaces(self) -> tuple[str, ...]:
        return ("z",)

    def to_space(self, z: torch.Tensor, space: str) -> torch.Tensor:
        if space != "z":
            raise GankitError(f"{self.name} has one latent space, z; got {space!r}")
        return z

    def render(self, latents: torch.Tensor, space: str = "z") -> torch.Tensor:
        return self.generate(self.to_space(latents, space))

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generate(self.latent(n, self.config.latent_dim, generator))  # (n, C, H, W)
