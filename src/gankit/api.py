"""The Python API: train a variant, load a run, sample from it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from gankit.data import ImageDataset
from gankit.data.sources import load_for_spec
from gankit.engine import distributed
from gankit.engine.checkpoint import latest_checkpoint, load_model_state
from gankit.engine.lock import RunLock
from gankit.engine.trainer import TrainConfig, Trainer, load_weights, pick_device
from gankit.errors import GankitError
from gankit.models.base import GANModel
from gankit.registry import create_model, get_model_class


def read_run_config(run: str | os.PathLike) -> dict[str, Any]:
    """A run's config.json, checked for the parts every verb relies on."""
    path = Path(run) / "config.json"
    if not path.is_file():
        raise GankitError(f"{run} is not a gankit run folder (no config.json)")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise GankitError(f"{path} is not UTF-8 text, so not a gankit config") from None
    except (OSError, ValueError) as exc:
        raise GankitError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(info, dict):
        raise GankitError(f"{path} must hold a JSON object, got {type(info).__name__}")
    if not isinstance(info.get("model"), str):
        raise GankitError(f"{path} names no model (expected a \"model\" key with a variant name, see `gankit list`)")
    for key in ("model_config", "train", "data"):
        if key in info and not isinstance(info[key], dict):
            raise GankitError(f"{path}: \"{key}\" must be a JSON object, got {type(info[key]).__name__}")
    return info


def load(run: str | os.PathLike, device: str | torch.device = "cpu") -> GANModel:
    """Rebuild a trained model from its run folder (config + latest weights), in eval mode."""
    info = read_run_config(run)
    cls = get_model_class(info["model"])
    model = cls(cls.config_class.from_dict(info.get("model_config", {})))
    ckpt = latest_checkpoint(run)
    if ckpt is None:
        raise GankitError(f"{run} has no checkpoint yet")
    weights = load_model_state(ckpt)
    if any(k.startswith("ema.") for k in weights):
        model.enable_ema()
    load_weights(model, weights, ckpt)  # wrong shapes and NaN weights are one line, for every verb
    device = device if isinstance(device, torch.device) else pick_device(device)
    return model.to(device).eval()


def new_run_dir(out: str | os.PathLike, model_name: str, name: str | None = None) -> Path:
    if name is not None:
        path = Path(out) / name
        if (path / "config.json").exists():
            raise GankitError(f"run {path} already exists: resume it with --resume {path} or choose another --name")
        return path
    base = Path(out) / f"{model_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    base.parent.mkdir(parents=True, exist_ok=True)
    path, i = base, 1
    while True:
        try:
            path.mkdir()  # claims the name atomically: two runs started in the same second get two folders
            return path
        except FileExistsError:
            path, i = base.with_name(f"{base.name}-{i}"), i + 1


def train(
    model: str,
    data: str | ImageDataset = "mnist",
    out: str | os.PathLike = "runs",
    name: str | None = None,
    preset: str | None = None,
    model_config: dict[str, Any] | None = None,
    data_dir: str | None = None,
    max_images: int | None = None,
    direction: str = "AtoB",
    augment: bool | None = None,
    **train_config: Any,
) -> Path:
    """Train `model` on `data` (a name like "mnist", a folder, or an `ImageDataset`); returns the run folder.

    `train_config` takes `TrainConfig` fields: steps, epochs, minutes, batch_size, seed, ema, ...
    Translation data: `direction` AtoB or BtoA; `augment` (random jitter and mirroring) None
    means on for folders and off for the embedded digit tasks.
    """
    cls = get_model_class(model)
    overrides = dict(model_config or {})
    if isinstance(data, str):  # values the data decides (a folder's size and colour, a photo's shape)
        overrides = {**cls.config_class.data_defaults(data, preset, overrides), **overrides}
    config = TrainConfig.from_dict({**cls.train_defaults, **train_config})
    torch.manual_seed(config.seed)  # the initial weights are part of what a seed reproduces
    net = create_model(model, preset=preset, **overrides)
    spec = net.data_spec()
    if isinstance(data, ImageDataset):
        dataset, source = data.fit(spec.image_shape or spec.image_size, spec.channels), data.name
    elif not isinstance(data, str):  # an in-memory TwoDomainDataset, used as given
        dataset, source = data, data.name
    else:
        dataset, source = load_for_spec(spec, data, "train", data_dir, direction, augment), data
    if max_images is not None:
        dataset = dataset.subset(max_images)
    rank, world = distributed.init(pick_device(config.device))
    run_dir = new_run_dir(out, model, name) if rank == 0 else None
    if world > 1:  # every process must write to (and read from) rank 0's run folder
        shared = [str(run_dir) if run_dir else None]
        torch.distributed.broadcast_object_list(shared, src=0)
        run_dir = Path(shared[0])
    data_info = {"source": source, "data_dir": data_dir, "max_images": max_images, "n_images": len(dataset),
                 "direction": direction, "augment": augment}
    info = {"data": data_info, "preset": preset}
    trainer = Trainer(net, dataset, config, run_dir, run_info=info, evaluator=make_evaluator(config, info, net))
    if rank != 0:
        trainer.fit()
        return run_dir
    with RunLock(run_dir):
        if name is not None and (run_dir / "config.json").exists():  # checked again, now that no one else can
            raise GankitError(f"run {run_dir} already exists: resume it with --resume {run_dir} or choose another --name")
        trainer.fit()
    return run_dir


def resume(run: str | os.PathLike, model_config: dict[str, Any] | None = None, **train_overrides: Any) -> Path:
    """Continue a run from its latest checkpoint (or from step 0 when it has none yet); overrides change the
    budget (e.g. steps); `model_config` changes values such as learning rates, recorded in the run's config and
    applied to the restored optimizers."""
    run = Path(run)
    read_run_config(run)  # not a run folder: an error before a lock file is made in it
    with RunLock(run):
        return _resume_locked(run, model_config or {}, train_overrides)


def _resume_locked(run: Path, model_config: dict[str, Any], train_overrides: dict[str, Any]) -> Path:
    info = read_run_config(run)
    cls = get_model_class(info["model"])
    config = TrainConfig.from_dict({**info.get("train", {}), **train_overrides})
    torch.manual_seed(config.seed)  # a run killed before its first checkpoint starts again with the same weights
    net = cls(cls.config_class.from_dict({**info.get("model_config", {}), **model_config}))
    spec = net.data_spec()
    data = info.get("data", {})
    dataset = load_for_spec(spec, data.get("source", "mnist"), "train", data.get("data_dir"),
                           data.get("direction", "AtoB"), data.get("augment"))
    if data.get("max_images") is not None:
        dataset = dataset.subset(data["max_images"])
    # The trainer writes config.json (the new budget and model config) once the checkpoint has been checked.
    Trainer(net, dataset, config, run, run_info=info, resume=True, evaluator=make_evaluator(config, info, net),
            retune=bool(model_config)).fit()
    return run


def make_evaluator(config: TrainConfig, info: dict[str, Any], model: GANModel):
    """The in-training evaluation (`eval_every`): reference set and extractor built once."""
    if not config.eval_every:
        return None
    from gankit.evaluation import default_extractor, evaluate_model, reference_set
    from gankit.metrics import get_extractor

    source = info.get("data", {}).get("source", "mnist")
    if not isinstance(source, str):
        raise GankitError("--eval-every needs data given by name or folder, not an in-memory dataset")
    reference = reference_set(info, model, "test")
    extractor = get_extractor(default_extractor(source))

    def evaluator(m: GANModel) -> dict[str, float]:
        extractor.to(m.device)
        result = evaluate_model(m, info, config.eval_metrics, n=config.eval_n, extractor=extractor, reference=reference)
        return result["metrics"]

    return evaluator
