"""``beltline bench NAME``: accuracy, speed and memory. Each prints a table, then one JSON
line last."""

from __future__ import annotations

import argparse
from pathlib import Path

from beltline.cli.bench_manuals import (
    DASHBOARD,
    DETECTION,
    EXERCISE,
    FUSION,
    GAIT,
    LINK,
    LOGBOOK,
    PIPELINE,
    POWER,
    REPORT,
    SIM,
    STORE,
    SYNC,
)
from beltline.cli.common import DEFAULT_BROAD, DEFAULT_WALKERS, POSITIVE, SEED, add, number


def _trials(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected trial numbers like 02,10,15; got {text!r}")
    return parts


def _interval_pair(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two intervals like 30,50; got {text!r}")\
            from None
    if not 7.5 <= lo <= hi <= 4000.0:
        raise argparse.ArgumentTypeError(f"BLE connection intervals are 7.5-4000 ms, low first; "
                                         f"got {text}")
    return lo, hi


def register(sub: argparse._SubParsersAction) -> None:
    bench = add(sub, "bench", "benchmarks: accuracy, speed and memory, with a JSON line last",
                "Benchmarks. Each prints a table, then one JSON object as its last line.")
    b = bench.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)

    p = add(b, "fusion", "attitude filter accuracy on BROAD vs VQF, and its cost", FUSION,
            fusion)
    p.add_argument("--data", type=Path, default=DEFAULT_BROAD, metavar="DIR",
                   help=f"folder of BROAD *.hdf5 trials (default: {DEFAULT_BROAD})")
    p.add_argument("--trials", type=_trials, default=None, metavar="N,N,...",
                   help="only these trial numbers, e.g. 02,10,15 (default: every trial in DIR)")
    p.add_argument("--rate", type=number(float, 10.0, 1000.0), default=100.0, metavar="HZ",
                   help="device sample rate to resample to, Hz (default: 100)")
    p.add_argument("--firmware", type=Path, default=None, metavar="DIR",
                   help="measure the fusion.py/stream.py in DIR instead of this checkout's "
                   "(e.g. an older commit's firmware folder), in the same way")

    p = add(b, "power", "battery life of the belt unit, from what the firmware does", POWER,
            power)
    p.add_argument("--alerts-per-hour", type=number(float, 0.0, 120.0), default=6.0,
                   metavar="N", help="training-mode alerts per hour (each buzzes; default 6; "
                   "120 = an alert that never ends: one buzz every 30 s)")
    p.add_argument("--ci", type=_interval_pair, default=(30.0, 50.0), metavar="MS,MS",
                   help="connection intervals the central may pick, ms (default: 30,50)")
    p.add_argument("--reps", type=number(int, 3, 100), default=15,
                   help="measurement repetitions, 10 passes each (default: 15)")
    p.add_argument("--s3-yardstick-ms", type=POSITIVE, default=None, metavar="MS",
                   help="the yardstick's time measured on a unit (yardstick_us / 1000 printed "
                   "by scripts/power_cost.py run on the board, hardware/BOM.md) instead of the "
                   "published-benchmark estimate")

    p = add(b, "detection", "episode and step detection scores", DETECTION, detection)
    p.add_argument("--sessions", type=number(int, 1), default=42,
                   help="virtual sessions (default: 42)")
    p.add_argument("--minutes", type=POSITIVE, default=6.0,
                   help="minutes per virtual session after calibration (default: 6)")
    p.add_argument("--walkers", type=Path, default=DEFAULT_WALKERS, metavar="DIR",
                   help=f"lower-back walker recordings (default: {DEFAULT_WALKERS})")

    p = add(b, "pipeline", "pipeline speed and memory", PIPELINE, pipeline)
    p.add_argument("--minutes", type=POSITIVE, default=60.0,
                   help="batch recording length, minutes (default: 60)")
    p.add_argument("--hours", type=number(float, 0.0), default=8.0,
                   help="long-session length for the memory check, hours (default: 8)")
    p.add_argument("--days", type=number(float, 0.0), default=7.0,
                   help="length of the long file whose `analyze` peak memory is measured, "
                   "days (default: 7; 0 = skip; the file is written to a temporary folder, "
                   "~4 GB a week)")
    p.add_argument("--repeats", type=number(int, 1), default=3,
                   help="child-process runs of analyze and of the floor (median; default 3)")
    p.add_argument("--quick", action="store_true",
                   help="a short check: 20 minutes, 1 hour, 1 day, one run each")

    p = add(b, "sim", "cost of the virtual wearer and device", SIM, sim)
    p.add_argument("--minutes", type=POSITIVE, default=60.0,
                   help="session length generated offline, minutes (default: 60)")
    p.add_argument("--seconds", type=POSITIVE, default=20.0,
                   help="how long to stream in real time, seconds (default: 20)")

    p = add(b, "dashboard", "what one live tab costs the server, at real time", DASHBOARD,
            dashboard)
    p.add_argument("--minutes", type=POSITIVE, default=1.0,
                   help="virtual walking after the calibration, minutes (default: 1)")
    p.add_argument("--speed", type=POSITIVE, default=1.0,
                   help="times real time (default: 1, real time: the figure that matters)")

    p = add(b, "gait", "steps and cadence against real references", GAIT, gait)
    p.add_argument("--walkers", type=Path, default=DEFAULT_WALKERS, metavar="DIR",
                   help=f"lower-back walker recordings (default: {DEFAULT_WALKERS})")
    p.add_argument("--gaitpy", type=Path, default=None, metavar="DIR",
                   help="folder with GaitPy's demo_data.csv and demo_gait_features.csv "
                   "(default: the installed gaitpy package's demo folder)")
    p.add_argument("--sessions", type=number(int, 0), default=30,
                   help="virtual sessions (default: 30; 0 skips the virtual suite)")
    p.add_argument("--minutes", type=POSITIVE, default=4.0,
                   help="minutes per virtual session (default: 4)")

    p = add(b, "report", "report render time against the batch analysis, long session",
            REPORT, report)
    p.add_argument("--hours", type=POSITIVE, default=8.0, help="session length, hours (default: 8)")

    p = add(b, "store", "raw record: store size per hour, recorder cost, kill loss", STORE,
            store)
    p.add_argument("--minutes", type=POSITIVE, default=60.0,
                   help="virtual walk to record, minutes (default: 60)")
    p.add_argument("--kills", type=number(int, 0, 100), default=0,
                   help="kill trials with SIGKILL (default: 0)")
    p.add_argument("--speed", type=POSITIVE, default=10.0,
                   help="kill trials: the virtual unit at this many times real time "
                   "(default: 10)")
    p.add_argument("--walkers", type=Path, default=DEFAULT_WALKERS, metavar="DIR",
                   help="real recordings to measure the raw codec on (default: "
                   f"{DEFAULT_WALKERS}; skipped if absent)")


    p = add(b, "exercise", "test and exercise scores against the virtual wearer", EXERCISE,
            exercise)
    p.add_argument("--sets", type=number(int, 1), default=100,
                   help="exercise sets (default: 100)")
    p.add_argument("--tests", type=number(int, 1), default=30,
                   help="single-leg stance tests (default: 30)")
    p.add_argument("--seed0", type=int, default=50_000, help="first seed (default: 50000)")
    p.add_argument("--live", type=number(int, 0), default=0, metavar="N",
                   help="also N sets per exercise fed live, announcements against the final "
                   "analysis (default: 0)")
    p.add_argument("--plain", type=number(int, 0), default=0, metavar="N",
                   help="also N tests from the second, plainer generator (default: 0)")

    p = add(b, "logbook", "bytes per sample of the unit's offline logbook, its CPU cost",
            LOGBOOK, logbook)
    p.add_argument("--minutes", type=POSITIVE, default=10.0,
                   help="virtual walks' length (default 10)")
    p.add_argument("--walkers", type=number(int, 1), default=None, metavar="N",
                   help="only the first N real walker trials (default: all)")

    p = add(b, "sync", "a walk without the host synced over the virtual radio", SYNC, sync)
    p.add_argument("--minutes", type=POSITIVE, default=10.0, help="walk length (default 10)")
    p.add_argument("--seed", type=SEED, default=1, help="wearer seed (default 1)")
    p.add_argument("--pace", type=POSITIVE, default=5.0,
                   help="the unit's seconds per real second while syncing (default 50)")

    p = add(b, "link", "a virtual walk over a real BLE stack", LINK, link)
    p.add_argument("--seconds", type=POSITIVE, default=60.0, help="walk length (default 60)")
    p.add_argument("--disconnect-at", type=POSITIVE, default=None, metavar="S")
    p.add_argument("--disconnect-for", type=POSITIVE, default=30.0, metavar="D")
    p.add_argument("--loss", type=number(float, 0.0, 1.0), default=0.0, metavar="P",
                   help="fraction of notifications lost in the air (default 0)")


def fusion(a: argparse.Namespace) -> None:
    from beltline.bench import fusion as m

    m.main(a.data, a.trials, a.rate, a.firmware)


def power(a: argparse.Namespace) -> None:
    from beltline.bench import power as m

    m.main(a.alerts_per_hour, a.ci, a.reps, a.s3_yardstick_ms)


def detection(a: argparse.Namespace) -> None:
    from beltline.bench import detection as m

    m.main(a.sessions, a.minutes, a.walkers)


def pipeline(a: argparse.Namespace) -> None:
    from beltline.bench import pipeline as m

    if a.quick:
        m.main(20.0, 1.0, 1.0, 1)
    else:
        m.main(a.minutes, a.hours, a.days, a.repeats)


def sim(a: argparse.Namespace) -> None:
    from beltline.bench import sim as m

    m.main(a.minutes, a.seconds)


def dashboard(a: argparse.Namespace) -> None:
    from beltline.bench import dashboard as m

    m.main(a.minutes, a.speed)


def gait(a: argparse.Namespace) -> None:
    from beltline.bench import gait as m

    m.main(a.walkers, a.gaitpy, a.sessions, a.minutes)


def report(a: argparse.Namespace) -> None:
    from beltline.bench import report as m

    m.main(a.hours)


def link(a: argparse.Namespace) -> None:
    from beltline.bench import link as m

    m.main(a.seconds, a.disconnect_at, a.disconnect_for, a.loss)


def logbook(a: argparse.Namespace) -> None:
    from beltline.bench import logbook as m

    m.main(a.minutes, a.walkers)


def sync(a: argparse.Namespace) -> None:
    from beltline.bench import sync as m

    m.main(a.minutes, a.seed, a.pace)


def store(a: argparse.Namespace) -> None:
    from beltline.bench import store as m

    m.main(a.minutes, a.kills, a.speed, a.walkers)


def exercise(a: argparse.Namespace) -> None:
    from beltline.bench import exercise as m

    m.main(a.sets, a.tests, a.seed0, a.live, a.plain)
