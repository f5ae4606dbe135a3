"""An exclusive lock on a run folder, held for the whole run.

Two processes writing one run interleave their rows in `log.jsonl` and overwrite each other's
checkpoints, so the second one is refused with one line naming the holder. The lock is the
file `lock` holding the owner's pid, locked with `fcntl.flock`: the kernel drops the lock when
its process dies, so a lock file left by a killed run (a stale lock of a dead pid) is simply
taken over. Where `fcntl` is missing (Windows) the file is created with O_EXCL and a lock of a
pid that no longer runs is taken over.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from gankit.errors import GankitError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:
        return False
    return True


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


class RunLock:
    """`with RunLock(run_dir):` holds the run for this process; a second holder gets a GankitError."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self._fd: int | None = None

    def _busy(self) -> GankitError:
        return GankitError(f"run {self.run_dir} is in use by {_holder(self.path)} (lock file {self.path}); wait for it "
                           "to finish or stop it first")

    def acquire(self) -> RunLock:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            return self._acquire_exclusive()
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise self._busy() from None
            # The holder may have removed the file between our open and our lock: then we locked a
            # file nobody else can see, so try again on the one that is there now.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def _acquire_exclusive(self) -> RunLock:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                pid = _holder(self.path).removeprefix("process ")
                if pid.isdigit() and not _alive(int(pid)):
                    self.path.unlink(missing_ok=True)  # stale: its process is gone
                    continue
                raise self._busy() from None
            os.write(fd, str(os.getpid()).encode())
            self._fd = fd
            return self
        raise self._busy()

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # removed while still locked: no one can take a half-released lock
        finally:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
