"""What several commands share: option types that validate, the wearer's settings options, and
the one error for a command line that cannot work (exit status 2, like argparse's own)."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from beltline.errors import UsageError

__all__ = ["UsageError"]

FMT = argparse.RawDescriptionHelpFormatter
DEFAULT_BROAD = Path("../shared/data/broad")
DEFAULT_WALKERS = Path("../shared/data/lowerback-walks")
STORE_HELP = "the session store file (default: beltline.db in the user data folder)"

Command = Callable[[argparse.Namespace], int | None]


def add(sub: argparse._SubParsersAction, name: str, summary: str, manual: str,
        func: Command | None = None) -> argparse.ArgumentParser:
    """A subcommand with its one-line summary, its manual (``--help``) and its handler."""
    p = sub.add_parser(name, help=summary, description=manual, formatter_class=FMT)
    if func is not None:
        p.set_defaults(func=func)
    return p


def number(kind: type, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False) -> Callable[[str], float]:
    """An argparse type: ``kind`` (int or float) within [lo, hi] (``lo_open``: above lo)."""

    def parse(text: str) -> float:
        try:
            v = kind(text)
        except ValueError:
            word = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {word}, got {text!r}") from None
        if v != v or (lo is not None and (v <= lo if lo_open else v < lo)) or \
                (hi is not None and v > hi):
            rng = (f"> {lo}" if lo_open else f">= {lo}") if hi is None else \
                (f"{lo} to {hi}" if not lo_open else f"> {lo} and <= {hi}")
            raise argparse.ArgumentTypeError(f"must be {rng}, got {text}")
        return v

    parse.__name__ = kind.__name__
    return parse


POSITIVE = number(float, 0.0, lo_open=True)
SEED = number(int, 0)  # numpy's generators take seeds >= 0
SESSION_ID = number(int, 1)


def _why(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _can_create_in(folder: Path) -> str | None:
    """Why no file can be created in ``folder`` (None: it can). Tried for real: permissions,
    read-only mounts and pseudo file systems all answer (``os.access`` is True for root)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".beltline-probe-", dir=folder)
    except OSError as exc:
        return _why(exc)
    os.close(fd)
    os.unlink(probe)
    return None


def out_file(text: str) -> Path:
    """An output file: its folder must exist and take a new file, it must not be a folder,
    and an existing file must be writable. Checked before any work starts."""
    p = Path(text)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{p} is a folder; give a file name in it")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {parent} does not exist; create it first")
    if p.exists():
        try:
            with open(p, "ab"):
                pass
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot write {p}: {_why(exc)}") from None
        return p
    why = _can_create_in(parent)
    if why is not None:
        raise argparse.ArgumentTypeError(f"cannot write in {parent}: {why}")
    return p


def out_dir(text: str) -> Path:
    """An output folder: created if missing (its parent must exist); never an existing file;
    it (or its parent) must take new files."""
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"{p} is a file, not a folder")
    parent = p.parent if str(p.parent) else Path(".")
    if not p.exists() and not parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {parent} does not exist; create it first")
    target = p if p.exists() else parent
    why = _can_create_in(target)
    if why is not None:
        raise argparse.ArgumentTypeError(f"cannot write in {target}: {why}")
    return p


def store_file(text: str) -> Path:
    """The session store (an SQLite file): not a folder; an existing one must be readable (one
    the user cannot write opens read-only for review), a new one's folders writable."""
    p = Path(text).expanduser()
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{p} is a folder; the store is a file, e.g. "
                                         f"{p / 'beltline.db'}")
    if p.exists():
        try:
            with open(p, "rb"):
                pass
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot read the store {p}: {_why(exc)}") \
                from None
        return p
    q = p.parent
    while not q.exists() and q.parent != q:
        q = q.parent
    if not q.is_dir():
        raise argparse.ArgumentTypeError(f"cannot make the store {p}: {q} is a file")
    why = _can_create_in(q)
    if why is not None:
        raise argparse.ArgumentTypeError(f"cannot make the store {p} in {q}: {why}")
    return p


def in_path(text: str) -> Path:
    """An input that must exist (a file or a folder)."""
    p = Path(text)
    if not p.exists():
        raise argparse.ArgumentTypeError(f"{p} not found")
    return p


def in_file(text: str) -> Path:
    """An input file that must exist and be a file."""
    p = Path(text)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{p} is a folder, not a file")
    if not p.exists():
        raise argparse.ArgumentTypeError(f"{p} not found")
    return p


def settings_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--settings", type=in_file, metavar="FILE.toml",
                   help="the wearer's settings file (see README: Settings)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override one setting, e.g. --set hip_drop_deg=4 (repeatable)")


def input_options(p: argparse.ArgumentParser) -> None:
    """Units of a raw recording and the wearer's settings: the same for every command reading
    one."""
    p.add_argument("--acc-unit", choices=["m/s2", "g"], default=None,
                   help="accelerometer unit (default: the format's own, m/s2)")
    p.add_argument("--gyro-unit", choices=["rad/s", "deg/s"], default=None,
                   help="gyroscope unit (default: the format's own: rad/s for the common CSV "
                   "and Xsens exports, deg/s for mobgap/gaitmap columns)")
    p.add_argument("--rate", type=number(float, 10.0, 1000.0), default=None, metavar="HZ",
                   help="sample rate of a file whose time is a sample count (default: the "
                   "rate the file states, else 100)")
    settings_options(p)


def store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", type=store_file, metavar="FILE", help=STORE_HELP)
