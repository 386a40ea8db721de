"""``beltline simulate``: a virtual wearer's recording as CSV files."""

from __future__ import annotations

import argparse
from pathlib import Path

from beltline.cli.common import POSITIVE, SEED, add, number, out_dir
from beltline.errors import DataError

MANUAL = """\
Generate a virtual wearer's recording: physically consistent IMU data for a belt unit, with
ground truth, from a named scenario. Most scenarios start with the calibration protocol
(10 s of quiet standing, then 30 s of normal walking); the real-life ones start as real
recordings do (seated, lying, bending, walking) and some change the wearer (slow or asymmetric
gait, a loose belt clip): see --list.

Writes into --out:
  raw.csv     t_s,ax,ay,az,gx,gy,gz   (s; m/s^2 with gravity; rad/s; sensor frame)
  truth.csv   t_s,obliquity_deg,tilt_deg,activity,stance   (pelvis frame, relative to neutral;
              obliquity + = right side lower, tilt + = anterior; activity standing, walking,
              sitting or other; stance left, right, double or empty)
  steps.csv   t_s,side   (heel strikes; side = the foot that strikes)
  labels.csv  kind,side,start_s,end_s   (the injected episodes: hip_drop and hip_hike by the
              stance leg, anterior_tilt, pelvic_obliquity by the lower side)

The same --scenario, --minutes, --seed, --mount and --rate always give the same files.

Examples:
  beltline simulate --list
  beltline simulate --scenario hip_drop_left --minutes 10 --seed 3 --mount left --out sim/
"""


def register(sub: argparse._SubParsersAction) -> None:
    from beltline.sim.scenarios import SCENARIOS
    from beltline.sim.wearer import MOUNTS

    p = add(sub, "simulate", "generate a virtual wearer's recording (CSV)", MANUAL, run)
    p.add_argument("--list", action="store_true", help="describe each scenario and exit")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="healthy_walk",
                   help="what the wearer does (default: healthy_walk)")
    p.add_argument("--minutes", type=POSITIVE, default=5.0, metavar="M",
                   help="length of the scenario's main part, minutes (default: 5)")
    p.add_argument("--seed", type=SEED, default=0, help="random seed (default: 0)")
    p.add_argument("--mount", choices=sorted(MOUNTS), default="back",
                   help="where the unit is clipped on the belt (default: back)")
    p.add_argument("--rate", type=number(float, 10.0, 1000.0), default=100.0, metavar="HZ",
                   help="sample rate, Hz (default: 100)")
    p.add_argument("--out", type=out_dir, default=Path("sim"), metavar="DIR",
                   help="output folder (default: ./sim)")


def run(args: argparse.Namespace) -> None:
    from beltline.sim.scenarios import SCENARIOS

    if args.list:
        for s in SCENARIOS.values():
            print(f"{s.name:<20} {s.description}")
        return
    try:
        _write(args)
    except OSError as exc:  # a write's error names no file: say where
        raise DataError(f"cannot write in {args.out}: {exc.strerror or exc}") from None


def _write(args: argparse.Namespace) -> None:
    from beltline.sim import exercise_scenarios, files, table

    if args.scenario in exercise_scenarios.EXERCISE_SCENARIOS:  # not a walk: its own files
        exercise_scenarios.write(args.scenario, args.seed, args.mount, args.rate, args.out)
    elif args.scenario in table.TABLE_SCENARIOS:  # the belt on and off the body: wear.json too
        table.write(args.scenario, args.minutes, args.seed, args.mount, args.rate, args.out)
    else:
        files.run(args.scenario, args.minutes, args.seed, args.mount, args.rate, args.out)
