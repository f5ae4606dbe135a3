"""Atomic file writes: a reader sees the old file or the new one, never half of either.

The bytes go to a temporary file beside the target, are flushed to disk, and replace the target
in one rename; a write killed at any moment leaves the previous file intact. `offline()` is the
one reading of GANKIT_OFFLINE for code that would otherwise download a file.
"""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk or a kill leaves no stray temporary file
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def offline() -> bool:
    """GANKIT_OFFLINE set (to anything but 0): code that would download a file must say how to supply it instead."""
    return os.environ.get("GANKIT_OFFLINE", "") not in ("", "0")
