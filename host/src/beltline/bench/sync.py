"""``beltline bench sync``: a walk recorded with no host, then synced over the virtual radio.

The virtual belt unit (the firmware in MicroPython) records ``minutes`` of the virtual wearer
into its own logbook with no host in range (as fast as it runs), then the host comes into
range and ``sessions.sync.pull`` brings it home through the real BLE chain (bleak over Bumble
to the emulated MicroPython bluetooth module) into a session store in a temporary folder.
Reports the transfer (samples/s, packets/s, from connected to everything received), the time
a 1-h walk takes (measured when ``minutes`` >= 60, else extrapolated at the measured rate: the
JSON says which), the exact counts (the samples walked against the store) and what the
logbook and the store spend per hour of raw. The transfer is the BULK one (0x0A: records sent
as they lie on flash, as fast as the stack takes them, ending on the unit's end marker).
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from beltline.firmware import logbook
from beltline.sessions.store import Store
from beltline.sessions.sync import pull
from beltline.sim import offline, scenarios
from beltline.sim.unit import ODR
from beltline.sim.wearer import simulate

log = logging.getLogger(__name__)

HOUR_TARGET_S = 120.0  # issue 14: a 1-h walk syncs over the virtual radio in under 2 minutes


async def _run(minutes: float, seed: int, speed: float, folder: Path) -> dict[str, Any]:
    rate = ODR["lsm6dso"]
    rec = simulate(scenarios.build("healthy_walk", minutes, seed), rate, seed=seed,
                   mount="back")
    t0 = time.monotonic()
    walk = await offline.walk_without_host(rec, "bench unit", offline.boot_id_for("bench", seed),
                                           speed=speed)
    recorded_s = time.monotonic() - t0
    db = folder / "sync.db"
    try:
        held = len(set(offline.logbook_ticks(walk.unit.flash / "logbook.bin")))
        with Store(db) as store:
            res = await pull(walk.link, store, device=walk.device, progress=True)
            stored = sum(w.samples for w in res.walks)
    finally:
        report = await walk.close()
    hours = res.samples / rate / 3600.0
    walked = len(rec.t)
    out: dict[str, Any] = {
        "peripheral": "firmware", "minutes": round(walked / rate / 60.0, 2),
        "sync_pace": speed, "record_wall_s": round(recorded_s, 2),
        "logged_packets": report.get("logged"), "replayed": report.get("replayed"),
        "walked_samples": walked, "logbook_samples_on_flash": held, "samples": res.samples,
        "samples_stored": stored,
        # the stream's last, partly filled packet never reaches the logbook (< 14 samples)
        "samples_lost": walked - stored, "records": res.records, "bytes": res.bytes,
        "packets": res.packets, "bad_packets": res.bad_packets,
        "records_missing": res.records_missing, "bulk_asked": res.asked,
        "reconnects": res.reconnects, "sync_s": round(res.seconds, 2),
        "samples_per_s": round(res.rate_samples_per_s, 1),
        "records_per_s": round(res.records / res.seconds, 1) if res.seconds else 0.0,
        "bytes_per_s": round(res.bytes / res.seconds) if res.seconds else 0,
        "bytes_per_sample_over_the_air": round(res.bytes / max(1, res.samples), 2),
    }
    per_hour = 3600.0 * rate
    out["hour_sync_s"] = round(per_hour / res.rate_samples_per_s, 1) \
        if res.rate_samples_per_s else None
    out["hour_sync_measured"] = minutes >= 60.0
    out["hour_target_s"] = HOUR_TARGET_S
    out["logbook_samples_per_record"] = round(res.samples / max(1, res.records), 2)
    out["logbook_mb_per_hour"] = round(res.records * logbook.SLOT / 2**20 / hours, 2) \
        if hours else None
    out["store_mb_per_hour"] = round(db.stat().st_size / 2**20 / hours, 2) if hours else None
    return out


def main(minutes: float, seed: int = 1, speed: float = offline.SYNC_SPEED) -> None:
    with tempfile.TemporaryDirectory(prefix="beltline-bench-sync-") as d:
        r = asyncio.run(_run(minutes, seed, speed, Path(d)))
    how = "measured" if r["hour_sync_measured"] else f"extrapolated from {r['minutes']} min"
    print(f"{'walk':<28}{r['minutes']} min, recorded with no host in {r['record_wall_s']} s")
    print(f"{'synced':<28}{r['samples']} samples ({r['records']} records, {r['bytes']} bytes) "
          f"in {r['sync_s']} s: {r['samples_per_s']} samples/s, {r['bytes_per_s']} bytes/s")
    print(f"{'exact':<28}walked {r['walked_samples']}, stored {r['samples_stored']}, "
          f"lost {r['samples_lost']} (the stream's last partial packet)")
    print(f"{'1-h walk':<28}{r['hour_sync_s']} s ({how}; target < {HOUR_TARGET_S:.0f} s)")
    print(f"{'logbook / store':<28}{r['logbook_mb_per_hour']} MiB/h on flash, "
          f"{r['store_mb_per_hour']} MiB/h in the store")
    print(json.dumps(r))
