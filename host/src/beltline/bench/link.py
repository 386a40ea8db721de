"""``beltline bench link``: a virtual walk over a real BLE stack (Bumble), through bleak.

The virtual belt unit streams the firmware's packets over Bumble's in-process link to the
host's ``BleLink``; optional radio loss (notifications the unit sends that never arrive) and
a forced disconnect. The host asks the unit's logbook for every gap its timeline reports.
Throughput is measured with a burst (the unit as fast as the stack takes it), latency at the
real-time pace, from the unit handing a notification to the stack to the host receiving it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import statistics
import time

from beltline.link.base import LinkState
from beltline.link.ble import BleLink
from beltline.link.receiver import Receiver
from beltline.sim import scenarios, wearer
from beltline.sim.radio import BumbleClient, VirtualBeltUnit, VirtualRadio

log = logging.getLogger(__name__)


class _LossyUnit(VirtualBeltUnit):
    def __init__(self, *a: object, loss: float = 0.0, seed: int = 0, **kw: object) -> None:
        super().__init__(*a, **kw)  # type: ignore[arg-type]
        self.loss = loss
        self.rng = random.Random(seed)
        self.sent_at: dict[int, float] = {}
        self.sends: dict[int, int] = {}
        orig = self.device.notify_subscribers

        async def notify(attr: object, value: bytes | None = None, force: bool = False) -> None:
            if attr is self.stream and value is not None and len(value) >= 10:
                tick = int.from_bytes(value[4:8], "little")
                self.sent_at.setdefault(tick, time.monotonic())
                self.sends[tick] = self.sends.get(tick, 0) + 1
                if self.rng.random() < self.loss:
                    return  # lost in the air: the unit does not know
            await orig(attr, value, force)

        self.device.notify_subscribers = notify  # type: ignore[method-assign]


async def _run(seconds: float, speed: float, loss: float, drop_at: float | None,
               drop_for: float) -> dict[str, object]:
    rec = wearer.simulate(scenarios.build("healthy_walk", max(seconds / 60, 0.5), 1), 100.0,
                          seed=1)
    n = int(seconds * 100)
    rec.t, rec.acc, rec.gyr = rec.t[:n], rec.acc[:n], rec.gyr[:n]
    radio = VirtualRadio()
    unit = _LossyUnit(radio, rec, speed=speed, drop_at_s=drop_at, drop_for_s=drop_for,
                      loss=loss)
    await unit.start()
    link = BleLink(str(unit.device.random_address), 100.0, backend=BumbleClient,
                   backend_kwargs={"device": radio.central()})
    rx = Receiver(100.0)
    await link.connect()
    t0 = time.monotonic()
    task = asyncio.create_task(unit.run())

    async def stop() -> None:
        await unit.done.wait()
        await asyncio.sleep(0.5)
        await link.disconnect()

    stopper = asyncio.create_task(stop())
    asked: set[tuple[int, int]] = set()
    arrived: dict[int, float] = {}
    async for item in link.notifications():
        if isinstance(item, LinkState):
            continue
        for _ in rx.push(item.payload):
            pass
        if len(item.payload) >= 10:
            arrived.setdefault(int.from_bytes(item.payload[4:8], "little"), item.host_t)
        for g in rx.gaps:
            if (g.start, g.end) not in asked and link.client is not None:
                asked.add((g.start, g.end))
                await link.request_replay(g.start, g.end)
    for _ in rx.flush():
        pass
    await stopper
    task.cancel()
    s = rx.timeline.stats
    wall = time.monotonic() - t0
    # latency of packets that went through once (not logged, lost or replayed)
    latency = [(arrived[k] - unit.sent_at[k]) * 1000 for k, c in unit.sends.items()
               if c == 1 and k in arrived]
    return {"samples_sent": len(rec.t), "samples_received": s.samples,
            "samples_lost": len(rec.t) - s.samples, "duplicates": s.duplicates,
            "reconnects": link.reconnects, "backfilled": s.late + unit.replayed,
            "wall_s": wall, "latency": latency}


def main(seconds: float, disconnect_at: float | None, disconnect_for: float,
         loss: float) -> dict[str, object]:
    logging.getLogger("bumble").setLevel(logging.WARNING)
    run = asyncio.run(_run(seconds, 1.0 if seconds <= 120 else 10.0, loss, disconnect_at,
                           disconnect_for))
    burst = asyncio.run(_run(min(seconds, 120.0), 0.0, 0.0, None, 0.0))
    lat = sorted(run.pop("latency"))  # type: ignore[arg-type]
    burst.pop("latency")
    result = {k: run[k] for k in ("samples_sent", "samples_received", "samples_lost",
                                  "duplicates", "reconnects", "backfilled")}
    result["max_samples_per_s"] = round(float(burst["samples_received"])  # type: ignore
                                        / float(burst["wall_s"]))  # type: ignore[arg-type]
    result["latency_ms_p50"] = round(statistics.median(lat), 2) if lat else None
    result["latency_ms_p99"] = round(lat[min(len(lat) - 1, len(lat) * 99 // 100)], 2) \
        if lat else None
    print(f"{result['samples_sent']} samples sent, {result['samples_received']} received, "
          f"{result['samples_lost']} lost, {result['duplicates']} duplicates, "
          f"{result['reconnects']} reconnects, {result['backfilled']} backfilled")
    print(f"burst ceiling {result['max_samples_per_s']} samples/s; latency p50 "
          f"{result['latency_ms_p50']} ms, p99 {result['latency_ms_p99']} ms")
    print(json.dumps(result))
    return result
