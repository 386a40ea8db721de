"""``beltline sessions``, ``export``, ``import``, ``reanalyze`` and ``delete``: the session
store on this machine."""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from beltline.cli.common import (
    SESSION_ID,
    add,
    in_path,
    input_options,
    out_dir,
    settings_options,
    store_option,
)
from beltline.errors import BeltlineError

if TYPE_CHECKING:
    from beltline.pipeline.settings import Settings

log = logging.getLogger("beltline")

SESSIONS_MANUAL = """\
List the sessions in the store: id, start time, source, length, raw samples and episodes.
The store is one SQLite file in your user data folder (override with --store or the
BELTLINE_HOME environment variable), readable by you only; your data never leave this
machine. Each session keeps every raw sample that arrived, so it can always be analysed again
(`beltline reanalyze`).

A session whose recorder stopped without closing it (a crash, a kill, a power cut) is found
and finished by the next command that opens the store: closed at the end of what it holds
(at most the last half second that arrived is lost) and analysed in full.

--json prints a JSON list instead, one object per session: id, started_unix, ended_unix,
duration_s (the raw record's span), raw_samples, samples, episodes, closed, final (the results
are the batch analysis of the complete raw record, not the live preview), analysed_unix,
source (live, sync or import), link (virtual, ble), name, device, firmware, note.

--repair also gives the final analysis to closed sessions that have only their live preview
(a final analysis that was interrupted) and says what it finished.

Examples:
  beltline sessions
  beltline sessions --json
  beltline sessions --repair
"""

EXPORT_MANUAL = """\
Write one session into a folder (created readable by you only: 0700, files 0600): samples.csv
(t_s,obliquity_deg,tilt_deg,activity), steps.csv (t_s,side,drop_deg,tilt_deg,range_deg,
cadence_spm: heel strike, striking foot, swing side's peak drop in the stance that follows,
mean tilt, obliquity range over the stride, cadence), episodes.csv (kind,side,start_s,end_s,
peak_deg,mean_deg,activity,steps; "hip_drop,right" = a hip drop in right-leg stance, the left
side drops), raw.csv (the raw record in the common import format
t_s,ax,ay,az,gx,gy,gz: s on the unit's own clock, m/s², rad/s) and session.json (device,
firmware, calibration, settings, gaps, the raw format, the unit's clock against the wall
clock, the row count of each file).

With --parquet the tables are Parquet files instead (every row carrying the session id and
start time), for querying many sessions with DuckDB (README). `beltline import` reads either.

Examples:
  beltline export 3 --out walk-3/
  beltline export 3 --out exports/session-3 --parquet
"""

IMPORT_MANUAL = """\
Read a session into the store: either an export folder (CSV or Parquet, as written by
`beltline export`) or a raw IMU CSV (t_s,ax,ay,az,gx,gy,gz), which is kept as the session's
raw record and analysed in full, exactly as `beltline analyze` does. Prints the new session's
id.

Every file and field is checked before anything is written, and the session is stored in one
transaction: a damaged or edited export is refused with one line naming the file, the line,
the field and the value, and the store stays exactly as it was.

Examples:
  beltline import walk-3/
  beltline import recording.csv --gyro-unit deg/s
"""

REANALYZE_MANUAL = """\
Analyse a session again from its raw record with the batch pipeline, replacing its steps,
episodes and per-sample results: with new settings from your physiotherapist, or after an
update of Beltline's algorithms. Without --settings/--set the session's own settings are
used; with them, they become the session's settings. Sessions recorded before Beltline kept
raw samples cannot be analysed again.

Examples:
  beltline reanalyze 3
  beltline reanalyze 3 --set hip_drop_deg=4
  beltline reanalyze 3 --settings wearer.toml
"""

DELETE_MANUAL = """\
Delete a session and everything it holds (raw record, results, calibration) from the store.
Its pages in the file are overwritten and the write-ahead log is emptied, so the data are
gone from the disk, not only from the list. Asks first when run in a terminal; --yes does not.

Example:
  beltline delete 3 --yes
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add(sub, "sessions", "list the recorded sessions", SESSIONS_MANUAL, list_sessions)
    store_option(p)
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--repair", action="store_true",
                   help="finish interrupted sessions and their final analyses")
    p = add(sub, "export", "write a session as CSV files, raw.csv and session.json",
            EXPORT_MANUAL, export)
    p.add_argument("session", type=SESSION_ID, metavar="SESSION", help="session id (see sessions)")
    p.add_argument("--out", type=out_dir, required=True, metavar="DIR", help="output folder")
    store_option(p)
    p.add_argument("--parquet", action="store_true",
                   help="write the tables as Parquet (for DuckDB over many)")
    p = add(sub, "import", "read an export folder or a raw CSV as a session", IMPORT_MANUAL,
            import_)
    p.add_argument("path", type=in_path, metavar="PATH", help="export folder or raw CSV file")
    store_option(p)
    input_options(p)
    p = add(sub, "reanalyze", "analyse a session again from its raw record", REANALYZE_MANUAL,
            reanalyze)
    p.add_argument("session", type=SESSION_ID, metavar="SESSION", help="session id (see sessions)")
    store_option(p)
    settings_options(p)
    p = add(sub, "delete", "delete a session from the store", DELETE_MANUAL, delete)
    p.add_argument("session", type=SESSION_ID, metavar="SESSION", help="session id (see sessions)")
    p.add_argument("--yes", action="store_true", help="do not ask")
    store_option(p)


def list_sessions(args: argparse.Namespace) -> None:
    from beltline.sessions.finish import open_store, repair

    with open_store(args.store) as store:
        if args.repair:
            done = repair(store, refinish=True, progress=sys.stderr.isatty())
            for sid in done:
                log.info("finished session %d", sid)
            if not done:
                log.info("nothing to repair in %s", store.path)
        rows = store.sessions()
        if args.json:
            print(json.dumps([s.as_json() for s in rows], indent=1))
            return
        if not rows:
            log.info("no sessions yet in %s", store.path)
        for s in rows:
            when = datetime.datetime.fromtimestamp(s.started_unix).strftime("%Y-%m-%d %H:%M")
            state = "" if s.closed else "  (recording)"
            kind = "final" if s.final else "preview"
            print(f"{s.id:>4}  {when}  {s.kind:<8} {s.source:<6} {s.link:<7} "
                  f"{s.seconds / 60:6.1f} min  "
                  f"{s.raw_samples:>8} raw  {s.episodes:>3} episodes  {kind:<7} "
                  f"{s.name}{state}")


def export(args: argparse.Namespace) -> None:
    from beltline.sessions import exchange
    from beltline.sessions.finish import open_store

    with open_store(args.store) as store:
        if args.parquet:
            from beltline.analysis import parquet

            paths = parquet.export(store, args.session, args.out)
        else:
            paths = exchange.export(store, args.session, args.out)
    for p in paths:
        log.info("wrote %s", p)


def import_(args: argparse.Namespace) -> None:
    from beltline.pipeline import settings
    from beltline.sessions import exchange
    from beltline.sessions.finish import open_store

    if not args.path.exists():
        raise BeltlineError(f"{args.path} not found")
    with open_store(args.store) as store:
        if args.path.is_dir():
            sid = exchange.import_export(store, args.path)
        else:
            cfg = settings.load(args.settings, args.set)
            sid = exchange.import_raw(store, args.path, cfg, args.acc_unit, args.gyro_unit,
                                     args.rate)
    print(sid)
    log.info("imported %s as session %d", args.path, sid)


def reanalyze(args: argparse.Namespace) -> None:
    from beltline.sessions import finish
    from beltline.sessions.locks import SessionLock

    with finish.open_store(args.store) as store:
        info = store.session(args.session)
        cfg = _settings(finish.session_settings(store, info.id), args.settings, args.set)
        with SessionLock(store.path, info.id) as lock:
            if not info.closed and not lock.acquire():
                raise BeltlineError(f"session {info.id} is still being recorded; analyse it "
                                    "again once it has ended")
            done = finish.finalise(store, info.id, cfg, progress=sys.stderr.isatty())
    print(json.dumps({"id": done.sid, "raw_samples": done.raw_samples,
                      "samples": done.samples, "steps": done.steps,
                      "episodes": done.episodes, "note": done.note,
                      "seconds": round(done.seconds, 2)}))


def _settings(base: Settings, path: Path | None, sets: list[str]) -> Settings:
    """The session's own settings, then the file's, then each --set."""
    import tomllib

    from beltline.errors import DataError
    from beltline.pipeline.settings import with_overrides

    cfg = base
    if path is not None:
        try:
            cfg = with_overrides(cfg, tomllib.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"settings file {path} cannot be read ({exc})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise DataError(f"settings file {path} is not valid TOML: {exc}") from exc
    pairs: dict[str, object] = {}
    for item in sets:
        if "=" not in item:
            raise DataError(f"--set expects NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        pairs[k.strip()] = v.strip()
    return with_overrides(cfg, pairs)


def delete(args: argparse.Namespace) -> None:
    from beltline.sessions.finish import open_store
    from beltline.sessions.locks import SessionLock

    with open_store(args.store) as store:
        info = store.session(args.session)
        if not args.yes and sys.stdin.isatty():
            answer = input(f"delete session {info.id} ({info.name or info.source}, "
                           f"{info.seconds / 60:.1f} min, {info.raw_samples} raw samples)? "
                           "[y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                log.info("nothing deleted")
                return
        with SessionLock(store.path, info.id) as lock:
            if not info.closed and not lock.acquire():
                raise BeltlineError(f"session {info.id} is being recorded; stop it first")
            store.delete_session(info.id)
    log.info("deleted session %d", args.session)
