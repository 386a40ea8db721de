"""``beltline analyze``: a raw recording through the pipeline into CSV files."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from beltline.cli.common import add, in_file, input_options, out_file

if TYPE_CHECKING:
    from beltline.records import StepRow
    from beltline.sessions.rawcsv import Raw

log = logging.getLogger("beltline")

MANUAL = """\
Analyse a recorded raw IMU file from a belt-worn sensor: calibrate, find steps and the stance
side, classify activity and detect sustained episodes.

Input (the format is told by the header):
  - the common raw CSV: t_s,ax,ay,az,gx,gy,gz (s; m/s^2 with gravity; rad/s; sensor frame;
    any sample rate from 50 to 1000 Hz, irregular is fine);
  - an Xsens MT Manager text export: comment lines, then PacketCounter (and SampleTimeFine),
    Acc_X/Y/Z (m/s^2), Gyr_X/Y/Z (rad/s); time from the counters, dropped packets become gaps;
  - mobgap/gaitmap columns: acc_x,acc_y,acc_z (m/s^2), gyr_x,gyr_y,gyr_z (deg/s) with a time
    column (t_s, time, timestamp: seconds or ISO date-times) or a sample index (--rate).
The sensor may sit anywhere on the belt, either way up: forward and left are found from the
walking, the neutral (zero obliquity and tilt) from quiet upright standing wherever it is in
the recording (before or after a walk; sitting, lying and bending are told apart). A recording
that starts seated or walking, or has only short walks, is analysed all the same; without
quiet upright standing no posture episode is raised (the calibration's confidence says so).

Outputs (times in the file's own clock):
  --episodes EP.csv  kind,side,start_s,end_s,peak_deg,mean_deg,activity,steps
                     kind hip_drop / hip_hike: side = the stance leg, so "hip_drop,right"
                     is a hip drop in right-leg stance (the left side drops: the right hip's
                     abductors do not hold the pelvis); pelvic_obliquity: side = the lower
                     side; anterior_tilt: no side
  --steps ST.csv     t_s,side   heel strikes, side = the foot that strikes (left, right, or
                     unknown where the side cues of that walk disagree)
  --step-measures SM.csv  t_s,side,drop_deg,tilt_deg,range_deg,cadence_spm,hike_deg per step:
                     the swing side's drop and rise (hike) in the stance against the pelvis's
                     level at its heel strikes, tilt, obliquity range, cadence
  --samples SA.csv   t_s,obliquity_deg,tilt_deg,activity   per input sample; obliquity + =
                     right side lower, tilt + = anterior, relative to the standing neutral;
                     activity standing, walking, sitting or other

Bad input is an error with the reason and nothing is written (exit status 1; 2 for a bad
command line): missing columns, text or NaN values, time going backwards, a rate outside
50-1000 Hz, values that look like g, deg/s or rad/s where the other is declared, no walking at
all. Holes in the time line up to 0.1 s are bridged and counted; longer ones are gaps:
reported, never filled, and no sample is written inside them. A file of any length is read,
analysed and written a piece at a time (memory stays flat: a week-long file needs no more
than an hour's); a fault late in a long file is found when its piece is read, and then too
nothing is written.

Settings (thresholds, dwell) come from --settings FILE.toml and --set NAME=VALUE; defaults and
their clinical sources are listed in beltline/pipeline/settings.py and the README.

Example:
  beltline analyze walk.csv --episodes ep.csv --steps st.csv --samples sa.csv
  beltline analyze ../shared/data/lowerback-walks/1-1_lb.txt --episodes e.csv --steps s.csv
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add(sub, "analyze", "analyse a raw IMU CSV: episodes, steps, samples", MANUAL, run)
    p.add_argument("raw", type=in_file, metavar="RAW.csv", help="the raw recording")
    p.add_argument("--episodes", type=out_file, required=True, metavar="EP.csv",
                   help="where to write the episodes")
    p.add_argument("--steps", type=out_file, metavar="ST.csv", help="where to write heel strikes")
    p.add_argument("--step-measures", type=out_file, metavar="SM.csv",
                   help="where to write each step's measures (drop, hike, tilt, range, cadence)")
    p.add_argument("--samples", type=out_file, metavar="SA.csv",
                   help="where to write per-sample angles and activity")
    input_options(p)


def _progress(chunks: Iterator[Raw]) -> Iterator[Raw]:
    """The pieces with a progress bar (samples read; only on a terminal)."""
    if hasattr(sys.stderr, "isatty") and not sys.stderr.isatty():
        # what tqdm's disable=None decides (no bar off a terminal), without importing it
        yield from chunks
        return
    from tqdm import tqdm

    with tqdm(unit=" samples", unit_scale=True, desc="analysing", disable=None,
              leave=False) as bar:
        for raw in chunks:
            yield raw
            bar.update(len(raw.t))


def run(args: argparse.Namespace) -> None:
    from beltline.pipeline import settings
    from beltline.sessions import analyze, rawcsv, tables

    cfg = settings.load(args.settings, args.set)
    # streamed: the file is read, analysed and the samples written a piece at a time, so
    # memory stays flat for any length; the samples go to a .part file that replaces the
    # output only when the whole analysis succeeded (bad input writes nothing)
    chunks = _progress(rawcsv.read_chunks(args.raw, args.acc_unit, args.gyro_unit, args.rate))
    writers: list[tables.SamplesWriter | tables.StepsWriter] = []
    samples = steps = measures = None
    try:
        if args.samples:
            writers.append(samples := tables.SamplesWriter(args.samples))
        if args.steps:
            writers.append(steps := tables.StepsWriter(args.steps, ("t_s", "side")))
        if args.step_measures:
            writers.append(measures := tables.StepsWriter(args.step_measures))

        def write_steps(rows: list[StepRow]) -> None:
            for w in (steps, measures):
                if w is not None:
                    w.write(rows)

        res = analyze.run_stream(chunks, cfg, samples.write if samples else None,
                                 write_steps)
        from beltline import privacy

        privacy.private_file(args.episodes)  # health data: 0600 (the writer keeps the mode)
        tables.write_episodes(args.episodes, res.episodes)
    except BaseException:
        for w in writers:
            w.close(ok=False)
        raise
    for w in writers:
        w.close()
    log.info("%s: %d samples", args.raw, res.samples_in)
    n, secs = res.pipeline.bridged
    if n:
        log.warning("%d short hole(s) in the time line (%.2f s in all) were bridged", n, secs)
    for g in res.gaps:
        log.warning("gap: no data from %.3f s to %.3f s (%.2f s)", g.start_s, g.end_s,
                    g.seconds)
    kinds: dict[str, int] = {}
    for e in res.episodes:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    cal = res.pipeline.calibration
    log.info("%d steps (%d with the side unknown), %d episode(s) %s, %d gap(s)",
             res.steps_out, res.steps_unknown, len(res.episodes), kinds or "", len(res.gaps))
    if cal is not None:
        log.info("calibration: neutral from %s (confidence %.1f), axes confidence %.1f",
                 cal.neutral_source, cal.neutral_confidence, cal.axes_confidence)
