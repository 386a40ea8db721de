"""``beltline sync``: bring home the walks the belt unit recorded with no host."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from typing import TYPE_CHECKING

from beltline.cli.common import POSITIVE, SEED, add, settings_options, store_option

if TYPE_CHECKING:
    from beltline.pipeline.settings import Settings
    from beltline.sessions.sync import SyncResult

log = logging.getLogger("beltline")

MANUAL = """\
Bring home the walks your belt unit recorded while no computer was near.

With no host listening, the unit keeps its samples in its logbook on flash: compact records
(lossless delta coding, ~10 bytes a sample: hours of walking, see hardware/BOM.md), each with
its own CRC over its header, numbered across reboots and marked with the power-on (boot) they
belong to. `beltline sync` connects to it (the same scan and choice as `beltline monitor`: the
only unit nearby, or --address / --name), and pulls every record since the last sync (the
store remembers where each unit's last sync ended), whatever power-ons happened between:
  - the unit sends them in one bulk transfer, as fast as its Bluetooth stack takes them, as
    they lie on flash; the transfer ends when the unit's end marker arrives (never on a
    silence);
  - every record is checked (CRC-16); a torn or corrupt logbook record loses only its own
    samples (counted as records_missing);
  - a drop in the middle is reconnected, and the transfer is asked for again from the first
    record that did not arrive;
  - a progress bar shows the records still to come and the time left.
Each walk (a run of samples without a break of 5 minutes, per power-on of the unit) becomes a
session (source "sync") analysed in full: steps, hip drops per stance leg, episodes. Syncing
twice stores nothing twice: a walk already stored is found (same unit, same power-on, same
samples) and only what it lacks is added. A power-on before the sync's own never met a host:
its walks' wall time is estimated (placed as ending when the next power-on began; the
session's note says so).

It prints one line per session stored and, last, one JSON line:
  {"sessions": [ids], "samples": N, "records": R, "bytes": B, "first_record": F,
   "next_record": E, "seconds": S, "rate_samples_per_s": R, ...}

--virtual runs the same on the virtual belt unit (the firmware in MicroPython, its Bluetooth
on Bumble): first the unit records the virtual wearer's walk (--scenario, --minutes, --seed)
with no host in range, into the firmware's own logbook; then the host comes into range and
syncs. The same arguments give the same walk (the same unit name and power-on), so running
it twice leaves one session (the second transfers only what is new).

The unit records by itself: with no host it logs only while the belt is worn (it starts
within seconds of being put on, keeping the seconds before, and stops after 3 minutes lying
still), so a day's wear comes home as its walks, not as a night on the table. The table
scenarios (table_day: on a table, worn, put down again; table_knocks; table_vibration) show it.

Examples:
  beltline sync
  beltline sync --address F0:F1:F2:F3:F4:F5
  beltline sync --virtual --scenario demo --minutes 40
  beltline sync --virtual --scenario table_day --minutes 5
"""


def register(sub: argparse._SubParsersAction) -> None:
    from beltline.sim.scenarios import SCENARIOS

    p = add(sub, "sync", "pull the walks the belt unit recorded without the host", MANUAL,
            sync)
    who = p.add_mutually_exclusive_group()
    who.add_argument("--address", default=None, metavar="ADDR",
                     help="the belt unit's Bluetooth address, as `beltline scan` lists it")
    who.add_argument("--name", default=None, help="the belt unit's advertised name")
    who.add_argument("--virtual", action="store_true",
                     help="a walk the virtual belt unit records with no host, then syncs")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="demo",
                   help="virtual: what the wearer does (default: demo)")
    p.add_argument("--minutes", type=POSITIVE, default=10.0,
                   help="virtual: length of the walk (default: 10)")
    p.add_argument("--seed", type=SEED, default=0, help="virtual: wearer seed (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    store_option(p)
    settings_options(p)


def sync(args: argparse.Namespace) -> None:
    from beltline.pipeline import settings
    from beltline.sessions.finish import open_store

    cfg = settings.load(args.settings, args.set)
    with open_store(args.store) as store:
        if args.virtual:
            res = asyncio.run(_virtual(args, store, cfg))
        else:
            res = asyncio.run(_unit(args, store, cfg))
    for w in res.walks:
        print(f"session {w.sid}: {w.seconds / 60:.1f} min, {w.samples} raw samples "
              f"({w.added} new) from {w.device}")
    if not res.walks:
        log.info("nothing recorded since the last sync")
    print(json.dumps(res.summary()))


async def _unit(args: argparse.Namespace, store: object, cfg: Settings) -> SyncResult:
    from beltline.link import ble
    from beltline.sessions.store import Store
    from beltline.sessions.sync import pull

    assert isinstance(store, Store)
    units = await ble.scan()
    name, address, rssi = ble.choose(units, args.address, args.name)
    log.info("belt unit %s (%s, %s dBm)", name, address, rssi)
    link = ble.BleLink(address, name=name, rssi_dbm=rssi)
    return await pull(link, store, settings=cfg, progress=not args.no_progress)


async def _virtual(args: argparse.Namespace, store: object, cfg: Settings) -> SyncResult:
    from beltline.sessions.store import Store
    from beltline.sessions.sync import pull
    from beltline.sim import offline, scenarios, table
    from beltline.sim.unit import ODR, micropython
    from beltline.sim.wearer import simulate

    assert isinstance(store, Store)
    micropython()  # said at once if the MicroPython unix port is missing
    if args.scenario in table.TABLE_SCENARIOS:  # the belt on a table, worn, put down
        rec = table.day(args.scenario, args.minutes, args.seed, ODR["lsm6dso"]).rec
    else:
        rec = simulate(scenarios.build(args.scenario, args.minutes, args.seed),
                       ODR["lsm6dso"], seed=args.seed, mount="back")
    key = (args.scenario, args.minutes, args.seed)
    device = f"virtual {args.scenario} {args.minutes:g} min seed {args.seed}"
    walk = await offline.walk_without_host(rec, device, offline.boot_id_for(*key))
    try:
        return await pull(walk.link, store, device=device, settings=cfg,
                          progress=not args.no_progress)
    finally:
        await walk.close()
