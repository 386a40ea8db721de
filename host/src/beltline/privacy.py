"""Health data stay private on a shared machine: files Beltline writes with the wearer's data
(the store, reports, exports, analysis outputs) are readable by their owner only (0600) and the
folders it creates for them are 0700, whatever the umask (on POSIX; Windows keeps its own
ACLs). Folders that already exist are left as they are (an export into ~/Documents does not
change ~/Documents), except Beltline's own data folder. A file is never written through a
symbolic link: an export folder prepared by someone else cannot redirect it elsewhere."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any, cast

from beltline.errors import DataError

FILE_MODE = 0o600
DIR_MODE = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def private_dir(path: Path | str, tighten: bool = False) -> Path:
    """``path`` as a folder, created 0700 (with any missing parents) if it does not exist.
    ``tighten``: also take group/other permissions away from an existing folder (Beltline's
    own data folder; never a folder the user chose)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise DataError(f"{p} is a file, not a folder")
    missing = []
    q = p
    while not q.exists():
        missing.append(q)
        if q.parent == q:
            break
        q = q.parent
    for d in reversed(missing):
        d.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(d, DIR_MODE)  # mkdir's mode is filtered by the umask
    if tighten and not missing and os.name == "posix" and p.stat().st_mode & 0o077:
        os.chmod(p, DIR_MODE)
    return p


def _open_fd(p: Path) -> int:
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, FILE_MODE)
    except OSError as exc:
        if p.is_symlink():
            raise DataError(f"{p} is a symbolic link; refusing to write through it") from exc
        raise DataError(f"cannot write {p}: {exc.strerror}") from exc
    if os.name == "posix":
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its old mode otherwise
    return fd


def private_file(path: Path | str) -> Path:
    """Create ``path`` empty (or truncate it) as a 0600 file; writing it afterwards with any
    library keeps that mode."""
    p = Path(path)
    os.close(_open_fd(p))
    return p


def open_private(path: Path | str, mode: str = "w", shown: Path | str | None = None,
                 **kw: Any) -> IO[Any]:
    """A text (``"w"``: UTF-8, newline="" for the csv module unless given) or binary
    (``"wb"``) file opened for writing, 0600, truncated; never through a symbolic link. A
    write that fails (a full disk) raises ``DataError`` naming ``shown`` (default: the path):
    the OSError of a write names no file."""
    fd = _open_fd(Path(path))
    if "b" not in mode:
        kw.setdefault("encoding", "utf-8")
        kw.setdefault("newline", "")
    return cast(IO[Any], _Named(os.fdopen(fd, mode, **kw), Path(shown or path)))


class _Named:
    """A file object whose write, flush and close errors say which file."""

    def __init__(self, f: IO[Any], path: Path) -> None:
        self._f, self._path = f, path

    def _named(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._f, method)(*args)
        except OSError as exc:
            raise DataError(f"cannot write {self._path}: {exc.strerror or exc}") from None

    def write(self, data: Any) -> int:
        return int(self._named("write", data))

    def flush(self) -> None:
        self._named("flush")

    def close(self) -> None:
        self._named("close")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def __enter__(self) -> _Named:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def make_private(path: Path | str) -> None:
    """Take group/other permissions away from a file Beltline made (e.g. by a library)."""
    if os.name == "posix" and not Path(path).is_symlink():
        os.chmod(path, FILE_MODE)


def write_text(path: Path | str, text: str) -> Path:
    return _write_whole(path, text, "w", newline=None)


def write_bytes(path: Path | str, data: bytes) -> Path:
    return _write_whole(path, data, "wb")


def _write_whole(path: Path | str, data: str | bytes, mode: str, **kw: Any) -> Path:
    """A whole file, or none: a write that fails (a full disk) leaves no half file behind."""
    p = Path(path)
    try:
        with open_private(p, mode, **kw) as f:
            f.write(data)
    except DataError:
        if p.is_file() and not p.is_symlink():
            p.unlink()
        raise
    return p
