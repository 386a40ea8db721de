"""``beltline test trendelenburg`` and ``beltline exercise NAME``: the single-leg stance test
and the hip-abductor exercises, from a recording or on the virtual wearer."""

from __future__ import annotations

import argparse
import csv
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from beltline.cli.common import (
    POSITIVE,
    add,
    in_file,
    number,
    out_file,
    store_option,
)

if TYPE_CHECKING:
    import numpy as np

    from beltline.dashboard.server import Server
    from beltline.guide import Step
    from beltline.link.base import Link
    from beltline.pipeline.exercise_settings import ExerciseSettings
    from beltline.pipeline.settings import Settings
    from beltline.sessions.live import LiveSession

log = logging.getLogger("beltline")

EXERCISES = ("standing_abduction", "side_lying_leg_lift", "clamshell", "glute_bridge",
             "hip_airplane")

TEST_MANUAL = """\
The single-leg stance (Trendelenburg) test: does the pelvis stay level on one leg?

Protocol (Hardcastle & Nade 1985, JBJS-B 67:741): stand still on both feet (at least 5 s),
then stand on one leg with the other foot lifted (knee bent) for 30 s, back on both feet,
then the other leg for 30 s; either leg first. The unit measures, per STANCE leg, the swing
side's drop below level (the neutral standing): its mean over the hold, its peak (0.5 s),
the time to the first drop held beyond the threshold, the hold time (lift to the foot first
coming down) and the sway. A leg is positive when the drop stays beyond the threshold
(4.5 deg, ~2 cm across the pelvis; --set test_drop_deg=...) for test_dwell_s, negative when
the pelvis stays level for the hold (30 s, 5 s tolerance), incomplete when the foot came
down too early or no stance on that leg was found.

--from RAW.csv analyses a recording (t_s,ax,ay,az,gx,gy,gz; s, m/s^2 with gravity, rad/s;
50-1000 Hz); --out RESULT.json writes
  {"legs": {"left": {"drop_deg", "peak_drop_deg", "hold_s", "verdict", "time_to_drop_s",
   "sway_deg", "start_s", "end_s", "touchdowns", "words"}, "right": {...}},
   "threshold_deg", "dwell_s", "hold_required_s", "hold_tolerance_s", "threshold_source",
   "frame", "notes"}
(times in the file's own clock). Without a walk in the recording, left and right assume the
documented mounting (hardware/BOM.md: at the back of the belt, lid out); a log line says so.

Live (without --from): the guide runs in the terminal (stand still, countdown, lift the other
foot, hold 30 s, change), each line said as the belt unit's data of its moment arrive; once
the guide is over the result is printed in words and the session (kind test, with its raw
record) is kept. --address ADDR picks your unit (as `beltline scan` lists it); without it the
host scans and takes the one unit nearby, as `beltline monitor` does. --virtual runs the same
guide on the virtual belt unit (the firmware in MicroPython, its Bluetooth on Bumble, reached by
the same Bluetooth link) worn by the virtual wearer, who does what the guide says; --speed
runs it faster than real time. The result is the final analysis over the complete raw record.
--page also serves the live page (as `beltline monitor` does), showing the guide's step.

Examples:
  beltline test trendelenburg --from test.csv --out result.json
  beltline test trendelenburg --address F0:F1:F2:F3:F4:F5
  beltline test trendelenburg --virtual --drop-right 7 --speed 10
"""

EXERCISE_MANUAL = """\
An exercise set: reps counted from the pelvis's motion, each judged "keep the pelvis level".

NAME: standing_abduction, side_lying_leg_lift, clamshell, glute_bridge, hip_airplane.
The recording starts with at least 5 s of quiet standing (the neutral), then the set (lying
sets too: each rep is measured from its own start posture in that position).

--from RAW.csv --reps REPS.csv writes one row per rep:
  rep,start_s,end_s,side,flag,reason,obliquity_change_deg,tilt_change_deg,rotation_deg
  side      the working leg (the moving leg; the stance leg in the hip airplane; both for
            the bridge)
  flag      ok or compensated
  reason    hike, drop, tilt, rotation; several joined by "+" (e.g. hike+rotation)
  obliquity_change_deg  + = the working side rose (for "both": the left side), from the
            rep's start; tilt_change_deg + = anterior; rotation_deg the rotation's range
            (about the vertical standing, about the pelvis's long axis lying)
--summary SUMMARY.json writes the set's summary, the limits used and notes.
Limits per exercise (docs/exercise.md; --set clamshell_rotation_deg=8 or a TOML file
with [clamshell] rotation_deg = 8).

Live (without --from): stand still for 5 s, then do the set. Each rep is announced as it
settles ("rep 3 (left leg): ok", "rep 4 (left leg): compensated — the working side hiked
5.1°"), and with --set alert_mode=training the unit buzzes for a compensated rep (the host
writes BUZZ to it; in tracking mode it stays silent). Ctrl-C ends the set (or --reps-count N
reps); the set's summary is then printed and the session (kind exercise, its raw record and
the reps of the final analysis over it, as --from stores them) is kept. --address ADDR picks
your unit; without it the host scans and takes the one unit nearby, as `beltline monitor`
does. --virtual performs a random set (--seed, --reps-count) with the virtual wearer on the
virtual belt unit (the firmware in MicroPython, its Bluetooth on Bumble, reached by the same
Bluetooth link as a real unit); --speed runs it faster than real time. --page also serves
the live page (as `beltline monitor` does), showing the rep count and the last rep's verdict.

Examples:
  beltline exercise clamshell --from set.csv --reps reps.csv
  beltline exercise clamshell --address F0:F1:F2:F3:F4:F5 --set alert_mode=training
  beltline exercise glute_bridge --virtual --reps-count 8 --seed 3 --speed 5
"""


def register(sub: argparse._SubParsersAction) -> None:
    test = add(sub, "test", "clinical tests: trendelenburg (single-leg stance)",
               "Clinical tests with the belt unit. Run `beltline test trendelenburg --help`.")
    t = test.add_subparsers(dest="test", metavar="TEST", required=True)
    p = add(t, "trendelenburg", "single-leg stance test: swing-side drop per stance leg",
            TEST_MANUAL, run_test)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--from", dest="raw", type=in_file, metavar="RAW.csv",
                     help="analyse this recording")
    src.add_argument("--virtual", action="store_true",
                     help="guide the virtual wearer on the virtual belt unit")
    src.add_argument("--address", default=None, metavar="ADDR",
                     help="the belt unit's Bluetooth address, as `beltline scan` lists it")
    p.add_argument("--out", type=out_file, metavar="RESULT.json", help="write the result here")
    p.add_argument("--drop-left", type=number(float, -5.0, 15.0), default=None, metavar="DEG",
                   help="virtual: the swing side's drop standing on the left leg")
    p.add_argument("--drop-right", type=number(float, -5.0, 15.0), default=None, metavar="DEG",
                   help="virtual: the swing side's drop standing on the right leg")
    p.add_argument("--first", choices=["left", "right"], default="right",
                   help="virtual: the leg to stand on first (default: right)")
    _common(p)

    p = add(sub, "exercise", "an exercise set: reps, each judged for a level pelvis",
            EXERCISE_MANUAL, run_exercise)
    p.add_argument("name", choices=EXERCISES, metavar="NAME", help=", ".join(EXERCISES))
    src = p.add_mutually_exclusive_group()
    src.add_argument("--from", dest="raw", type=in_file, metavar="RAW.csv",
                     help="analyse this recording")
    src.add_argument("--virtual", action="store_true",
                     help="a set by the virtual wearer on the virtual belt unit")
    src.add_argument("--address", default=None, metavar="ADDR",
                     help="the belt unit's Bluetooth address, as `beltline scan` lists it")
    p.add_argument("--reps", type=out_file, metavar="REPS.csv", help="write the reps here")
    p.add_argument("--summary", type=out_file, metavar="SUMMARY.json",
                   help="write the set's summary here")
    p.add_argument("--reps-count", type=number(int, 1, 60), default=None, metavar="N",
                   help="virtual: how many reps (default: 6-15); with a unit: end the set "
                   "after this many")
    _common(p)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--acc-unit", choices=["m/s2", "g"], default="m/s2",
                   help="accelerometer unit in a raw CSV (default: m/s2)")
    p.add_argument("--gyro-unit", choices=["rad/s", "deg/s"], default="rad/s",
                   help="gyroscope unit in a raw CSV (default: rad/s)")
    p.add_argument("--settings", type=in_file, metavar="FILE.toml",
                   help="the wearer's test and exercise limits (docs/exercise.md)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override one limit, e.g. --set test_drop_deg=4, or alert_mode="
                   "training (live: the unit buzzes a compensated rep) (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="virtual wearer seed (default: 0)")
    p.add_argument("--speed", type=POSITIVE, default=1.0,
                   help="virtual: times real time (default: 1)")
    p.add_argument("--page", action="store_true",
                   help="live: also serve the live page (http://127.0.0.1:PORT/), showing "
                   "the guide's step or the rep count and the last rep's verdict")
    p.add_argument("--port", type=number(int, 0, 65535), default=8050,
                   help="the live page's port (default: 8050; 0: any free one)")
    p.add_argument("--no-walk", action="store_true",
                   help="do not look for a walk to find forward (use the documented mounting)")
    p.add_argument("--no-store", action="store_true",
                   help="do not keep the session in the store (by default it is kept, with "
                   "its raw record, for `beltline report`, `beltline trends` and the page)")
    p.add_argument("--name", dest="session_name", default="", metavar="TEXT",
                   help="the session's name in the store (default: the file's name)")
    store_option(p)


def _store(args: argparse.Namespace, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
           doc: dict[str, object]) -> None:
    """Keep the session (raw record and results) of a recording unless --no-store; after the
    result files are written, so a store that cannot be written loses none of them."""
    if args.no_store:
        return
    from beltline.errors import BeltlineError
    from beltline.sessions import exresults
    from beltline.sessions.finish import open_store

    name = args.session_name or Path(args.raw).name
    try:
        with open_store(args.store) as store:
            sid = exresults.store_recording(store, t, acc, gyr, doc, "import", name=name)
    except BeltlineError as exc:
        log.warning("the session was not stored: %s", exc)
        return
    log.info("stored as session %d (`beltline report %d --out report.html`)", sid, sid)


def _settings(args: argparse.Namespace) -> tuple[ExerciseSettings, Settings]:
    """The limits, and the walk settings a live session runs with (``--set alert_mode=...``):
    each ``--set`` goes to the settings that have its name."""
    from dataclasses import fields

    from beltline.pipeline import exercise_settings, settings

    walk_names = {f.name for f in fields(settings.Settings)}
    ours = [x for x in args.set if x.split("=", 1)[0].strip() not in walk_names]
    walk = [x for x in args.set if x.split("=", 1)[0].strip() in walk_names]
    return exercise_settings.load(args.settings, ours), settings.load(None, walk)


def _read(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from beltline.sessions import rawcsv

    raw = rawcsv.read(args.raw, args.acc_unit, args.gyro_unit)
    log.info("%s: %d samples, %.1f Hz, %.1f s", args.raw, len(raw.t), raw.rate_hz,
             raw.t[-1] - raw.t[0])
    return raw.t, raw.acc, raw.gyr


def _live(args: argparse.Namespace, link: Link, what: str, cfg: ExerciseSettings,
          walk: Settings, name: str, steps: list[Step] | None = None,
          origin_s: float | None = None, max_reps: int | None = None) -> dict[str, object]:
    """A test or a set over ``link`` (``sessions.liveset``): its lines printed as they come;
    the final analysis's document. --no-store records into a store that is then deleted."""
    import tempfile

    from beltline.sessions.finish import open_store
    from beltline.sessions.liveset import LiveSet

    with tempfile.TemporaryDirectory(prefix="beltline-live-") as tmp:
        store = Path(tmp) / "beltline.db" if args.no_store else args.store
        open_store(store).close()  # a session a killed run left open is finished first
        run = LiveSet(link, store, what, cfg, walk, name=args.session_name or name,
                      say=lambda line: print(line, flush=True), steps=steps,
                      guide_origin_s=origin_s, max_reps=max_reps, try_walk=not args.no_walk)
        if args.virtual:  # the virtual unit asks the host to judge the last reps first
            from beltline.sim.unit import VirtualBleLink

            assert isinstance(link, VirtualBleLink)
            link.before_end = run.wrap_up
        server = _page(args, run.live, store, walk) if args.page else None
        try:
            res = run.run()
        finally:
            if server is not None:
                server.stop()
    if walk.alert_mode == "training" and what != "trendelenburg":
        log.info("training mode: %d buzz(es) sent to the unit", res.buzzes_sent)
    if not args.no_store:
        log.info("stored as session %d (`beltline report %d --out report.html`)", res.sid,
                 res.sid)
    return res.doc


def _page(args: argparse.Namespace, live: LiveSession, store: Path | None,
          walk: Settings) -> Server:
    """The live page beside the terminal, on this machine only (``beltline monitor``'s)."""
    from beltline.dashboard import server

    server.check_port("127.0.0.1", args.port)
    page = server.Server(live, store, walk, "127.0.0.1", args.port).start()
    print(f"Live page: {page.url}", flush=True)
    server.open_browser(page.url)
    return page


def _unit_link(args: argparse.Namespace) -> tuple[Link, str]:
    """The belt unit nearby (scan, choose), as ``beltline monitor`` finds it."""
    from beltline.link import ble

    link = ble.nearby(args.address)
    return link, f"{link.name} {link.address}"


def run_test(args: argparse.Namespace) -> None:
    from beltline.pipeline import exercise_run

    cfg, walk = _settings(args)
    if args.raw is not None:
        t, acc, gyr = _read(args)
        res = exercise_run.trendelenburg_test(t, acc, gyr, cfg, try_walk=not args.no_walk)
        doc = res.as_dict()
    else:
        doc = _live_test(args, cfg, walk)
    legs: dict[str, dict[str, object]] = doc["legs"]  # type: ignore[assignment]
    for leg in ("left", "right"):
        said = str(legs[leg]["words"])
        print(said[:1].upper() + said[1:] + ".")
    print(f"(threshold {doc['threshold_deg']:.1f}°: {doc['threshold_source']})")
    if args.out:
        out = {k: v for k, v in doc.items()
               if k not in ("format", "test", "exercise_settings", "pending")}
        args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        log.info("wrote %s", args.out)
    if args.raw is not None:
        from beltline.sessions import exresults

        _store(args, t, acc, gyr, exresults.test_doc(res, cfg))


def _live_test(args: argparse.Namespace, cfg: ExerciseSettings,
               walk: Settings) -> dict[str, object]:
    """The guided test live: on the virtual unit, or the unit nearby."""
    from beltline.guide import schedule

    if not args.virtual:
        link, name = _unit_link(args)
        return _live(args, link, "trendelenburg", cfg, walk, f"trendelenburg test {name}",
                     steps=schedule(args.first))
    import numpy as np

    from beltline.sim.liveset import virtual_test

    rng = np.random.default_rng(args.seed)
    drops = {leg: d if d is not None else float(rng.uniform(0.0, 8.0))
             for leg, d in (("left", args.drop_left), ("right", args.drop_right))}
    vlink, steps, _ = virtual_test(args.first, drops, args.seed, args.speed, cfg)
    # the virtual wearer starts the guide when the unit powers on: its device second 0
    return _live(args, vlink, "trendelenburg", cfg, walk, "virtual trendelenburg test",
                 steps=steps, origin_s=0.0)


def run_exercise(args: argparse.Namespace) -> None:
    from beltline.exercise_records import REP_COLUMNS
    from beltline.pipeline import exercise_run
    from beltline.sessions import exresults

    cfg, walk = _settings(args)
    if args.raw is not None:
        t, acc, gyr = _read(args)
        res = exercise_run.exercise_set(t, acc, gyr, args.name, cfg, try_walk=not args.no_walk)
        for r in res.rows:
            print(f"rep {r.rep:>2}  {r.start_s:7.2f}-{r.end_s:7.2f} s  {r.side:<5} {r.flag:<11} "
                  f"obliquity {r.obliquity_change_deg:+5.1f}°  tilt {r.tilt_change_deg:+5.1f}°  "
                  f"rotation {r.rotation_deg:4.1f}°  {r.reason}")
        doc = exresults.exercise_doc(res, cfg)
    elif args.virtual:
        from beltline.sim.liveset import virtual_set

        vlink, rec = virtual_set(args.name, cfg, args.seed, args.reps_count, args.speed)
        log.info("virtual set: %s", rec.summary.words)
        doc = _live(args, vlink, args.name, cfg, walk, f"virtual {args.name}")
    else:
        link, name = _unit_link(args)
        doc = _live(args, link, args.name, cfg, walk, f"{args.name} {name}",
                    max_reps=args.reps_count)
    summary: dict[str, object] = doc["summary"]  # type: ignore[assignment]
    said = str(summary["words"])
    print(said[:1].upper() + said[1:] + ".")
    if args.reps:
        with Path(args.reps).open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(REP_COLUMNS)
            w.writerows(r.row() for r in exresults.reps(doc))
        log.info("wrote %d rep(s) to %s", len(exresults.reps(doc)), args.reps)
    if args.summary:
        out = {"summary": summary, "limits_deg": doc["limits_deg"], "frame": doc["frame"],
               "notes": doc["notes"]}
        Path(args.summary).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    if args.raw is not None:
        _store(args, t, acc, gyr, doc)
