"""The binary frame the server sends over the WebSocket, and its decoder (for tests).

Layout: a little-endian uint32 n, then n bytes of UTF-8 JSON (`info` plus `arrays`: for each array its
name, shape and offset in float32 units), zero-padded to a multiple of 4, then every array's float32
values in C order. The page reads them with `new Float32Array(buffer, start + 4 * offset, size)`.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np
import torch


def encode_frame(frame: dict[str, Any]) -> bytes:
    """`frame` = {"arrays": {name: tensor}, "info": JSON-ready dict} -> bytes."""
    chunks, index, offset = [], [], 0
    for name, tensor in frame["arrays"].items():
        values = tensor.detach().to(torch.float32).contiguous().numpy()
        index.append({"name": name, "shape": list(values.shape), "offset": offset})
        chunks.append(values.tobytes())
        offset += values.size
    header = json.dumps(_finite({**frame["info"], "arrays": index}), allow_nan=False).encode()
    header += b" " * (-(len(header) + 4) % 4)  # the floats start 4-byte aligned
    return struct.pack("<I", len(header)) + header + b"".join(chunks)


def _finite(value: Any) -> Any:
    """NaN and infinities (a diverged run) as null: JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def decode_frame(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The inverse of `encode_frame`: (info, {name: float32 array})."""
    (n,) = struct.unpack_from("<I", data)
    info = json.loads(data[4:4 + n])
    body = np.frombuffer(data, dtype="<f4", offset=4 + n)
    arrays = {}
    for entry in info.pop("arrays"):
        size = int(np.prod(entry["shape"]))
        arrays[entry["name"]] = body[entry["offset"]:entry["offset"] + size].reshape(entry["shape"])
    return info, arrays
