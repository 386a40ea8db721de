"""What several commands share: option types that validate, the wearer's settings options, and
the one error for a command line that cannot work (exit status 2, like argparse's own)."""

from __future__ import annotations

import argparse
import os
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
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if v != v or (lo is not None and (v <= lo if lo_open else v < lo)) or \
                (hi is not None and v > hi):
            rng = (f"> {lo}" if lo_open else f">= {lo}") if hi is None else \
                (f"{lo} to {hi}" if not lo_open else f"> {lo} and <= {hi}")
            raise argparse.ArgumentTypeError(f"must be {rng}, got {text}")
        return v

    parse.__name__ = kind.__name__
    return parse


POSITIVE = number(float, 0.0, lo_open=True)


def out_file(text: str) -> Path:
    """An output file: its folder must exist and be writable, and it must not be a folder."""
    p = Path(text)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{p} is a folder; give a file name in it")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write in {parent} (permission denied)")
    return p


def out_dir(text: str) -> Path:
    """An output folder: created if missing (its parent must exist); never an existing file."""
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"{p} is a file, not a folder")
    parent = p.parent if str(p.parent) else Path(".")
    if not p.exists() and not parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {parent} does not exist; create it first")
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
    p.add_argument("--store", type=Path, metavar="FILE", help=STORE_HELP)
