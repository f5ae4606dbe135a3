"""Checkpoints: weights in safetensors, everything else in JSON, committed atomically.

A checkpoint is a folder `checkpoints/step-XXXXXXXX/` holding `model.safetensors`,
`state.safetensors` (optimizer moments, RNG states) and `state.json` (their structure and
all non-tensor values). It is written under a temporary name and renamed into place; the
file `checkpoints/latest` is then replaced atomically and is the commit point, so a write
killed at any moment leaves the previous checkpoint intact and loadable. Nothing is ever
unpickled on load.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gankit.errors import GankitError
from gankit.fileio import atomic_write_text

MODEL_FILE, STATE_TENSORS, STATE_JSON, LATEST = "model.safetensors", "state.safetensors", "state.json", "latest"
KEEP = 2  # checkpoints kept on disk; older ones are pruned after each commit


def flatten_state(obj: Any, tensors: dict[str, torch.Tensor], prefix: str = "s") -> Any:
    """Replace tensors (and numpy arrays) in a nested structure by references into `tensors`."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": prefix}
    if isinstance(obj, np.ndarray):
        tensors[prefix] = torch.from_numpy(np.ascontiguousarray(obj)).clone()
        return {"__ndarray__": prefix}
    if isinstance(obj, dict):
        if not all(isinstance(k, (str, int)) for k in obj):
            raise TypeError(f"state keys must be str or int at {prefix}")
        return {"__dict__": [[k, flatten_state(v, tensors, f"{prefix}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [flatten_state(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [flatten_state(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix} in a checkpoint")


def unflatten_state(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [unflatten_state(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__ndarray__" in obj:
            return tensors[obj["__ndarray__"]].numpy()
        if "__tuple__" in obj:
            return tuple(unflatten_state(v, tensors) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {k: unflatten_state(v, tensors) for k, v in obj["__dict__"]}
    return obj


def save_checkpoint(run_dir: Path, step: int, model_state: dict[str, torch.Tensor], train_state: dict[str, Any]) -> Path:
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    tmp = root / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file({k: v.detach().cpu().contiguous().clone() for k, v in model_state.items()}, str(tmp / MODEL_FILE))
    tensors: dict[str, torch.Tensor] = {}
    structure = flatten_state(train_state, tensors)
    save_file(tensors, str(tmp / STATE_TENSORS))
    atomic_write_text(tmp / STATE_JSON, json.dumps(structure))
    final = root / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    atomic_write_text(root / LATEST, name)  # the commit point
    for old in sorted(p for p in root.glob("step-*") if p.is_dir())[:-KEEP]:
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _complete(path: Path) -> bool:
    return all((path / f).is_file() for f in (MODEL_FILE, STATE_TENSORS, STATE_JSON))


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The committed checkpoint of a run, or None when it has none yet."""
    root = Path(run_dir) / "checkpoints"
    pointer = root / LATEST
    if pointer.is_file():
        candidate = root / pointer.read_text().strip()
        if _complete(candidate):
            return candidate
    # No readable pointer (e.g. copied by hand): the newest complete folder.
    done = [p for p in sorted(root.glob("step-*")) if p.is_dir() and _complete(p)]
    return done[-1] if done else None


def load_model_state(ckpt: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(ckpt / MODEL_FILE))
    except (SafetensorError, OSError) as exc:
        raise GankitError(f"checkpoint {ckpt} is damaged ({exc}); delete it to fall back to an earlier one") from None


def load_train_state(ckpt: Path) -> dict[str, Any]:
    try:
        tensors = load_file(str(ckpt / STATE_TENSORS))
        structure = json.loads((ckpt / STATE_JSON).read_text())
    except (SafetensorError, OSError, json.JSONDecodeError) as exc:
        raise GankitError(f"checkpoint {ckpt} is damaged ({exc}); delete it to fall back to an earlier one") from None
    return unflatten_state(structure, tensors)
