"""Which sessions are being recorded right now: one lock file per recording.

A recorder holds an exclusive lock (``flock``; ``msvcrt.locking`` on Windows) on
``.<store>.session-<id>.lock`` beside the store for as long as it records. The operating
system drops the lock when the process dies, however it dies (SIGKILL, a crash, a power-off),
so a session that is not closed and whose lock can be taken has lost its recorder: the next
program that opens the store finishes it. ``flock`` locks belong to the open file, so a
second open in the same process (the dashboard's review, a repair) conflicts as well.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


def lock_path(store_path: Path, sid: int) -> Path:
    p = Path(store_path).resolve()
    return p.with_name(f".{p.name}.session-{sid}.lock")


class SessionLock:
    """The lock of session ``sid`` of the store at ``store_path``."""

    def __init__(self, store_path: Path, sid: int) -> None:
        self.path = lock_path(store_path, sid)
        self.sid = sid
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock without waiting: False if another recorder (or repair) holds it, or
        the folder cannot hold a lock file (a read-only store)."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return False
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:  # pragma: no cover - Windows
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go (and remove the file: a closed session needs no lock)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(fd)

    def __enter__(self) -> SessionLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
