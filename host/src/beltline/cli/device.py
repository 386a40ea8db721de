"""``beltline device``: the belt unit over USB (flash, info) and simulated (simulate)."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys

from beltline.cli.common import POSITIVE, add
from beltline.errors import BeltlineError

log = logging.getLogger("beltline")

MANUAL = """\
The belt unit (hardware/BOM.md). `flash` copies firmware/*.py to the board with mpremote
(pip install mpremote; MicroPython must already be on the board, see hardware/BOM.md);
nothing is fetched from the internet. `info` prints the firmware version and the settings
stored on the board. `simulate` runs the real firmware without hardware.

Examples:
  beltline device flash --port /dev/ttyACM0
  beltline device info
  beltline device simulate --seconds 600 --disconnect-at 120 --disconnect-for 30
"""

SIMULATE_MANUAL = """\
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


def register(sub: argparse._SubParsersAction) -> None:
    from beltline.sim.scenarios import SCENARIOS

    dev = add(sub, "device", "the belt unit: simulate, flash, info", MANUAL)
    actions = dev.add_subparsers(dest="device", metavar="ACTION", required=True)
    p = add(actions, "simulate", "run the real firmware on simulated hardware", SIMULATE_MANUAL,
            simulate)
    p.add_argument("--seconds", type=POSITIVE, default=120.0,
                   help="simulated seconds (default: 120)")
    p.add_argument("--imu", choices=["lsm6dso", "mpu6050"], default="lsm6dso",
                   help="which IMU the simulated board carries (default: lsm6dso)")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="healthy_walk",
                   help="what the virtual wearer does (default: healthy_walk)")
    p.add_argument("--disconnect-at", type=POSITIVE, default=None, metavar="S",
                   help="the central drops the link S seconds in")
    p.add_argument("--disconnect-for", type=POSITIVE, default=30.0, metavar="D",
                   help="and comes back after D seconds (default: 30)")
    p.add_argument("--commands", action="store_true",
                   help="the central also sends the mount, training mode and thresholds")
    for name, text, func in (("flash", "copy the firmware to a board over USB (mpremote)", flash),
                             ("info", "ask a board on USB for its firmware and settings", info)):
        p = add(actions, name, text, MANUAL, func)
        p.add_argument("--port", default="auto",
                       help="serial port of the board (default: auto, the first found)")


def simulate(args: argparse.Namespace) -> None:
    from beltline.sim import devicesim

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


def _mpremote(port: str) -> list[str]:
    try:
        import mpremote  # noqa: F401  (only to say how to get it)
    except ImportError as exc:
        raise BeltlineError("flashing needs mpremote: pip install mpremote (or "
                            "pip install -e '.[device]')") from exc
    return [sys.executable, "-m", "mpremote", "connect", port]


def _call(cmd: list[str], port: str) -> None:
    proc = subprocess.run(cmd, check=False)
    if proc.returncode:
        raise BeltlineError(f"mpremote failed ({proc.returncode}): is the board connected "
                            f"and MicroPython on it? port: {port}")


def flash(args: argparse.Namespace) -> None:
    from beltline.sim import devicesim

    cmd = _mpremote(args.port)
    files = [f for f in sorted(devicesim.FIRMWARE.glob("*.py")) if f.name != "__init__.py"]
    for f in files:
        cmd += ["fs", "cp", str(f), f":{f.name}", "+"]
    cmd += ["reset"]
    log.info("copying %d files to the board", len(files))
    _call(cmd, args.port)


def info(args: argparse.Namespace) -> None:
    cmd = [*_mpremote(args.port), "exec", "import app, config; print('firmware', app.FIRMWARE); "
           "print(config.load('/settings.json'))"]
    _call(cmd, args.port)
