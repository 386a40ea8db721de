"""``beltline bench link``: a virtual walk through the firmware's own code and a real BLE stack.

The virtual belt unit (the firmware in MicroPython, its bluetooth emulated on Bumble) streams a
virtual wearer to the host's ``BleLink`` (bleak over the Bumble backend), inside a real
``LiveSession`` recording into a session store in a temporary folder. Optional radio loss
(notifications the unit sent that never arrive) and a forced disconnect (the host out of
range: the unit logs, and replays in order once the host is back). While the host is away an
unpaired central (a stranger's phone) connects, reads, subscribes and writes every control
command: the unit must give it nothing and take nothing. A second, short run as fast as the
chain goes gives the throughput ceiling. Latency: from the unit handing a notification to its
stack to the host receiving it (packets sent once, at the real-time pace).
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from beltline.firmware import control
from beltline.link.gatt import CONTROL_UUID, STATUS_UUID, STREAM_UUID
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession
from beltline.sessions.store import Store
from beltline.sim import scenarios, wearer
from beltline.sim.radio import BumbleClient
from beltline.sim.unit import ODR, VirtualBleLink

log = logging.getLogger(__name__)

EVERY_COMMAND = [
    control.encode(control.CALIBRATE),
    control.encode(control.SET_MOUNT, 0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0),
    control.encode(control.THRESHOLDS, 10.0, 10.0, 10.0),
    control.encode(control.MODE, 1),
    control.encode(control.HAPTICS, 0),
    control.encode(control.STREAM, 0),
    control.encode(control.TIME_SYNC, 12345),
    control.encode(control.REPLAY, 0, 1 << 30),
    control.encode(control.REPLAY_STOP),
]


class _BenchLink(VirtualBleLink):
    """The virtual unit's link, stamping each packet's first arrival; a stranger's central
    tries its luck while the host is out of range."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.arrived: dict[tuple[int, int], float] = {}  # (boot, first tick) -> arrival
        self.sent_at: dict[tuple[int, int], float] = {}
        self.sends: dict[tuple[int, int], int] = {}
        self.intruder: dict[str, int] = {}

    async def connect(self) -> Any:
        info = await super().connect()
        self.unit.on_notify = self._sent
        if self.drop_at_s is not None:  # the stranger comes while the host is away
            asyncio.get_running_loop().create_task(self._intruder())
        return info

    async def _host_arrives(self) -> None:
        if self.drop_at_s is None:  # no time away: the stranger comes before the host
            await self._intruder()

    def _key(self, payload: bytes) -> tuple[int, int] | None:
        if len(payload) < 10 or payload[0] != 1:
            return None
        return (self.unit.boots, int.from_bytes(payload[4:8], "little"))

    def _sent(self, _handle: int, payload: bytes, t: float) -> None:
        k = self._key(payload)
        if k is not None:
            self.sent_at.setdefault(k, t)
            self.sends[k] = self.sends.get(k, 0) + 1

    def _on_stream(self, char: Any, data: bytearray) -> None:
        k = self._key(bytes(data))
        if k is not None:
            self.arrived.setdefault(k, time.monotonic())
        super()._on_stream(char, data)

    async def _intruder(self) -> None:
        u = self.unit
        at = (self.drop_at_s + 2.0) if self.drop_at_s is not None else 0.0
        await u.wait_until(lambda: u.clock_s >= at, 1e9)
        got = {"unpaired_connected": 0, "unpaired_reads_accepted": 0,
               "unpaired_writes_accepted": 0, "unpaired_writes_tried": 0,
               "unpaired_notifications": 0}
        self.intruder = got
        client = BleakClient(BLEDevice(self.address, self.name, {}), backend=BumbleClient,
                             bumble_device=self.radio.central(), timeout=10.0)
        try:
            await client.connect()
        except (BleakError, OSError, TimeoutError) as exc:
            log.info("the stranger could not connect: %s", exc)
            return
        got["unpaired_connected"] = 1
        try:
            def heard(_c: Any, _d: bytearray) -> None:
                got["unpaired_notifications"] += 1

            for uuid, sub in ((STREAM_UUID, True), (STATUS_UUID, True)):
                try:
                    if sub:
                        await client.start_notify(uuid, heard)
                except (BleakError, OSError) as exc:
                    log.debug("subscribe refused: %s", exc)
            try:
                await client.read_gatt_char(STATUS_UUID)
                got["unpaired_reads_accepted"] += 1
            except (BleakError, OSError) as exc:
                log.debug("read refused: %s", exc)
            for cmd in EVERY_COMMAND:
                got["unpaired_writes_tried"] += 1
                try:
                    await client.write_gatt_char(CONTROL_UUID, cmd, response=True)
                    got["unpaired_writes_accepted"] += 1
                except (BleakError, OSError) as exc:
                    log.debug("write refused: %s", exc)
            # listen a while (device time) for anything the unit might send it
            t0 = u.clock_s
            await u.wait_until(lambda: u.clock_s >= t0 + 3.0, 60.0)
        finally:
            try:
                await client.disconnect()
            except (BleakError, OSError) as exc:
                log.debug("stranger disconnect: %s", exc)


def _run(seconds: float, speed: float, loss: float, drop_at: float | None,
         drop_for: float) -> dict[str, Any]:
    rate = ODR["lsm6dso"]
    rec = wearer.simulate(scenarios.build("healthy_walk", max(seconds / 60, 0.5), 1), rate,
                          seed=1)
    n = int(seconds * rate)
    rec.t, rec.acc, rec.gyr = rec.t[:n], rec.acc[:n], rec.gyr[:n]
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "bench.db"
        link = _BenchLink(rec, speed, drop_at, drop_for, loss=loss)
        live = LiveSession(link, store_path, Settings(), name="bench link")
        t0 = time.monotonic()
        live.start()
        live.done.wait()
        wall = time.monotonic() - t0
        if live.state.error:
            raise RuntimeError(f"the bench session failed: {live.state.error}")
        with Store(store_path) as store:
            sid = live.state.session_id
            assert sid is not None
            stored = store.session(sid).samples
            gaps = store.gaps(sid)
    rx = live.receiver
    assert rx is not None
    report = link.report
    st = rx.stats
    sent = int(report.get("samples", 0))
    latency = [(link.arrived[k] - link.sent_at[k]) * 1000 for k, c in link.sends.items()
               if c == 1 and k in link.arrived]
    out: dict[str, Any] = {
        "peripheral": "firmware" if report.get("boot_id") is not None else "?",
        "samples_sent": sent, "samples_received": rx.delivered,
        "samples_stored": stored, "samples_lost": max(0, sent - rx.delivered),
        "duplicates": rx.redelivered, "copies_discarded": st.duplicates,
        "reconnects": link.reconnects,
        "backfilled": int(report.get("replayed", 0)),
        "late_not_analysed": rx.late_not_analysed, "store_gaps": len(gaps),
        "notify_enomem": report.get("notify_enomem"),
        "lost_in_air": link.unit.stack.lost_in_air if link.unit.stack else 0,
        "wall_s": round(wall, 1), "latency": latency,
        "stream_s": (max(link.arrived.values()) - min(link.arrived.values()))
        if link.arrived else 0.0,
        "refused_by_unit": report.get("refused"), **link.intruder}
    return out


def main(seconds: float, disconnect_at: float | None, disconnect_for: float,
         loss: float) -> dict[str, object]:
    logging.getLogger("bumble").setLevel(logging.ERROR)
    run = _run(seconds, 1.0 if seconds <= 120 else 10.0, loss, disconnect_at, disconnect_for)
    burst_s = min(seconds, 30.0)
    burst = _run(burst_s, 0.0, 0.0, None, 0.0)
    lat = sorted(run.pop("latency"))
    result: dict[str, object] = {k: v for k, v in run.items() if k not in ("wall_s",
                                                                           "stream_s")}
    # the ceiling: samples over the span from the first to the last packet of the burst
    result["max_samples_per_s"] = round(burst["samples_received"] / max(burst["stream_s"],
                                                                         1e-3))
    result["latency_ms_p50"] = round(statistics.median(lat), 2) if lat else None
    result["latency_ms_p99"] = round(lat[min(len(lat) - 1, len(lat) * 99 // 100)], 2) \
        if lat else None
    result["wall_s"] = run["wall_s"]
    print(f"peripheral: {result['peripheral']} (the firmware in MicroPython, its bluetooth on "
          f"Bumble); {result['samples_sent']} samples sent, {result['samples_received']} "
          f"received, {result['samples_stored']} rows stored (100 Hz), "
          f"{result['samples_lost']} lost, {result['duplicates']} duplicated "
          f"({result['copies_discarded']} transport copies discarded), "
          f"{result['reconnects']} reconnects, {result['backfilled']} packets backfilled")
    print(f"unpaired central: {result.get('unpaired_writes_accepted')} of "
          f"{result.get('unpaired_writes_tried')} writes accepted, "
          f"{result.get('unpaired_reads_accepted')} reads, "
          f"{result.get('unpaired_notifications')} notifications")
    print(f"burst ceiling {result['max_samples_per_s']} samples/s; latency p50 "
          f"{result['latency_ms_p50']} ms, p99 {result['latency_ms_p99']} ms")
    print(json.dumps(result))
    return result
