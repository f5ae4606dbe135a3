"""Worker processes for the benchmarks that train several runs at once (quality.py --jobs, techniques.py)."""

from __future__ import annotations

import ctypes
import multiprocessing
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> None:
    # A worker outlives a killed parent otherwise and goes on training into a deleted folder, taking a core.
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """`jobs` spawned processes (a fresh torch in each) that are killed when this process dies."""
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_die_with_parent)
