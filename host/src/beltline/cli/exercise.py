"""``beltline test trendelenburg`` and ``beltline exercise NAME``: the single-leg stance test
and the hip-abductor exercises, from a recording or on the virtual wearer."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from beltline.cli.common import (
    POSITIVE,
    UsageError,
    add,
    in_file,
    number,
    out_file,
    store_option,
)

if TYPE_CHECKING:
    import numpy as np

    from beltline.pipeline.exercise_settings import ExerciseSettings

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
50-200 Hz); --out RESULT.json writes
  {"legs": {"left": {"drop_deg", "peak_drop_deg", "hold_s", "verdict", "time_to_drop_s",
   "sway_deg", "start_s", "end_s", "touchdowns", "words"}, "right": {...}},
   "threshold_deg", "dwell_s", "hold_required_s", "hold_tolerance_s", "threshold_source",
   "frame", "notes"}
(times in the file's own clock). Without a walk in the recording, left and right assume the
documented mounting (hardware/BOM.md: at the back of the belt, lid out); a log line says so.

--virtual guides you through the test in the terminal (stand still, countdown, lift the other
foot, hold 30 s, change) with the virtual wearer doing it, then prints the result in words.
With a belt unit the same guide will run live (not in this version).

Examples:
  beltline test trendelenburg --from test.csv --out result.json
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

--virtual performs a random set on the virtual wearer (--seed, --reps) and prints it.

Examples:
  beltline exercise clamshell --from set.csv --reps reps.csv
  beltline exercise glute_bridge --virtual --reps-count 8 --seed 3
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
                     help="guide the virtual wearer through the test in the terminal")
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
    src.add_argument("--virtual", action="store_true", help="a set by the virtual wearer")
    p.add_argument("--reps", type=out_file, metavar="REPS.csv", help="write the reps here")
    p.add_argument("--summary", type=out_file, metavar="SUMMARY.json",
                   help="write the set's summary here")
    p.add_argument("--reps-count", type=number(int, 1, 60), default=None, metavar="N",
                   help="virtual: how many reps (default: 6-15)")
    _common(p)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--acc-unit", choices=["m/s2", "g"], default="m/s2",
                   help="accelerometer unit in a raw CSV (default: m/s2)")
    p.add_argument("--gyro-unit", choices=["rad/s", "deg/s"], default="rad/s",
                   help="gyroscope unit in a raw CSV (default: rad/s)")
    p.add_argument("--settings", type=in_file, metavar="FILE.toml",
                   help="the wearer's test and exercise limits (docs/exercise.md)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override one limit, e.g. --set test_drop_deg=4 (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="virtual wearer seed (default: 0)")
    p.add_argument("--speed", type=POSITIVE, default=1.0,
                   help="virtual: times real time for the guide (default: 1)")
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
    """Keep the session (raw record and results) unless --no-store; after the result files
    are written, so a store that cannot be written loses none of them."""
    if args.no_store:
        return
    from beltline.errors import BeltlineError
    from beltline.sessions import exresults
    from beltline.sessions.finish import open_store

    source, link = ("live", "virtual") if args.virtual else ("import", "")
    what = getattr(args, "name", None) or "trendelenburg test"  # the exercise's NAME
    name = args.session_name or (Path(args.raw).name if args.raw is not None else
                                 f"virtual {what}")
    try:
        with open_store(args.store) as store:
            sid = exresults.store_recording(store, t, acc, gyr, doc, source, name=name,
                                            link=link)
    except BeltlineError as exc:
        log.warning("the session was not stored: %s", exc)
        return
    log.info("stored as session %d (`beltline report %d --out report.html`)", sid, sid)


def _settings(args: argparse.Namespace) -> ExerciseSettings:
    from beltline.pipeline import exercise_settings

    return exercise_settings.load(args.settings, args.set)


def _read(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from beltline.sessions import rawcsv

    raw = rawcsv.read(args.raw, args.acc_unit, args.gyro_unit)
    log.info("%s: %d samples, %.1f Hz, %.1f s", args.raw, len(raw.t), raw.rate_hz,
             raw.t[-1] - raw.t[0])
    return raw.t, raw.acc, raw.gyr


def run_test(args: argparse.Namespace) -> None:
    from beltline.pipeline import exercise_run

    cfg = _settings(args)
    if args.virtual:
        t, acc, gyr = _virtual_test(args, cfg)
    elif args.raw is not None:
        t, acc, gyr = _read(args)
    else:
        raise UsageError("give --from RAW.csv or --virtual (the live test with a belt unit is "
                         "not in this version)")
    res = exercise_run.trendelenburg_test(t, acc, gyr, cfg, try_walk=not args.no_walk)
    for leg in ("left", "right"):
        print(res.legs[leg].words[:1].upper() + res.legs[leg].words[1:] + ".")
    print(f"(threshold {res.threshold_deg:.1f}°: {res.threshold_source})")
    if args.out:
        args.out.write_text(json.dumps(res.as_dict(), indent=2) + "\n", encoding="utf-8")
        log.info("wrote %s", args.out)
    from beltline.sessions import exresults

    _store(args, t, acc, gyr, exresults.test_doc(res, cfg))


def _virtual_test(args: argparse.Namespace, cfg: ExerciseSettings) -> tuple[np.ndarray, np.ndarray,
                                                                         np.ndarray]:
    import numpy as np

    from beltline.guide import Guide, schedule
    from beltline.sim.trendelenburg import plan_from_guide, simulate_test

    rng = np.random.default_rng(args.seed)
    drops = {"left": args.drop_left if args.drop_left is not None else float(
        rng.uniform(0.0, 8.0)),
             "right": args.drop_right if args.drop_right is not None else float(
        rng.uniform(0.0, 8.0))}
    steps = schedule(args.first)
    guide = Guide(steps)
    plan = plan_from_guide(steps, drops, rng)
    start = time.monotonic()
    t_virtual = 0.0
    while t_virtual <= guide.seconds:
        for line in guide.at(t_virtual):
            print(line, flush=True)
        t_virtual += 0.25
        # pace the guide: the virtual wearer does what it says, at --speed times real time
        wait = start + t_virtual / args.speed - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    rec = simulate_test(plan, 100.0, seed=args.seed, settings=cfg)
    s = rec.samples
    return s.t, s.acc, s.gyr


def run_exercise(args: argparse.Namespace) -> None:
    from beltline.exercise_records import REP_COLUMNS
    from beltline.pipeline import exercise_run

    cfg = _settings(args)
    if args.virtual:
        import numpy as np

        from beltline.sim.exercises import random_plan, simulate_set

        plan = random_plan(args.name, np.random.default_rng(args.seed), cfg,
                           reps=args.reps_count)
        rec = simulate_set(plan, 100.0, seed=args.seed, settings=cfg)
        t, acc, gyr = rec.samples.t, rec.samples.acc, rec.samples.gyr
        log.info("virtual set: %s", rec.summary.words)
    elif args.raw is not None:
        t, acc, gyr = _read(args)
    else:
        raise UsageError("give --from RAW.csv or --virtual (a live set with a belt unit is not "
                         "in this version)")
    res = exercise_run.exercise_set(t, acc, gyr, args.name, cfg, try_walk=not args.no_walk)
    for r in res.rows:
        print(f"rep {r.rep:>2}  {r.start_s:7.2f}-{r.end_s:7.2f} s  {r.side:<5} {r.flag:<11} "
              f"obliquity {r.obliquity_change_deg:+5.1f}°  tilt {r.tilt_change_deg:+5.1f}°  "
              f"rotation {r.rotation_deg:4.1f}°  {r.reason}")
    print(res.summary.words[:1].upper() + res.summary.words[1:] + ".")
    if args.reps:
        with Path(args.reps).open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(REP_COLUMNS)
            w.writerows(r.row() for r in res.rows)
        log.info("wrote %d rep(s) to %s", len(res.rows), args.reps)
    if args.summary:
        out = {"summary": res.summary.as_dict(), "limits_deg": cfg.limits(args.name),
               "frame": res.frame, "notes": res.notes}
        Path(args.summary).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    from beltline.sessions import exresults

    _store(args, t, acc, gyr, exresults.exercise_doc(res, cfg))
