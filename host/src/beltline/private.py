"""Files that hold a wearer's health data: created readable by their owner only.

Folders Beltline creates are 0700 and files 0600 (on POSIX; Windows keeps its own ACLs), so
other accounts on the machine cannot read a session. A file is never written through a
symbolic link: an export folder prepared by someone else cannot redirect it elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from beltline.errors import DataError

DIR_MODE = 0o700
FILE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def private_dir(path: Path, tighten: bool = False) -> Path:
    """``path`` as a folder, created 0700 if missing (its parents as the system makes them).
    ``tighten``: also take group/other permissions away from an existing folder (Beltline's
    own data folder; never a folder the user chose)."""
    path = Path(path)
    if not path.exists():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(path, DIR_MODE)  # mkdir's mode is reduced by the umask, never widened
    elif not path.is_dir():
        raise DataError(f"{path} is a file, not a folder")
    elif tighten and os.name == "posix" and path.stat().st_mode & 0o077:
        os.chmod(path, DIR_MODE)
    return path


def open_private(path: Path, mode: str = "w") -> IO[str]:
    """A text file (``"w"``) or binary file (``"wb"``) opened for writing, 0600, truncated;
    refuses to follow a symbolic link."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, FILE_MODE)
    except OSError as exc:
        if path.is_symlink():
            raise DataError(f"{path} is a symbolic link; refusing to write through it") from exc
        raise DataError(f"cannot write {path}: {exc.strerror}") from exc
    if os.name == "posix":
        os.fchmod(fd, FILE_MODE)  # a file that existed keeps its old mode otherwise
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding="utf-8", newline="")


def make_private(path: Path) -> None:
    """Take group/other permissions away from a file Beltline made (e.g. by a library)."""
    if os.name == "posix" and not Path(path).is_symlink():
        os.chmod(path, FILE_MODE)
