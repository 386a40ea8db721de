"""``beltline device simulate``: the virtual belt unit (the firmware's own application under
MicroPython on simulated hardware, its bluetooth emulated on Bumble) streaming a virtual
wearer to this host's Bluetooth link, then the host's own receiver over everything that
arrived. One run, one JSON-able dict: the firmware's figures and the host's counts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from beltline.firmware import control
from beltline.link.base import LinkState, Notification
from beltline.link.receiver import Receiver
from beltline.sim import scenarios, table, wearer
from beltline.sim.unit import ODR, VirtualBleLink, micropython

__all__ = ["ODR", "micropython", "run_link", "simulate"]


def recording(seconds: float, rate_hz: float, scenario: str, seed: int) -> wearer.Recording:
    if scenario in table.TABLE_SCENARIOS:  # the belt off the body too
        rec = table.day(scenario, max(seconds / 60.0, 0.5), seed, rate_hz).rec
        n = int(seconds * rate_hz)
        rec.t, rec.acc, rec.gyr = rec.t[:n], rec.acc[:n], rec.gyr[:n]
        return rec
    rec = wearer.simulate(scenarios.build(scenario, max(seconds / 60.0, 0.5), seed), rate_hz,
                          seed=seed, mount="back", misalign_deg=(0.0, 0.0, 0.0))
    n = int(seconds * rate_hz)
    rec.t, rec.acc, rec.gyr = rec.t[:n], rec.acc[:n], rec.gyr[:n]
    return rec


async def run_link(link: VirtualBleLink, commands: list[bytes] | None = None
                   ) -> tuple[Receiver, list[str]]:
    """Connect ``link``, send ``commands``, receive until the walk is over; the receiver and
    the link states seen."""
    rx = Receiver(link.rate_hz)
    states: list[str] = []
    await link.connect()
    for c in commands or []:
        await link.send(c)
    try:
        async for item in link.notifications():
            if isinstance(item, LinkState):
                states.append(item.state)
                if item.state == "connected":
                    list(rx.on_connected(item.clock))
                elif item.state == "lost":
                    list(rx.flush())
                continue
            assert isinstance(item, Notification)
            list(rx.push(item.payload))
        list(rx.flush())
    finally:
        await link.disconnect()
    return rx, states


def simulate(seconds: float, imu: str = "lsm6dso", disconnect_at: float | None = None,
             disconnect_for: float = 0.0, queue: int = 8, commands: bool = False,
             scenario: str = "healthy_walk", seed: int = 1,
             speed: float = 10.0) -> dict[str, Any]:
    """Run the virtual unit for ``seconds`` of a virtual wearer's ``scenario`` at ``speed``
    times real time; ``commands``: the host also sends the mount, training mode, thresholds,
    a malformed command, a time sync and the auto-record setting (on, stop after 240 s)."""
    rate = ODR[imu]
    rec = recording(seconds, rate, scenario, seed)
    cmds: list[bytes] = []
    if commands:  # what the host sends after its own calibration
        m = wearer.mount_matrix(wearer.MOUNTS["back"], (0.0, 0.0, 0.0)).reshape(-1)
        cmds = [control.encode(control.SET_MOUNT, *m), control.encode(control.MODE, 1),
                control.encode(control.THRESHOLDS, 7.0, 6.0, 10.0), b"\x42\x00",
                control.encode(control.TIME_SYNC, 123456),
                control.encode(control.AUTO_RECORD, 1, 240.0)]
    link = VirtualBleLink(rec, speed, disconnect_at, disconnect_for, imu, queue=queue)
    t0 = time.monotonic()
    rx, states = asyncio.run(run_link(link, cmds))
    r = dict(link.report)
    s = rx.stats
    st = link.status
    r.update({"samples_received": rx.delivered,
              "samples_lost": max(0, int(r.get("samples", 0)) - rx.delivered),
              "duplicates": rx.redelivered, "copies_discarded": s.duplicates,
              "missing_samples": s.missing_samples,
              "late_backfilled": s.late, "rejected": s.rejected_total,
              "reconnects": link.reconnects, "states": states, "host_wall_s":
              round(time.monotonic() - t0, 1),
              "status": list(vars(st).values()) if st is not None else None})
    r["alloc_bytes_per_sample"] = round(float(r.get("alloc_bytes_per_sample", 0.0)), 1)
    return r
