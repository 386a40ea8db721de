"""Health data stay private on a shared machine: files Beltline writes with the wearer's data
(reports, exports, analysis outputs) are readable by their owner only (0600) and the folders it
creates for them are 0700, whatever the umask. Folders that already exist are left as they are
(an export into ~/Documents does not change ~/Documents)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path | str) -> Path:
    """``path`` as a folder, created 0700 (with any missing parents) if it does not exist."""
    p = Path(path)
    missing = []
    q = p
    while not q.exists():
        missing.append(q)
        if q.parent == q:
            break
        q = q.parent
    for d in reversed(missing):
        d.mkdir(mode=DIR_MODE)
        os.chmod(d, DIR_MODE)  # mkdir's mode is filtered by the umask
    return p


def private_file(path: Path | str) -> Path:
    """Create ``path`` empty (or truncate it) as a 0600 file; writing it afterwards with any
    library keeps that mode."""
    p = Path(path)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its old mode otherwise
    finally:
        os.close(fd)
    return p


def open_private(path: Path | str, mode: str = "w", **kw: Any) -> IO[Any]:
    """``open(path, mode)`` of a 0600 file (mode "w"/"wb")."""
    private_file(path)
    return open(path, mode, **kw)


def write_text(path: Path | str, text: str) -> Path:
    with open_private(path, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(path)


def write_bytes(path: Path | str, data: bytes) -> Path:
    with open_private(path, "wb") as f:
        f.write(data)
    return Path(path)
