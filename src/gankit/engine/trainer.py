"""The training loop. It knows the `GANModel` contract, never which variant it runs."""

from __future__ import annotations

import json
import math
import os
import random
import re
import signal
import sys
import threading
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
    non_finite,
    read_document,
    remove_temporary,
    save_checkpoint,
)
from gankit.errors import (
    GankitError,
    NonFiniteError,
    NonFiniteLossError,
    NonFiniteWeightsError,
    TrainingInterrupted,
)
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

    positive_fields: ClassVar[str] = r"batch_size|steps|epochs|minutes|sample_every|checkpoint_every|log_every|grid_size|eval_n"

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("seed", "threads", "eval_every"):
            if getattr(self, key) < 0:
                off = " (0: off)" if key == "eval_every" else " (0: one per core)" if key == "threads" else ""
                raise GankitError(f"TrainConfig.{key} must be an integer >= 0{off}, got {getattr(self, key)}")
        if self.seed >= 2**32:
            raise GankitError(f"TrainConfig.seed must be below 2**32, got {self.seed}")
        if not 0 <= self.ema < 1:
            raise GankitError(f"ema is a decay in [0, 1) (e.g. 0.999; 0 turns it off), got {self.ema}")
        if not 0 <= self.lr_decay_from < 1:
            raise GankitError(f"lr_decay_from is a fraction of the run in [0, 1) (e.g. 0.5; 0 turns decay off), "
                              f"got {self.lr_decay_from}")


def read_total(run_dir: str | os.PathLike) -> int | None:
    """The run's total steps as its config.json records it, if any."""
    try:
        return json.loads((Path(run_dir) / "config.json").read_text()).get("train", {}).get("steps")
    except (OSError, ValueError, AttributeError):
        return None


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


def load_weights(model: GANModel, weights: dict[str, torch.Tensor], ckpt: Path) -> None:
    """Load a checkpoint's weights into `model`, with one line (naming the model and config the checkpoint was
    made with) when they do not fit, and a refusal of NaN or infinite weights."""
    bad = non_finite(weights)
    if bad:
        raise NonFiniteWeightsError(f"the weights in {ckpt} hold NaN or infinity ({len(bad)} tensor(s), first {bad[0]}): "
                                    "they cannot be used; resume from an earlier checkpoint with lower learning rates")
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        document = read_document(ckpt)
        made = (f"made with {document['model']} {json.dumps(document.get('model_config', {}))}"
                if "model" in document else "made before checkpoints recorded their model")
        first = str(exc).split("\n")[1].strip() if "\n" in str(exc) else str(exc)
        raise GankitError(f"the weights in {ckpt} do not fit {model.name} {json.dumps(model.config.to_dict())} "
                          f"(checkpoint {made}; {first[:300]})") from None


class _Signals:
    """SIGINT / SIGTERM during training only set a flag: the loop then writes one checkpoint at the current
    step and stops. A second signal stops at once (writes are atomic, so nothing is corrupted)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


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
        retune: bool = False,
    ) -> None:
        """`retune`: on resume, the optimizers keep their restored moments but take their hyperparameters
        (learning rates, betas) from the model's config, which the caller changed (`--resume --set lr_d=...`)."""
        self.config = config
        self.retune = retune
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
        if shape != (spec.channels, *spec.hw):
            raise GankitError(
                f"data {dataset.name} has images of shape {shape} but {model.name} expects "
                f"{(spec.channels, *spec.hw)}: load it with the model's image_size and channels"
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
            "total": self._total,  # the run's total when this was written: a resume that changes it says so
        }

    def _resume_command(self) -> str:
        """The exact command that resumes this run with halved learning rates."""
        rates = {k: v for k, v in self.model.config.to_dict().items()
                 if re.fullmatch(r"lr(_[a-z]+)?", k) and isinstance(v, float)}
        sets = " ".join(f"--set {k}={v / 2:g}" for k, v in rates.items()) or "--set lr=..."
        return f"gankit train --resume {self.run_dir} {sets}"

    def _nonfinite_advice(self, last_saved: int) -> str:
        if latest_checkpoint(self.run_dir) is None:
            kept = "no checkpoint was written yet, so the run starts again from step 0 with"
        else:
            kept = f"the last good checkpoint (step {last_saved}) is kept in {self.run_dir}; continue from it with"
        return f"{kept} lower learning rates: {self._resume_command()}"

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
        load_weights(self.model, weights, ckpt)
        fresh = {k: [dict(g) for g in opt.param_groups] for k, opt in self.model.optimizers.items()}
        try:
            for k, opt in self.model.optimizers.items():
                opt.load_state_dict(state["optimizers"][k])
                match_param_layout(opt)
                if self.retune:
                    for group, new in zip(opt.param_groups, fresh[k]):
                        group.update({h: v for h, v in new.items() if h not in ("params", "initial_lr")})
                        if "initial_lr" in group:
                            group["initial_lr"] = new["lr"]
            for k, s in self.model.amp.scalers.items():
                if k in state["scalers"]:
                    s.load_state_dict(state["scalers"][k])
            stream.load_state_dict(state)
            set_rng_state(state["rng"], self.device)
        except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
            raise GankitError(f"the training state in {ckpt} does not fit {self.model.name} as configured in "
                              f"{self.run_dir / 'config.json'} ({type(exc).__name__}: {str(exc)[:200]})") from None
        recorded = state.get("total")
        if recorded is not None and recorded != self._total and self.config.lr_decay_from > 0 and self.is_main:
            print(f"gankit: this resume changes the run's total from {recorded} to {self._total} steps; the "
                  f"learning-rate decay (from {self.config.lr_decay_from:g} of the run) follows {self._total} steps "
                  f"from step {state['step']} on", file=sys.stderr)
        return int(state["step"]), index, stream

    def _save(self, step: int, stream: BatchStream, stage: int, last_saved: int = 0) -> None:
        if self.is_main:
            weights = self.model.state_dict()
            bad = non_finite(weights)
            if bad:  # a checkpoint is "the last good one": never commit NaN weights under that name
                raise NonFiniteWeightsError(
                    f"the weights hold NaN or infinity at step {step} ({len(bad)} tensor(s), first {bad[0]}), so no "
                    f"checkpoint was written; {self._nonfinite_advice(last_saved)}")
            meta = {"model": self.model.name, "model_config": self.model.config.to_dict()}
            save_checkpoint(self.run_dir, step, weights, self.state_dict(step, stream, stage), meta=meta)
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
        self._total = total
        if self.is_main:
            remove_temporary(self.run_dir)  # left by a killed write; the caller holds the run's lock
        resume = self.resume and latest_checkpoint(self.run_dir) is not None
        if self.resume and not resume and self.is_main:  # killed before its first checkpoint: start it again
            print(f"gankit: {self.run_dir} has no checkpoint yet: training it from step 0 with its config",
                  file=sys.stderr)
        if resume:
            start, index, stream = self._load(plan)
            if c.steps is not None and c.steps < start:
                raise GankitError(f"{self.run_dir} is already at step {start}: --steps is the run's total, give more "
                                  f"than {start} (or omit it to continue to {read_total(self.run_dir) or start})")
        else:
            start, index, stream = 0, 0, self._begin_stage(plan[0])
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            info = {**self.run_info, "model": self.model.name, "model_config": self.model.config.to_dict(),
                    "train": c.to_dict()}
            atomic_write_text(self.run_dir / "config.json", json.dumps(info, indent=2))
        signals = _Signals() if self.world == 1 else None
        if signals is not None:
            signals.__enter__()
        try:
            return self._loop(plan, total, start, index, stream, resume, signals)
        finally:
            if signals is not None:
                signals.__exit__()

    def _loop(self, plan: list[PlannedStage], total: int, start: int, index: int, stream: BatchStream, resume: bool,
              signals: _Signals | None) -> dict[str, Any]:
        c = self.config
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

        def evaluate(step: int, stage_end: str | None) -> None:
            """An eval_every row; at the end of a stage it names the stage (ProGAN's per-resolution FID)."""
            if not c.eval_every or self.evaluator is None or log is None:
                return
            scores = self.evaluator(self.model)
            log.write({"step": step, **({"stage_end": stage_end} if stage_end else {}),
                       **{f"eval/{k}": v for k, v in scores.items()}})
            bar.write(f"step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))

        if step == plan[index].start:
            log_stage(plan[index])
        try:
            while step < total and (deadline is None or time.monotonic() < deadline):
                if step >= plan[index].end:  # a stage boundary: checkpoint it, then the next stage
                    if step != last_saved:
                        self._save(step, stream, index, last_saved)
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
                    raise NonFiniteLossError(f"{bad[0]} became {values[bad[0]]} at step {step + 1}; training stopped: "
                                             f"{self._nonfinite_advice(last_saved)}")
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
                stage_end = len(plan) > 1 and step == planned.end  # measured before its checkpoint: never twice
                if c.eval_every and (step % c.eval_every == 0 or stage_end):
                    evaluate(step, planned.stage.name if stage_end else None)
                if step % c.checkpoint_every == 0:
                    self._save(step, stream, index, last_saved)
                    last_saved = step
                if signals is not None and signals.received is not None:
                    break
        except NonFiniteError:
            if log is not None:
                log.write({"event": "nonfinite", "step": step + 1})
                log.close()
            bar.close()
            raise
        bar.close()
        try:
            if step != last_saved or latest_checkpoint(self.run_dir) is None:
                self._save(step, stream, index, last_saved)
        except NonFiniteError:
            if log is not None:
                log.close()
            raise
        if signals is not None and signals.received is not None:
            if log is not None:
                log.close()
            name = signal.Signals(signals.received).name
            raise TrainingInterrupted(f"{name} received: stopped at step {step} with a checkpoint there; resume with "
                                      f"gankit train --resume {self.run_dir}", signals.received)
        if step % c.sample_every != 0:
            self._write_artifacts(step, log, fixed_seed)
        if log is not None:
            log.close()
        return {"run_dir": str(self.run_dir), "step": step, "total": total, "last": log.history[-1] if log and log.history else {}}
