"""``beltline monitor`` and ``beltline scan``: the live dashboard and the units nearby."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from beltline.cli.common import POSITIVE, add, number, settings_options, store_option
from beltline.errors import BeltlineError

log = logging.getLogger("beltline")

MANUAL = """\
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

SCAN_MANUAL = """\
Listen for belt units advertising Beltline's service and list them: name, address, signal
strength. Needs a Bluetooth adapter (and on Linux, BlueZ and permission to use it); without
one it says so and suggests `beltline monitor --virtual`.

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
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="demo",
                   help="what the virtual wearer does (default: demo, a tour of every "
                   "episode kind)")
    p.add_argument("--minutes", type=POSITIVE, default=10.0,
                   help="length of the virtual session after calibration (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="virtual wearer seed (default: 0)")
    p.add_argument("--mount", choices=sorted(MOUNTS), default="back",
                   help="where the virtual unit is clipped (default: back)")
    p.add_argument("--speed", type=POSITIVE, default=1.0,
                   help="virtual time per real second (default: 1 = real time)")
    p.add_argument("--over-ble", action="store_true",
                   help="virtual: carry the stream over a real BLE stack (Bumble) and the "
                   "Bluetooth link, as a belt unit would")
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
    p.add_argument("--seconds", type=POSITIVE, default=5.0, help="how long to listen (5)")


def monitor(args: argparse.Namespace) -> None:
    from beltline.dashboard import server
    from beltline.pipeline import settings

    server.check_host(args.host, args.allow_network)
    cfg = settings.load(args.settings, args.set)
    if not args.virtual:
        raise BeltlineError(
            "the Bluetooth link to a real belt unit is not part of this version yet; run "
            "`beltline monitor --virtual` to use the built-in virtual wearer")
    from beltline.sim.device import Faults
    from beltline.sim.link import virtual_session

    faults = None
    if args.disconnect_at is not None:
        faults = Faults(disconnect_at_s=args.disconnect_at, disconnect_for_s=args.disconnect_for)
    store: Path | None = args.store
    from beltline.sessions.finish import open_store

    open_store(store).close()  # a session a killed monitor left open is finished first
    live = virtual_session(args.scenario, args.minutes, args.seed, args.mount, args.speed,
                           store, cfg, faults, args.over_ble)
    server.serve(live, store, cfg, args.host, args.port, not args.no_browser)


def scan(args: argparse.Namespace) -> None:
    import asyncio

    from beltline.link import ble

    units = asyncio.run(ble.scan(args.seconds))
    if not units:
        log.info("no belt unit found: is it on, charged and near?")
    for name, address, rssi in units:
        print(f"{name:<20} {address}  {rssi} dBm")
