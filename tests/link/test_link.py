"""The virtual link: the firmware's packets through the host receiver into the pipeline."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from beltline.link.base import LinkState, Notification
from beltline.link.receiver import Receiver
from beltline.pipeline import Pipeline
from beltline.pipeline.output import Output
from beltline.sim import scenarios
from beltline.sim.device import Faults
from beltline.sim.link import VirtualLink
from beltline.sim.wearer import Segment, simulate

REC = simulate(scenarios.build("hip_drop_left", 2.0, 4), 100.0, seed=4, mount="left")


async def _run(link: VirtualLink) -> tuple[Output, Receiver, list[LinkState]]:
    out = Output()
    states: list[LinkState] = []
    async with link:
        assert link.info is not None
        rx = Receiver(link.info.rate_hz)
        p = Pipeline()
        async for item in link.notifications():
            if isinstance(item, LinkState):
                states.append(item)
                continue
            assert isinstance(item, Notification)
            for chunk in rx.push(item.payload):
                out.extend(p.push(chunk.t, chunk.acc, chunk.gyr))
        for chunk in rx.flush():
            out.extend(p.push(chunk.t, chunk.acc, chunk.gyr))
        out.extend(p.finish())
    return out, rx, states


def test_virtual_device_angles_match_the_truth_after_calibration() -> None:
    out, rx, states = asyncio.run(_run(VirtualLink(REC, speed=0)))
    assert [s.state for s in states] == ["connected", "closed"]
    assert rx.timeline.stats.missing_samples == 0
    assert rx.timeline.stats.samples == len(REC.t)
    truth = np.interp(out.t, REC.t, REC.obliquity_deg)
    tilt = np.interp(out.t, REC.t, REC.tilt_deg)
    assert np.sqrt(np.mean((out.obliquity_deg - truth) ** 2)) < 1.5
    assert np.sqrt(np.mean((out.tilt_deg - tilt) ** 2)) < 1.5
    assert {(e.kind, e.side) for e in out.episodes} == {("hip_drop", "left")}


def test_a_disconnect_is_a_lost_state_and_a_gap() -> None:
    faults = Faults(loss=0.02, duplicate=0.02, reorder=0.02, disconnect_at_s=70.0,
                    disconnect_for_s=5.0)
    out, rx, states = asyncio.run(_run(VirtualLink(REC, faults=faults, seed=3, speed=0)))
    assert [s.state for s in states] == ["connected", "lost", "connected", "closed"]
    stats = rx.timeline.stats
    assert stats.missing_samples >= 500
    assert stats.duplicates > 0
    assert stats.samples + stats.missing_samples == len(REC.t)
    long_gaps = [g for g in out.gaps if g.seconds > 4.0]
    assert len(long_gaps) == 1
    assert long_gaps[0].start_s == pytest.approx(70.0, abs=0.3)
    assert not ((out.t > 70.3) & (out.t < 74.7)).any()


def test_real_time_pacing() -> None:
    rec = simulate([Segment("stand", 6.0)], 100.0, seed=1)
    link = VirtualLink(rec, speed=10.0)

    async def go() -> float:
        t0 = time.monotonic()
        async with link:
            async for _ in link.notifications():
                pass
        return time.monotonic() - t0

    elapsed = asyncio.run(go())
    assert 0.5 <= elapsed < 2.0  # 6 s of data at 10x


def test_commands_need_a_connection() -> None:
    link = VirtualLink(REC, speed=0)

    async def go() -> None:
        with pytest.raises(ConnectionError):
            await link.send(b"\x01")
        async with link:
            await link.send(b"\x01")
        with pytest.raises(ConnectionError):
            await link.send(b"\x02")

    asyncio.run(go())
    assert link.sent == [b"\x01"]


def test_a_rebooted_unit_is_a_new_epoch_not_duplicates() -> None:
    from beltline.firmware.wire import Batcher

    from beltline.link.base import ClockPoint

    def packets(first_tick: int, n: int) -> list[bytes]:
        b = Batcher(247)
        out = []
        for k in range(n):
            p = b.add_full(first_tick + k, 0.0, 0.0, 0.0, 0.0, 9.8, 0.0, 0.0, 0.0)
            if p is not None:
                out.append(bytes(p))
        return out

    rx = Receiver(100.0)
    t: list[float] = []
    list(rx.on_connected(ClockPoint(7, 0, 1000.0, 100.0)))
    for p in packets(0, 1400):  # 14 s of boot 7
        t += [float(x) for c in rx.push(p) for x in c.t]
    # the unit rebooted 20 s after its first boot: ticks start again at 0
    t += [float(x) for c in rx.on_connected(ClockPoint(9, 100, 1021.0, 100.0)) for x in c.t]
    for p in packets(0, 700):
        t += [float(x) for c in rx.push(p) for x in c.t]
    t += [float(x) for c in rx.flush() for x in c.t]
    assert rx.epochs == 1
    assert rx.stats.duplicates == 0
    assert rx.redelivered == 0
    assert rx.delivered == len(t) == 2100
    assert np.all(np.diff(t) > 0)  # one time axis, going forward
    assert rx.offset_s == pytest.approx(20.0)  # boot 9's tick 0 was 20 s after boot 7's


def test_choosing_a_unit_among_those_found() -> None:
    from beltline.errors import UsageError
    from beltline.link.ble import NoUnit, choose

    one = [("Beltline", "AA:00", -60)]
    two = [*one, ("Beltline", "BB:00", -70)]
    assert choose(one) == one[0]
    assert choose(two, address="bb:00") == two[1]
    with pytest.raises(UsageError, match="2 belt units nearby; choose one with --address"):
        choose(two)
    with pytest.raises(NoUnit, match="switched on"):
        choose([])
    with pytest.raises(NoUnit, match="at CC:00"):
        choose(two, address="CC:00")
