"""The training loop. It knows the `GANModel` contract, never which variant it runs."""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from tqdm import tqdm

from gankit.config import Config
from gankit.data.batches import BatchStream
from gankit.data.core import ImageDataset
from gankit.data.pairs import TwoDomainDataset
from gankit.engine import distributed
from gankit.engine.artifacts import RunLog, save_grid
from gankit.engine.checkpoint import (
    atomic_write_text,
    latest_checkpoint,
    load_model_state,
    load_train_state,
    save_checkpoint,
)
from gankit.errors import GankitError, NonFiniteLossError
from gankit.models.base import GANModel, Stage, StageProgress

DEFAULT_STEPS = 5000


@dataclass
class TrainConfig(Config):
    batch_size: int = 64
    steps: int | None = None  # total optimisation steps of the run (resume continues to it)
    epochs: float | None = None  # alternative budget in passes over the data
    minutes: float | None = None  # wall-clock budget of this invocation
    seed: int = 0
    device: str = "auto"  # auto (cuda > mps > cpu), cpu, cuda, cuda:1, mps
    ema: float = 0.0  # decay of G's exponential moving average; 0 turns it off
    amp: bool = True  # mixed precision on CUDA (bf16 where supported, else fp16 + loss scaling)
    channels_last: bool = True  # on CUDA
    threads: int = 0  # CPU threads; 0 picks one per physical core
    sample_every: int = 500
    checkpoint_every: int = 1000
    log_every: int = 50
    grid_size: int = 64
    eval_every: int = 0  # steps between in-training evaluations (0: off)
    eval_n: int = 2000  # generated images per in-training evaluation
    eval_metrics: tuple[str, ...] = ("fid",)
    progress: Literal["auto", "on", "off"] = "auto"
    # > 0: learning rates stay constant for this fraction of the run, then fall linearly to 0
    # (CycleGAN: 0.5, i.e. 100 epochs constant + 100 decaying).
    lr_decay_from: float = 0.0

    presets: ClassVar[dict[str, dict[str, Any]]] = {}

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.ema < 1:
            raise GankitError(f"ema is a decay in [0, 1) (e.g. 0.999; 0 turns it off), got {self.ema}")
        if not 0 <= self.lr_decay_from < 1:
            raise GankitError(f"lr_decay_from is a fraction of the run in [0, 1) (e.g. 0.5; 0 turns decay off), "
                              f"got {self.lr_decay_from}")


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            _, _, local = distributed.world_from_env()
            return torch.device("cuda", local)
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GankitError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GankitError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    return device


def default_threads() -> int:
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():  # the user's explicit choice wins
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    # Measured on an idle 2-core machine: 2 threads train `gan` 1.5x faster than 1. When
    # other processes load the cores, fewer threads (--threads 1) avoid spin-wait stalls.
    return max(1, min(8, os.cpu_count() or 1))


def match_param_layout(opt: torch.optim.Optimizer) -> None:
    """Give loaded moments their parameter's memory layout: checkpoints store them contiguous, and
    fused/foreach Adam on CUDA refuses channels_last parameters with contiguous moments."""
    for param, slots in opt.state.items():
        for key, value in slots.items():
            if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                slots[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def rng_state(device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


@dataclass(frozen=True)
class PlannedStage:
    """A variant's stage placed on the run's step axis: it covers steps [start, end)."""

    index: int
    stage: Stage
    start: int
    end: int
    batch_size: int
    image_size: int

    def progress(self, step: int) -> StageProgress:
        return StageProgress(self.index, self.stage, step - self.start, self.end - self.start)


def plan_stages(model: GANModel, config: TrainConfig, n_images: int, world_size: int = 1) -> tuple[list[PlannedStage], int]:
    """The stages of a run on its step axis, and the run's total steps. Bounded stages run their own
    budgets; an open-ended last stage runs to the run's budget (steps, epochs of the first stage's
    batches; minutes leave it unbounded). A budget that ends early cuts the plan there."""
    c = config
    stages = model.stages(c)
    if not stages:
        raise GankitError(f"{model.name} declares no training stages")
    spec = model.data_spec()
    sizes = [(st.batch_size or c.batch_size, st.image_size or spec.image_size) for st in stages]
    budgets = [st.budget(b, world_size) for st, (b, _) in zip(stages, sizes)]
    if any(b is None for b in budgets[:-1]):
        raise GankitError(f"{model.name}: only the last stage may be open-ended (stages: {[st.name for st in stages]})")
    run: list[int] = []
    if c.steps is not None:
        run.append(c.steps)
    if c.epochs is not None:
        run.append(max(1, math.ceil(c.epochs * (n_images // (sizes[0][0] * world_size)))))
    if budgets[-1] is not None:
        run.append(sum(budgets))  # type: ignore[arg-type]
    if not run:
        run.append(DEFAULT_STEPS if c.minutes is None else sys.maxsize)
    total = min(run)
    planned, start = [], 0
    for i, (st, budget, (batch, size)) in enumerate(zip(stages, budgets, sizes)):
        end = total if budget is None else min(total, start + budget)
        planned.append(PlannedStage(i, st, start, end, batch, size))
        start = end
    return planned, total


class Trainer:
    """Runs a model on a dataset for a budget, writing everything into `run_dir`."""

    def __init__(
        self,
        model: GANModel,
        dataset: ImageDataset,
        config: TrainConfig,
        run_dir: str | os.PathLike,
        run_info: dict[str, Any] | None = None,
        resume: bool = False,
        evaluator: Callable[[GANModel], dict[str, float]] | None = None,
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.device = pick_device(config.device)
        self.rank, self.world = distributed.init(self.device)
        torch.set_num_threads(config.threads or default_threads())
        self.model = model
        self.dataset = dataset
        self.run_info = run_info or {}
        self.resume = resume
        self.evaluator = evaluator
        spec = model.data_spec()
        if spec.pairing != "none" or isinstance(dataset, TwoDomainDataset):
            self._check_two_domain(spec, dataset)
            return
        shape = tuple(dataset.images.shape[1:])
        if shape != (spec.channels, spec.image_size, spec.image_size):
            raise GankitError(
                f"data {dataset.name} has images of shape {shape} but {model.name} expects "
                f"{(spec.channels, spec.image_size, spec.image_size)}: load it with the model's image_size and channels"
            )
        if spec.needs_labels and dataset.labels is None:
            raise GankitError(f"{model.name} needs class labels but {dataset.name} has none (put images in one subfolder per class)")

    def _check_two_domain(self, spec: Any, dataset: Any) -> None:
        name = self.model.name
        if spec.pairing == "none":
            raise GankitError(f"{name} learns from one set of images, but {dataset.name} has two domains: use a one-domain --data")
        if not isinstance(dataset, TwoDomainDataset):
            raise GankitError(f"{name} translates between two domains: give --data a translation dataset "
                              "(edges2digits, mnist-m, or a folder in the aligned or unaligned format)")
        if spec.pairing == "paired" and not dataset.aligned:
            raise GankitError(f"{name} learns from aligned pairs but {dataset.name} has unaligned domains")
        for side, ds, channels in (("A", dataset.a, spec.channels), ("B", dataset.b, spec.channels_b)):
            c, h, w = ds.images.shape[1:]
            if c != channels or h < spec.image_size or w < spec.image_size:
                raise GankitError(f"domain {side} of {dataset.name} has images of shape {(c, h, w)} but {name} expects "
                                  f"{channels} channels and at least {spec.image_size}x{spec.image_size}")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def _setup_device(self) -> None:
        model, c = self.model, self.config
        if self.device.type == "cuda" and c.amp:
            bf16 = torch.cuda.is_bf16_supported()
            model.amp.enabled = True
            model.amp.dtype = torch.bfloat16 if bf16 else torch.float16
        self._place_modules()
        if c.ema > 0:
            model.enable_ema()
        if self.world > 1:
            distributed.broadcast_state(model)
            model.grad_sync = distributed.all_reduce_mean
        # Optimizer state tensors created before .to() would sit on the wrong device.
        for opt in model.optimizers.values():
            for state in opt.state.values():
                for k, v in state.items():
                    if isinstance(v, torch.Tensor) and k != "step":
                        state[k] = v.to(self.device)

    def _place_modules(self) -> None:
        """Move every module to the device, also those a stage hook just made, and give new optimizers
        their loss scalers (fp16)."""
        model = self.model
        model.to(self.device)
        if self.device.type == "cuda" and self.config.channels_last:
            model.to(memory_format=torch.channels_last)
        if model.amp.enabled and model.amp.dtype == torch.float16:
            for name in model.optimizers:
                model.amp.scalers.setdefault(name, torch.amp.GradScaler("cuda"))

    def _begin_stage(self, planned: PlannedStage) -> BatchStream:
        """A stage's hook, then its batches at its image size and batch size."""
        self.model.begin_stage(planned.progress(planned.start))
        self._place_modules()
        if self.model.ema:
            self.model.refresh_ema()
        c = self.config
        stream = BatchStream(self.dataset, self.model.data_spec(), planned.batch_size, c.seed, self.rank, self.world,
                             image_size=planned.image_size, stage=planned.index)
        return stream.to(self.device)

    def _set_lr_factor(self, step: int, total: int) -> None:
        """Stateless in the step, so a resumed run follows the same schedule."""
        start = self.config.lr_decay_from * total
        factor = 1.0 if step < start else max(0.0, 1.0 - (step - start) / max(1.0, total - start))
        for opt in self.model.optimizers.values():
            for group in opt.param_groups:
                group.setdefault("initial_lr", group["lr"])
                group["lr"] = group["initial_lr"] * factor

    def state_dict(self, step: int, stream: BatchStream, stage: int) -> dict[str, Any]:
        return {
            "step": step,
            "stage": stage,  # the stage the batch stream's state belongs to
            "optimizers": {k: opt.state_dict() for k, opt in self.model.optimizers.items()},
            "scalers": {k: s.state_dict() for k, s in self.model.amp.scalers.items()},
            **stream.state_dict(),
            "rng": rng_state(self.device),
        }

    def _load(self, plan: list[PlannedStage]) -> tuple[int, int, BatchStream]:
        """Replays the stage hooks up to the checkpoint's stage (so grown networks exist), then restores
        weights, optimizers, the batch stream and RNG. Returns (step, stage index, its stream)."""
        ckpt = latest_checkpoint(self.run_dir)
        if ckpt is None:
            raise GankitError(f"{self.run_dir} has no checkpoint to resume from; start a new run instead")
        state = load_train_state(ckpt)
        index = min(int(state.get("stage", 0)), len(plan) - 1)
        for planned in plan[: index + 1]:
            stream = self._begin_stage(planned)
        weights = load_model_state(ckpt)
        if any(k.startswith("ema.") for k in weights):
            self.model.enable_ema()
            self.model.refresh_ema()
        self.model.load_state_dict(weights)
        for k, opt in self.model.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
            match_param_layout(opt)
        for k, s in self.model.amp.scalers.items():
            if k in state["scalers"]:
                s.load_state_dict(state["scalers"][k])
        stream.load_state_dict(state)
        set_rng_state(state["rng"], self.device)
        return int(state["step"]), index, stream

    def _save(self, step: int, stream: BatchStream, stage: int) -> None:
        if self.is_main:
            save_checkpoint(self.run_dir, step, self.model.state_dict(), self.state_dict(step, stream, stage))
        distributed.barrier()

    def _write_artifacts(self, step: int, log: RunLog, fixed_seed: int) -> None:
        if not self.is_main:
            return
        n = self.config.grid_size
        # Same noise every time: the grids form a time-lapse of one set of samples.
        gen = torch.Generator(self.device).manual_seed(fixed_seed)
        images, nrow = self.model.preview(n, generator=gen)
        save_grid(images, self.run_dir / "samples" / f"step-{step:08d}.png", nrow=nrow)
        save_grid(images, self.run_dir / "samples.png", nrow=nrow)
        log.plot(self.run_dir / "losses.png")

    def fit(self) -> dict[str, Any]:
        c = self.config
        torch.manual_seed(c.seed + self.rank)
        np.random.seed(c.seed + self.rank)
        random.seed(c.seed + self.rank)
        self._setup_device()
        plan, total = plan_stages(self.model, c, len(self.dataset), self.world)
        if self.resume:
            start, index, stream = self._load(plan)
        else:
            start, index, stream = 0, 0, self._begin_stage(plan[0])
            if self.is_main:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                info = {**self.run_info, "model": self.model.name, "model_config": self.model.config.to_dict(),
                        "train": c.to_dict()}
                atomic_write_text(self.run_dir / "config.json", json.dumps(info, indent=2))
        (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
        log = RunLog(self.run_dir, resume_step=start) if self.is_main else None
        fixed_seed = c.seed + 1_000_003
        show = self.is_main and (c.progress == "on" or (c.progress == "auto" and sys.stderr.isatty()))
        bar = tqdm(total=total if total != sys.maxsize else None, initial=start, disable=not show, dynamic_ncols=True, unit="step")
        deadline = None if c.minutes is None else time.monotonic() + 60 * c.minutes
        step, last_saved = start, start
        sums: dict[str, tuple[float, int]] = {}
        count, t_interval = 0, time.perf_counter()
        self.model.train()

        def log_stage(planned: PlannedStage) -> None:
            if len(plan) > 1:
                bar.set_description(planned.stage.name)
                if log is not None:
                    log.write({"event": "stage", "step": planned.start, "index": planned.index, "stage": planned.stage.name,
                               "image_size": planned.image_size, "batch_size": planned.batch_size,
                               "steps": planned.end - planned.start})

        if step == plan[index].start:
            log_stage(plan[index])
        try:
            while step < total and (deadline is None or time.monotonic() < deadline):
                if step >= plan[index].end:  # a stage boundary: checkpoint it, then the next stage
                    if step != last_saved:
                        self._save(step, stream, index)
                        last_saved = step
                    index += 1
                    stream = self._begin_stage(plan[index])
                    log_stage(plan[index])
                    continue
                if c.lr_decay_from > 0:
                    self._set_lr_factor(step, total)
                planned = plan[index]
                self.model.progress = planned.progress(step)
                losses = self.model.train_step(stream.next())
                values = {k: float(v) for k, v in losses.items()}
                bad = [k for k, v in values.items() if not math.isfinite(v)]
                if bad:
                    raise NonFiniteLossError(
                        f"{bad[0]} became {values[bad[0]]} at step {step + 1}; training stopped and the last good "
                        f"checkpoint (step {last_saved}) is kept in {self.run_dir}: lower the learning rate "
                        f"(--set lr_d=... lr_g=...) and resume with --resume {self.run_dir}"
                    )
                if c.ema > 0:
                    self.model.update_ema(min(c.ema, (1 + step) / (10 + step)))  # warm-up
                step += 1
                for k, v in values.items():  # averaged per key: some losses appear only every n steps
                    total_v, n_v = sums.get(k, (0.0, 0))
                    sums[k] = (total_v + v, n_v + 1)
                count += 1
                bar.update(1)
                if step % c.log_every == 0 or step == total:
                    elapsed = time.perf_counter() - t_interval
                    row = {"step": step, **{k: t / n for k, (t, n) in sums.items()}}
                    row["perf/images_per_s"] = count * planned.batch_size * self.world / max(elapsed, 1e-9)
                    if log is not None:
                        log.write(row)
                    bar.set_postfix({k.split("/")[-1]: f"{v:.3f}" for k, v in row.items() if k.startswith("loss/")}
                                    | {"img/s": f"{row['perf/images_per_s']:.0f}"})
                    sums, count, t_interval = {}, 0, time.perf_counter()
                if step % c.sample_every == 0:
                    self._write_artifacts(step, log, fixed_seed)
                if c.eval_every and step % c.eval_every == 0 and self.evaluator is not None and log is not None:
                    scores = self.evaluator(self.model)
                    log.write({"step": step, **{f"eval/{k}": v for k, v in scores.items()}})
                    bar.write(f"step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
                if step % c.checkpoint_every == 0:
                    self._save(step, stream, index)
                    last_saved = step
        except NonFiniteLossError:
            if log is not None:
                log.write({"event": "nonfinite", "step": step + 1})
                log.close()
            bar.close()
            raise
        bar.close()
        if step != last_saved or latest_checkpoint(self.run_dir) is None:
            self._save(step, stream, index)
        if step % c.sample_every != 0:
            self._write_artifacts(step, log, fixed_seed)
        if log is not None:
            log.close()
        return {"run_dir": str(self.run_dir), "step": step, "total": total, "last": log.history[-1] if log and log.history else {}}
