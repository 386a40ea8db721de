"""The Bluetooth link end to end over a real BLE stack (Bumble, in process): bleak client
with a Bumble backend <-> the virtual belt unit's GATT server."""

from __future__ import annotations

import asyncio

from beltline.link.base import LinkState
from beltline.link.ble import BleLink
from beltline.link.receiver import Receiver
from beltline.sim.radio import BumbleClient, VirtualBeltUnit, VirtualBleLink, VirtualRadio
from beltline.sim.wearer import Segment, simulate


async def _stream(unit: VirtualBeltUnit, link: BleLink) -> tuple[Receiver, list[str], int]:
    rx = Receiver(100.0)
    await link.connect()
    task = asyncio.create_task(unit.run())

    async def stop() -> None:
        await unit.done.wait()
        await asyncio.sleep(0.3)
        await link.disconnect()

    stopper = asyncio.create_task(stop())
    states, n = [], 0
    async for item in link.notifications():
        if isinstance(item, LinkState):
            states.append(item.state)
            continue
        list(rx.push(item.payload))
        n += 1
    list(rx.flush())
    await stopper
    task.cancel()
    return rx, states, n


def _setup(rec: object, **kw: object) -> tuple[VirtualBeltUnit, BleLink]:
    radio = VirtualRadio()
    unit = VirtualBeltUnit(radio, rec, **kw)  # type: ignore[arg-type]
    link = BleLink(str(unit.device.random_address), 100.0, backend=BumbleClient,
                   backend_kwargs={"device": radio.central()})
    return unit, link


def test_a_long_walk_arrives_whole_over_ble() -> None:
    rec = simulate([Segment("stand", 10.0), Segment("walk", 590.0)], 100.0, seed=2)

    async def go() -> tuple[Receiver, list[str], int, VirtualBeltUnit]:
        unit, link = _setup(rec)
        await unit.start()
        rx, states, n = await _stream(unit, link)
        assert link.info is not None
        assert link.info.mtu == 247  # the MTU exchange happened
        assert link.info.firmware == "0.1.0"  # Device Information was read
        return rx, states, n, unit

    rx, states, n, unit = asyncio.run(go())
    s = rx.timeline.stats
    assert s.samples == len(rec.t)  # ten minutes, every sample
    assert s.missing_samples == 0
    assert s.duplicates == 0
    assert n == unit.sent
    assert states == ["connected", "closed"]


def test_a_dropped_link_is_reconnected_and_backfilled_without_doubling() -> None:
    rec = simulate([Segment("stand", 5.0), Segment("walk", 85.0)], 100.0, seed=3)

    async def go() -> tuple[Receiver, list[str], BleLink, VirtualBeltUnit]:
        unit, link = _setup(rec, drop_at_s=30.0, drop_for_s=30.0)
        await unit.start()
        rx, states, _ = await _stream(unit, link)
        return rx, states, link, unit

    rx, states, link, unit = asyncio.run(go())
    s = rx.timeline.stats
    assert states == ["connected", "lost", "connected", "closed"]
    assert link.reconnects == 1
    assert link.subscriptions == 2  # one subscription per link: the callback is not doubled
    assert unit.logged > 0
    assert unit.replayed == unit.logged
    assert s.samples == len(rec.t)
    assert s.missing_samples == 0
    assert s.duplicates == 0


def test_malformed_notifications_are_counted_and_lose_nothing() -> None:
    rec = simulate([Segment("stand", 5.0), Segment("walk", 25.0)], 100.0, seed=4)

    async def go() -> Receiver:
        unit, link = _setup(rec, junk_every=10)
        await unit.start()
        rx, _, _ = await _stream(unit, link)
        return rx

    rx = asyncio.run(go())
    s = rx.timeline.stats
    assert s.rejected.get("short", 0) > 0  # the stubs
    assert s.rejected_total > s.rejected.get("short", 0)  # and the oversized ones, cut
    assert s.samples == len(rec.t)


def test_commands_reach_the_unit_and_shutdown_disconnects() -> None:
    from beltline.firmware import control

    rec = simulate([Segment("stand", 5.0)], 100.0, seed=5)

    async def go() -> VirtualBeltUnit:
        unit, link = _setup(rec)
        await unit.start()
        await link.connect()
        await link.send(control.encode(control.MODE, 1))
        await link.request_replay(0, 100)
        await link.disconnect()
        await asyncio.sleep(0.2)
        return unit

    unit = asyncio.run(go())
    assert unit.commands[0] == bytes([control.MODE, 1])
    assert control.parse(unit.commands[1]) == (control.REPLAY, (0, 100))
    assert unit.connection is None  # a clean shutdown leaves the unit disconnected


def test_the_virtual_ble_link_is_a_link() -> None:
    rec = simulate([Segment("stand", 5.0), Segment("walk", 15.0)], 100.0, seed=6)

    async def go() -> Receiver:
        link = VirtualBleLink(rec, speed=0)
        rx = Receiver(100.0)
        async with link:
            async for item in link.notifications():
                if not isinstance(item, LinkState):
                    list(rx.push(item.payload))
        list(rx.flush())
        return rx

    rx = asyncio.run(go())
    assert rx.timeline.stats.samples == len(rec.t)


def test_only_a_paired_host_can_command_the_unit() -> None:
    from beltline.firmware import control
    from bleak.exc import BleakError

    rec = simulate([Segment("stand", 5.0)], 100.0, seed=7)

    async def go() -> tuple[VirtualBeltUnit, str]:
        radio = VirtualRadio()
        unit = VirtualBeltUnit(radio, rec)
        await unit.start()
        stranger = BleLink(str(unit.device.random_address), 100.0, backend=BumbleClient,
                           backend_kwargs={"device": radio.central()}, pair=False)
        await stranger.connect()
        refused = ""
        try:
            await stranger.send(control.encode(control.MODE, 1))
        except (BleakError, Exception) as exc:  # the ATT error, whatever its type
            refused = type(exc).__name__ + str(exc)
        await stranger.disconnect()
        await asyncio.sleep(0.2)
        owner = BleLink(str(unit.device.random_address), 100.0, backend=BumbleClient,
                        backend_kwargs={"device": radio.central()})
        await owner.connect()
        await owner.send(control.encode(control.MODE, 1))
        await owner.disconnect()
        return unit, refused

    unit, refused = asyncio.run(go())
    assert refused  # the unpaired write was refused
    assert unit.commands == [bytes([control.MODE, 1])]  # only the paired host's got through


def test_the_host_decodes_the_status_record_the_firmware_packs() -> None:
    import struct

    from beltline.firmware import protocol

    from beltline.link import gatt

    values = (1, 0, 1, 87, 1, 10400, 2, 3, 4, 5, 123456, 789)
    s = gatt.decode_status(struct.pack(protocol.STATUS_FORMAT, *values))
    assert (s.battery_pct, s.mode, s.rate_hz, s.sync_host_ms, s.sync_tick) == (
        87, 1, 104.0, 123456, 789)
