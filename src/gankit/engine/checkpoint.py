"""Checkpoints: weights in safetensors, everything else in JSON, committed atomically.

A checkpoint is a folder `checkpoints/step-XXXXXXXX/` holding `model.safetensors`,
`state.safetensors` (optimizer moments, RNG states) and `state.json` (their structure and
all non-tensor values). It is written under a temporary name and renamed into place; the
file `checkpoints/latest` is then replaced atomically and is the commit point, so a write
killed at any moment leaves the previous checkpoint intact and loadable. Nothing is ever
unpickled on load. `state.json` also holds a SHA-256 of each weights file (a flipped bit is
refused, not trained on) and the model name and config the checkpoint was made with.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gankit.errors import GankitError, NonFiniteWeightsError
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def non_finite(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors that hold NaN or infinity."""
    return [k for k, v in tensors.items() if torch.is_floating_point(v) and not bool(torch.isfinite(v).all())]


def save_checkpoint(run_dir: Path, step: int, model_state: dict[str, torch.Tensor], train_state: dict[str, Any],
                    meta: dict[str, Any] | None = None) -> Path:
    """Write and commit a checkpoint; `meta` (model name, config) goes into state.json beside the structure.
    Weights with NaN or infinity are refused: a checkpoint is committed only when it is worth resuming."""
    bad = non_finite(model_state)
    if bad:
        raise NonFiniteWeightsError(f"{len(bad)} weight tensor(s) hold NaN or infinity (first: {bad[0]})")
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    tmp = root / f".tmp-{name}-{os.getpid()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        save_file({k: v.detach().cpu().contiguous().clone() for k, v in model_state.items()}, str(tmp / MODEL_FILE))
        tensors: dict[str, torch.Tensor] = {}
        structure = flatten_state(train_state, tensors)
        save_file(tensors, str(tmp / STATE_TENSORS))
        document = {"format": 2, **(meta or {}), "sha256": {f: _sha256(tmp / f) for f in (MODEL_FILE, STATE_TENSORS)},
                    "state": structure}
        atomic_write_text(tmp / STATE_JSON, json.dumps(document))
        final = root / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        atomic_write_text(root / LATEST, name)  # the commit point
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        previous = latest_checkpoint(run_dir)
        kept = f"the previous checkpoint {previous.name} is kept" if previous else "no earlier checkpoint exists"
        what = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else str(exc)
        raise GankitError(f"could not write checkpoint {name} in {root}: {what}; its temporary files were removed "
                          f"and {kept}") from None
    for old in sorted(p for p in root.glob("step-*") if p.is_dir())[:-KEEP]:
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return final


def remove_temporary(run_dir: str | os.PathLike) -> list[Path]:
    """Delete what a killed write left behind (`.tmp-step-*` folders, `.NAME.PID.tmp` files). Call it only
    while holding the run's lock: no other process is then writing these."""
    run_dir = Path(run_dir)
    root = run_dir / "checkpoints"
    stale = [*root.glob(".tmp-step-*"), *root.glob(".*.tmp"), *run_dir.glob(".*.tmp")]
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


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


def _damaged(ckpt: Path, why: Any) -> GankitError:
    return GankitError(f"checkpoint {ckpt} is damaged ({why}); delete it to fall back to an earlier one")


def read_document(ckpt: Path) -> dict[str, Any]:
    """state.json as {"state": structure, "sha256": {...}, "model": ..., ...}; checkpoints written before
    checksums existed hold the bare structure."""
    try:
        document = json.loads((ckpt / STATE_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: bad JSON and bytes that are not UTF-8
        raise _damaged(ckpt, exc) from None
    if isinstance(document, dict) and document.get("format") == 2:
        return document
    return {"state": document}


def _load_verified(ckpt: Path, file: str, document: dict[str, Any]) -> dict[str, torch.Tensor]:
    expected = document.get("sha256", {}).get(file)
    try:
        if expected is not None and _sha256(ckpt / file) != expected:
            raise _damaged(ckpt, f"{file} does not match the checksum in {STATE_JSON}")
        return load_file(str(ckpt / file))
    except (SafetensorError, OSError) as exc:
        raise _damaged(ckpt, exc) from None


def load_model_state(ckpt: Path) -> dict[str, torch.Tensor]:
    return _load_verified(ckpt, MODEL_FILE, read_document(ckpt))


def load_train_state(ckpt: Path) -> dict[str, Any]:
    document = read_document(ckpt)
    tensors = _load_verified(ckpt, STATE_TENSORS, document)
    try:
        state = unflatten_state(document["state"], tensors)
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(ckpt, f"{STATE_JSON} does not match {STATE_TENSORS}: {exc!r}") from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise _damaged(ckpt, f"{STATE_JSON} holds no training step")
    return state
