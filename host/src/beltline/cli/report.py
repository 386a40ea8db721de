"""``beltline report`` and ``beltline trends``: HTML for a physiotherapist."""

from __future__ import annotations

import argparse
from pathlib import Path

from beltline.cli.common import add, input_options, out_file, store_option
from beltline.errors import BeltlineError


def report_source(text: str) -> str:
    """A session id (>= 1), an export folder (with its session.json) or a raw CSV file."""
    p = Path(text)
    if text.isdigit():
        if int(text) < 1:
            raise argparse.ArgumentTypeError(f"session ids start at 1, got {text}")
        return text
    if p.is_dir():
        if not (p / "session.json").is_file():
            raise argparse.ArgumentTypeError(
                f"{p} is a folder but not a Beltline export (no session.json in it); give a "
                "session id, an export folder or a raw CSV")
        return text
    if not p.exists():
        raise argparse.ArgumentTypeError(
            f"{p} not found; give a session id (see `beltline sessions`), an export folder or "
            "a raw CSV")
    return text

REPORT_MANUAL = """\
Write one session as a single HTML file that opens offline, readable by you only (0600).

First a plain-language summary ("In 38.2 min of walking, standing on the right leg your
pelvis dropped on the left side by more than 6.5° in 41.0% of stances, mostly after walking
minute 20."; a healthy walk is told it stayed within the normal range), then the session's
measures (every number of the summary, labelled), the table per stance leg, the episodes,
obliquity and tilt over time with episodes shaded, the drop per stance as one box per leg,
the drop over the walk (one-minute means; a gradual trend is a Theil-Sen slope with its 95 %
interval, a sudden change is called a step, steady is steady), cadence and the standing tilt
distribution. The left/right difference of the drop is given with its interval and not judged:
no published normal band for it is known for one belt sensor.

SOURCE is a session id in the store, a folder written by `beltline export`, or a raw CSV
(analysed first, as `beltline analyze` does).

A test session (`beltline test trendelenburg`) reports per stance leg the swing side's drop
(mean, peak), the time to the first held drop, the hold, the sway and the verdict in words
with the threshold and its source; an exercise session (`beltline exercise NAME`) the set's
summary with its limits and the per-rep table with flags and reasons.

Examples:
  beltline report 3 --out walk-3.html
  beltline report walk.csv --out walk.html
"""

TRENDS_MANUAL = """\
The key measures of every session in the store (the mean drop in each stance leg, their
left/right difference, episodes per walking hour, standing tilt, cadence), per session (at its
start time: two sessions of one day are two points) and per week, as a Plotly HTML page; with
--csv also the weekly table, with readable headers and values rounded to 0.01.

Example:
  beltline trends --out trends.html --csv trends.csv
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add(sub, "report", "one session as a self-contained HTML report", REPORT_MANUAL,
            report)
    p.add_argument("source", type=report_source, metavar="SESSION|EXPORT_DIR|RAW.csv",
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
    from beltline.analysis import exercise_report as xr
    from beltline.analysis import report as rep
    from beltline.analysis import trends as tr
    from beltline.pipeline.exercise_settings import ExerciseSettings
    from beltline.sessions.finish import open_store

    rows: list[dict[str, object]] = []
    tests: list[dict[str, object]] = []
    sets: list[dict[str, object]] = []
    threshold = ExerciseSettings().test_drop_deg
    with open_store(args.store) as store:
        for s in store.sessions():
            doc = store.results(s.id) if s.kind != "walk" else None
            if doc is None:
                rows.append(tr.session_row(analysis.load_store(store, s.id), s.started_unix,
                                           s.id))
                continue
            (tests if s.kind == "test" else sets).append(
                xr.trend_rows(s.kind, doc, s.started_unix, s.id))
            if s.kind == "test" and isinstance(doc.get("threshold_deg"), (int, float)):
                threshold = float(doc["threshold_deg"])  # type: ignore[arg-type]
    if not rows and not tests and not sets:
        raise BeltlineError("no sessions in the store yet: record or import some first")
    page, weekly = tr.trends(pd.DataFrame(rows), xr.trend_sections(tests, sets, threshold))
    rep.write(args.out, page)
    if args.csv:
        from beltline import privacy

        # whole or not at all (a full disk leaves no half table)
        privacy.write_text(args.csv, weekly.to_csv(index=False, lineterminator="\n"))
        logging.getLogger("beltline").info("wrote %s", args.csv)


def report(args: argparse.Namespace) -> None:
    from beltline import analysis
    from beltline.analysis import report as rep
    from beltline.pipeline import settings
    from beltline.sessions import analyze, rawcsv
    from beltline.sessions.finish import open_store

    src = args.source
    if src.isdigit():
        with open_store(args.store) as store:
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
