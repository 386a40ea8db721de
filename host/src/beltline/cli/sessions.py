"""``beltline sessions``, ``export`` and ``import``: the session store on this machine."""

from __future__ import annotations

import argparse
import datetime
import logging
from pathlib import Path

from beltline.cli.common import add, input_options, out_dir, store_option

log = logging.getLogger("beltline")

SESSIONS_MANUAL = """\
List the sessions in the store: id, start time, source, length, samples and episodes.
The store is one SQLite file in your user data folder (override with --store or the
BELTLINE_HOME environment variable); your data never leave this machine.

Example:
  beltline sessions
"""

EXPORT_MANUAL = """\
Write one session into a folder: samples.csv (t_s,obliquity_deg,tilt_deg,activity),
steps.csv (t_s,side,drop_deg,tilt_deg,range_deg,cadence_spm: heel strike, striking foot,
swing side's peak drop in the stance that follows, mean tilt, obliquity range over the stride,
cadence), episodes.csv (kind,side,start_s,end_s,peak_deg,
mean_deg,activity,steps) and session.json (device, firmware, calibration, settings, gaps).

With --parquet the three tables are Parquet files instead (every row carrying the session
id and start time), for querying many sessions with DuckDB (README).

Examples:
  beltline export 3 --out walk-3/
  beltline export 3 --out exports/session-3 --parquet
"""

IMPORT_MANUAL = """\
Read a session into the store: either an export folder (as written by `beltline export`) or
a raw IMU CSV (t_s,ax,ay,az,gx,gy,gz), which is analysed first, exactly as `beltline analyze`
does. Prints the new session's id.

Examples:
  beltline import walk-3/
  beltline import recording.csv --gyro-unit deg/s
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add(sub, "sessions", "list the recorded sessions", SESSIONS_MANUAL, list_sessions)
    store_option(p)
    p = add(sub, "export", "write a session as CSV files and session.json", EXPORT_MANUAL,
            export)
    p.add_argument("session", type=int, metavar="SESSION", help="session id (see sessions)")
    p.add_argument("--out", type=out_dir, required=True, metavar="DIR", help="output folder")
    store_option(p)
    p.add_argument("--parquet", action="store_true",
                   help="write samples/steps/episodes as Parquet (for DuckDB over many)")
    p = add(sub, "import", "read an export folder or a raw CSV as a session", IMPORT_MANUAL,
            import_)
    p.add_argument("path", type=Path, metavar="PATH", help="export folder or raw CSV file")
    store_option(p)
    input_options(p)


def list_sessions(args: argparse.Namespace) -> None:
    from beltline.sessions.store import Store

    with Store(args.store) as store:
        rows = store.sessions()
        if not rows:
            log.info("no sessions yet in %s", store.path)
        for s in rows:
            when = datetime.datetime.fromtimestamp(s.started_unix).strftime("%Y-%m-%d %H:%M")
            state = "" if s.ended_unix else "  (not closed: recording or interrupted)"
            print(f"{s.id:>4}  {when}  {s.source:<8} {s.seconds / 60:6.1f} min  "
                  f"{s.samples:>8} samples  {s.episodes:>3} episodes  {s.name}{state}")


def export(args: argparse.Namespace) -> None:
    from beltline.sessions import exchange
    from beltline.sessions.store import Store

    with Store(args.store) as store:
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
    from beltline.sessions.store import Store

    with Store(args.store) as store:
        if args.path.is_dir():
            sid = exchange.import_export(store, args.path)
        else:
            cfg = settings.load(args.settings, args.set)
            sid = exchange.import_raw(store, args.path, cfg, args.acc_unit, args.gyro_unit,
                                     args.rate)
    print(sid)
    log.info("imported %s as session %d", args.path, sid)
