"""``beltline monitor`` and ``beltline scan``: the live dashboard and the units nearby."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from beltline.cli.common import (
    POSITIVE,
    SEED,
    add,
    number,
    settings_options,
    store_option,
)

if TYPE_CHECKING:
    from beltline.pipeline.settings import Settings
    from beltline.sessions.live import LiveSession

log = logging.getLogger("beltline")

MANUAL = """\
Watch your pelvis live: the ruler through your belt loops on screen, while you walk.

Starts a live session, records it to the session store and serves a dashboard on
http://127.0.0.1:8050/ (it opens your browser unless --no-browser; on a machine without a
browser it says which address to open). The page shows:
  - while calibrating, the step you are in: stand still (a countdown), then walk normally
    (steps counted), then "calibration done";
  - walking: the ruler tilted to each single-leg stance's peak drop of the swing side, held
    until the next stance, and both legs' latest stances side by side ("standing on the right
    leg: left side drops 9.6°"), green below your threshold (your own calibration-walk drop
    plus 2.5°), amber above it, red while a hip drop in that stance is ongoing;
  - standing: the obliquity held over the last second against the standing threshold;
    sitting and bending are grey: they never count;
  - a tilt gauge, the last 30 s of obliquity and tilt, cadence and stance while walking, a
    banner while an episode is ongoing (a hip drop is named by the stance leg and the side
    that drops: "hip drop in right-leg stance (left side drops)"), the session's episodes,
    the connection and counters, and buttons to calibrate, start/stop recording and export
    the session as CSV. The Review page shows past sessions (it opens on the latest).

Without --virtual it connects to your belt unit over Bluetooth: it scans for units advertising
Beltline's service; with one nearby it takes that one, with several it lists them and asks you
to choose with --address (exit 2), with none it says what to check (exit 1). --address or
--name picks one. The first time, the unit must be in its pairing window (2 minutes after
switching it on, or after a press of its button) and your computer pairs with it ("Just
Works", no code): docs/pairing.md says what each system asks. A dropped link is reconnected
(for 10 minutes, then the page says it gave up); what the unit recorded meanwhile in its
logbook arrives afterwards. At each connection the host sets the unit's clock, and after each
calibration it sends the unit your mount, thresholds and --set alert_mode (tracking: silent;
training: the unit buzzes), which the unit keeps, so it alerts on its own without the host.

--virtual runs the built-in virtual wearer on the virtual belt unit: the firmware itself in
MicroPython, its Bluetooth emulated on a real BLE stack (Bumble), reached by the same Bluetooth
link as a real unit. --fast skips the unit and the radio (the firmware's sample loop in
process: quicker, for demos on a slow machine).

Only this machine can use the page: it answers only to a loopback address (a web page on
another domain that resolves to this machine is refused), and every action and download
needs the same-origin page with this launch's secret token. --host with --allow-network
serves it to other machines. A port already in use is an error: choose another with --port.

Examples:
  beltline monitor
  beltline monitor --address F0:F1:F2:F3:F4:F5 --set alert_mode=training
  beltline monitor --virtual
  beltline monitor --virtual --scenario anterior_tilt --speed 5 --no-browser --port 8051
"""

SCAN_MANUAL = """\
Listen for belt units advertising Beltline's service and list them: name, address, signal
strength. Needs a Bluetooth adapter (and on Linux, BlueZ and permission to use it); without
one it says so and suggests `beltline monitor --virtual`. A unit left alone (no host for a
minute, tracking mode) dozes to save its battery and advertises 1 s in every 15: the default
17-s scan sees it, and a press of its button wakes it at once. (`monitor` and `sync` scan the
same way, and stop 2 s after the last new unit appeared.)

Example:
  beltline scan --seconds 8
"""


def register(sub: argparse._SubParsersAction) -> None:
    from beltline.sim.scenarios import SCENARIOS
    from beltline.sim.wearer import MOUNTS

    p = add(sub, "monitor", "live dashboard in your browser (--virtual: no hardware needed)",
            MANUAL, monitor)
    p.add_argument("--virtual", action="store_true",
                   help="use the built-in virtual wearer instead of a belt unit")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="the belt unit's Bluetooth address (macOS: its identifier), as "
                   "`beltline scan` lists it")
    p.add_argument("--name", default=None, help="the belt unit's advertised name")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="demo",
                   help="what the virtual wearer does (default: demo, a tour of every "
                   "episode kind)")
    p.add_argument("--minutes", type=POSITIVE, default=10.0,
                   help="length of the virtual session after calibration (default: 10)")
    p.add_argument("--seed", type=SEED, default=0, help="virtual wearer seed (default: 0)")
    p.add_argument("--mount", choices=sorted(MOUNTS), default="back",
                   help="where the virtual unit is clipped (default: back)")
    p.add_argument("--speed", type=POSITIVE, default=1.0,
                   help="virtual time per real second (default: 1 = real time)")
    p.add_argument("--fast", action="store_true",
                   help="virtual: the firmware's sample loop in process, without the unit's "
                   "application and the radio (quicker)")
    p.add_argument("--disconnect-at", type=POSITIVE, default=None, metavar="S",
                   help="virtual: drop the link S seconds into the walk (see the banner)")
    p.add_argument("--disconnect-for", type=POSITIVE, default=10.0, metavar="D",
                   help="virtual: for D seconds (default: 10)")
    p.add_argument("--port", type=number(int, 1, 65535), default=8050,
                   help="web port, 1-65535 (default: 8050)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to serve on (default: 127.0.0.1, this machine only)")
    p.add_argument("--allow-network", action="store_true",
                   help="allow a --host other machines can reach (your data become visible)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    store_option(p)
    settings_options(p)
    p = add(sub, "scan", "list belt units nearby (Bluetooth)", SCAN_MANUAL, scan)
    p.add_argument("--seconds", type=POSITIVE, default=17.0,
                   help="how long to listen (17: a unit left alone advertises 1 s in 15)")


def monitor(args: argparse.Namespace) -> None:
    from beltline.dashboard import server
    from beltline.pipeline import settings

    server.check_host(args.host, args.allow_network)
    cfg = settings.load(args.settings, args.set)
    server.check_port(args.host, args.port)  # a busy port is said before the session starts
    store: Path | None = args.store
    from beltline.sessions.finish import open_store

    open_store(store).close()  # a session a killed monitor left open is finished first
    if not args.virtual:
        live = _unit_session(args, cfg, store)
    else:
        from beltline.sim.device import Faults
        from beltline.sim.link import virtual_session

        faults = None
        if args.disconnect_at is not None:
            faults = Faults(disconnect_at_s=args.disconnect_at,
                            disconnect_for_s=args.disconnect_for)
        live = virtual_session(args.scenario, args.minutes, args.seed, args.mount, args.speed,
                               store, cfg, faults, args.fast)
    server.serve(live, store, cfg, args.host, args.port, not args.no_browser, args.allow_network)


def _unit_session(args: argparse.Namespace, cfg: Settings, store: Path | None) -> LiveSession:
    """A live session with the belt unit nearby (scan, choose, connect)."""
    from beltline.link import ble
    from beltline.sessions.live import LiveSession

    link = ble.nearby(args.address, args.name)
    return LiveSession(link, store, cfg, name=f"{link.name} {link.address}")


def scan(args: argparse.Namespace) -> None:
    import asyncio

    from beltline.link import ble

    units = asyncio.run(ble.scan(args.seconds, settle_s=None))
    if not units:
        log.info("no belt unit found. Check: %s", ble.CHECKS)
    for name, address, rssi in units:
        print(f"{name:<20} {address}  {rssi} dBm")
