"""The ``beltline`` command: one subcommand per module of this package, each with its manual
beside its parser (``register``) and its handler set with ``set_defaults(func=...)``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from types import ModuleType

from beltline import __version__
from beltline.cli.common import FMT
from beltline.errors import BeltlineError, UsageError

log = logging.getLogger("beltline")

MANUAL = """\
Beltline: the ruler through your belt loops, in hardware.

A belt-clipped IMU measures pelvic obliquity (roll) and tilt (pitch) while you walk and stand.
This command is the host side: live monitoring (`monitor`), walks without the host
(`sync`), analysis of recordings (`analyze`),
the session store (`sessions`, `export`, `import`, `reanalyze`, `delete`), reports for a
physiotherapist (`report`, `trends`), the belt unit (`device`, `scan`), the virtual wearer
(`simulate`) and benchmarks (`bench`). Run `beltline COMMAND --help` for each command's manual.

Exit status: 0 done, 1 a runtime error (a bad file, a unit that cannot be reached), 2 a
command line that cannot work (said before any work starts), 130 interrupted.
"""

# the order of ``beltline --help``: what a wearer runs first, benchmarks last
COMMAND_MODULES = ("monitor", "sync", "analyze", "sessions", "report", "simulate", "device",
                   "exercise", "bench")
# which module registers each command: a command line that names one imports and builds only
# that module (some import the simulator's scenario tables for their choices, ~0.4 s, others
# asyncio or sqlite3, that `beltline analyze` should not pay); tests check this table against
# the registration (``GROUP_OF``, ``COMMANDS``: the same as modules)
GROUP_NAMES = {"monitor": "monitor", "scan": "monitor", "sync": "sync", "analyze": "analyze",
               "sessions": "sessions", "export": "sessions", "import": "sessions",
               "reanalyze": "sessions", "delete": "sessions", "report": "report",
               "trends": "report", "simulate": "simulate", "device": "device",
               "test": "exercise", "exercise": "exercise", "bench": "bench"}


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"beltline.cli.{name}")


def __getattr__(name: str) -> object:
    """``COMMANDS`` (the command modules in help order) and ``GROUP_OF`` (command -> module),
    imported only when asked for."""
    if name == "COMMANDS":
        return tuple(_module(m) for m in COMMAND_MODULES)
    if name == "GROUP_OF":
        return {c: _module(m) for c, m in GROUP_NAMES.items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or (``command``) only the group that defines that command."""
    parser = argparse.ArgumentParser(prog="beltline", description=MANUAL, formatter_class=FMT)
    parser.add_argument("--version", action="version", version=f"beltline {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    group = GROUP_NAMES.get(command or "")
    for name in COMMAND_MODULES:
        if group is None or name == group:
            _module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    first = next((w for w in words if not w.startswith("-")), None)
    parser = build_parser(first)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has explained
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        args.func(args)
    except UsageError as exc:
        log.error("%s", exc)
        return 2
    except BeltlineError as exc:
        log.error("%s", exc)
        return 1
    except OSError as exc:  # a disk that filled up, a folder that vanished mid-way
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        log.error("%s%s", exc.strerror or exc, where)
        return 1
    except Exception as exc:
        # the session store's errors; sqlite3 is imported only by the commands that use it
        sqlite3 = sys.modules.get("sqlite3")
        if sqlite3 is None or not isinstance(exc, sqlite3.Error):
            raise
        log.error("session store: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
