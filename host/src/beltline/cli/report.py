"""``beltline report`` and ``beltline trends``: HTML for a physiotherapist."""

from __future__ import annotations

import argparse
from pathlib import Path

from beltline.cli.common import add, input_options, out_file, store_option
from beltline.errors import BeltlineError

REPORT_MANUAL = """\
Write one session as a single HTML file that opens offline: a plain-language summary first
("In 38 min of walking your pelvis dropped more than 6.5° on the left side in 41% of
right-leg steps, mostly after minute 20"), the per-stance-leg table, the episodes, obliquity
and tilt over time with episodes shaded, the drop per stance by leg, a fatigue trend (drop
against minutes of walking, with its slope and standard error), cadence and the standing tilt
distribution. SOURCE is a session id in the store, a folder written by `beltline export`, or
a raw CSV (analysed first, as `beltline analyze` does).

Examples:
  beltline report 3 --out walk-3.html
  beltline report walk.csv --out walk.html
"""

TRENDS_MANUAL = """\
The key measures of every session in the store (drop in each stance, episodes per walking
hour, standing tilt, symmetry, cadence), per session and per week, as a Plotly HTML page; with
--csv also the weekly table.

Example:
  beltline trends --out trends.html --csv trends.csv
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add(sub, "report", "one session as a self-contained HTML report", REPORT_MANUAL,
            report)
    p.add_argument("source", metavar="SESSION|EXPORT_DIR|RAW.csv",
                   help="a session id in the store, an export folder or a raw CSV")
    p.add_argument("--out", type=out_file, required=True, metavar="report.html")
    store_option(p)
    input_options(p)
    p = add(sub, "trends", "key measures across sessions and weeks (HTML, CSV)", TRENDS_MANUAL,
            trends)
    p.add_argument("--out", type=out_file, required=True, metavar="trends.html")
    p.add_argument("--csv", type=out_file, metavar="trends.csv",
                   help="also write the weekly table")
    store_option(p)


def trends(args: argparse.Namespace) -> None:
    import logging

    import pandas as pd

    from beltline import analysis
    from beltline.analysis import report as rep
    from beltline.analysis import trends as tr
    from beltline.sessions.store import Store

    with Store(args.store) as store:
        rows = [tr.session_row(analysis.load_store(store, s.id), s.started_unix, s.id)
                for s in store.sessions()]
    if not rows:
        raise BeltlineError("no sessions in the store yet: record or import some first")
    page, weekly = tr.trends(pd.DataFrame(rows))
    rep.write(args.out, page)
    if args.csv:
        weekly.to_csv(args.csv, index=False)
        logging.getLogger("beltline").info("wrote %s", args.csv)


def report(args: argparse.Namespace) -> None:
    from beltline import analysis
    from beltline.analysis import report as rep
    from beltline.pipeline import settings
    from beltline.sessions import analyze, rawcsv
    from beltline.sessions.store import Store

    src = args.source
    if src.isdigit():
        with Store(args.store) as store:
            session = analysis.load_store(store, int(src))
        title = f"Beltline session {src}"
    elif Path(src).is_dir():
        session = analysis.load_export(src)
        title = f"Beltline session {Path(src).name}"
    else:
        cfg = settings.load(args.settings, args.set)
        raw = rawcsv.read(Path(src), args.acc_unit, args.gyro_unit, args.rate)
        session = analysis.from_result(analyze.run(raw, cfg))
        title = f"Beltline: {Path(src).name}"
    rep.write(args.out, rep.build(session, title))
