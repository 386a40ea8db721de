"""End to end over a real BLE stack: this host's bleak link (Bumble backend) <-> Bumble <-> the
emulated MicroPython ``bluetooth`` module <-> the firmware's own application in the real
``micropython`` binary (the virtual belt unit). Accelerated time; every wait is on a state."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import numpy as np
import pytest
from beltline.firmware import control, protocol
from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from beltline.link import gatt
from beltline.link.ble import BleLink
from beltline.link.gatt import CONTROL_UUID, STATUS_UUID, STREAM_UUID
from beltline.sim.devicesim import recording, run_link
from beltline.sim.peer import MP, Stack
from beltline.sim.radio import UNIT_ADDRESS, BumbleClient, VirtualRadio
from beltline.sim.unit import VirtualBleLink, VirtualUnit

pytestmark = pytest.mark.usefixtures("micropython")


def test_ten_minutes_with_a_30s_drop_arrive_whole_and_once() -> None:
    rec = recording(600.0, 104.0, "healthy_walk", 2)
    link = VirtualBleLink(rec, speed=15.0, drop_at_s=120.0, drop_for_s=30.0)
    rx, states = asyncio.run(run_link(link))
    r = link.report
    assert link.rssi_dbm is not None  # it was found by a scan for the service
    assert states == ["connected", "lost", "connected", "closed"]
    assert link.reconnects == 1
    assert link.subscriptions == 2  # one subscription per connection: no doubled callback
    assert r["bonds"] == 1
    assert r["connects"] == 2
    assert r["samples"] == len(rec.t)
    assert rx.delivered == r["samples"]  # every sample reached the receiver ...
    assert rx.redelivered == 0  # ... exactly once, in order
    assert rx.stats.missing_samples == 0
    assert r["logged"] > 200
    # every logged packet went out again: a compact record holds at most 26 samples (< 2
    # packets of 14), so at least half as many records as packets logged
    assert r["replayed"] >= r["logged"] // 2
    assert r["mtu"] == 247
    assert r["imu_overruns"] == 0
    assert r["wdt_feeds"] == r["polls"]
    assert r["mem_free_last"] >= r["mem_free_after_2min"] - 2048  # flat memory
    # heap per sample on the 64-bit unix port (32-B blocks): measured ~13.4 kB
    assert 0 < r["alloc_bytes_per_sample"] <= 15_000
    assert link.info is not None
    assert link.info.firmware == "0.2.0"


def test_a_rebooted_unit_starts_a_new_epoch_and_keeps_its_bond() -> None:
    rec = recording(60.0, 104.0, "healthy_walk", 3)
    link = VirtualBleLink(rec, speed=12.0)
    stacks: list[Stack] = []

    async def go() -> Any:
        async def reboot() -> None:
            async def walked_25_s() -> None:
                while not hasattr(link, "unit") or link.unit.clock_s < 25.0:
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(walked_25_s(), 300.0)
            stacks.append(link.unit.stack)  # type: ignore[arg-type]
            await link.unit.reboot()
            stacks.append(link.unit.stack)  # type: ignore[arg-type]

        task = asyncio.create_task(reboot())
        out = await run_link(link)
        await task
        return out

    rx, states = asyncio.run(go())
    assert states == ["connected", "lost", "connected", "closed"]
    assert rx.epochs == 1  # the restarted ticks were a new epoch, not duplicates
    assert rx.redelivered == 0
    assert rx.stats.duplicates == 0
    # both boots' samples arrived; a power cut loses at most what was in RAM and the radio
    assert rx.delivered >= len(rec.t) - 2 * 104
    assert 20.0 < rx.offset_s < 40.0  # the second boot sits after the first on the time axis
    assert stacks[1].found_keys  # the host re-encrypted with the bond the unit kept on flash
    assert link.unit.boots == 2


def test_calibration_reaches_the_unit_which_buzzes_on_its_own(tmp_path: Any) -> None:
    from beltline.pipeline.settings import Settings
    from beltline.sessions.live import LiveSession
    from beltline.sessions.store import Store
    from beltline.sim import scenarios, wearer

    # calibration (stand, walk), then a third of healthy walking, a third with a hip drop in
    # right stance, a third healthy again; the unit is clipped on the back (not its own axes)
    segments = scenarios.build("hip_drop_right", 2.4, 4)
    rec = wearer.simulate(segments, 104.0, seed=4, mount="back")
    link = VirtualBleLink(rec, speed=10.0)
    live = LiveSession(link, tmp_path / "a.db", Settings(alert_mode="training"))
    live.start()
    assert live.done.wait(600)
    assert live.state.error == ""
    r = link.report
    cal = live.pipeline.calibration
    assert cal is not None
    # SET_MOUNT (37 bytes) arrived whole: the unit holds the pipeline's rotation
    np.testing.assert_allclose(r["mount"], cal.R.reshape(-1), atol=1e-6)
    (th,) = [c for c in live.sent_commands if c[0] == control.THRESHOLDS][-1:]
    drop_deg, tilt_deg, dwell_s = struct.unpack("<3f", th[1:])
    assert r["drop_deg"] == pytest.approx(drop_deg)
    assert r["tilt_deg"] == pytest.approx(tilt_deg)
    assert r["dwell_s"] == pytest.approx(dwell_s) == Settings().min_episode_s
    ref = drop_deg - Settings().hip_drop_deg  # the wearer's own reference, within its band
    assert Settings().hip_drop_reference_min_deg - 1e-6 <= ref
    assert ref <= Settings().hip_drop_reference_max_deg + 1e-6
    assert r["mode"] == 1
    assert r["refused"] == 0
    assert link.unit.stack is not None
    assert link.unit.stack.writes_cut == 0
    # the unit's own alert, on the calibrated pelvis axes: during the drop, not before it
    starts = np.cumsum([0.0] + [s.seconds for s in segments])
    drop_on = next(starts[i] for i, s in enumerate(segments) if s.hip_drop_deg > 0)
    drop_off = next(starts[i + 1] for i, s in enumerate(segments) if s.hip_drop_deg > 0)
    assert r["motor_pulses"] > 0
    assert drop_on < r["pulse_ms"][0] / 1000.0 < drop_off + 10.0
    with Store(tmp_path / "a.db") as st:
        (info,) = st.sessions()
        assert (info.source, info.link) == ("live", "ble")
        assert st.meta(info.id)["clock"]  # the tick <-> wall clock mapping is kept
    assert live.state.battery_pct is not None
    assert live.state.rssi_dbm is not None
    assert live.state.unit["firmware"] == "0.2"


async def _connect(radio: VirtualRadio, pair: bool) -> BleakClient:
    client = BleakClient(BLEDevice(UNIT_ADDRESS, "Beltline", {}), backend=BumbleClient,
                         bumble_device=radio.central(), timeout=10.0, pair=pair)
    await client.connect()
    return client


TURN = (0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0)  # a quarter turn about z


def test_strangers_get_nothing_and_new_bonds_need_the_pairing_window() -> None:
    # the unit's clock runs at 20x wall time whatever the test is doing: data for a minute of
    # wall time, so a loaded machine's slow steps cannot outrun it (400 s once ran out, and
    # the unit ended before its report could say what it refused)
    rec = recording(1200.0, 104.0, "healthy_walk", 5)
    turn = TURN

    async def go() -> dict[str, Any]:
        radio = VirtualRadio()
        unit = VirtualUnit(radio, rec, speed=20.0)
        await unit.start()
        got: dict[str, Any] = {}
        heard: list[bytes] = []
        # an unpaired central: reads and writes refused by the stack, no stream
        c = await _connect(radio, pair=False)
        await c.start_notify(STREAM_UUID, lambda _c, d: heard.append(bytes(d)))
        for what, call in (("read", c.read_gatt_char(STATUS_UUID)),
                           ("write", c.write_gatt_char(CONTROL_UUID, control.encode(
                               control.MODE, 1), response=True))):
            try:
                await call
                got[what] = "accepted"
            except BleakError as exc:
                got[what] = str(exc)
        t0 = unit.clock_s
        assert await unit.wait_until(lambda: unit.clock_s > t0 + 5.0, 600.0)
        got["heard"] = len(heard)
        await c.disconnect()
        # after the pairing window (120 s from power-on) a new bond is refused: dropped
        assert await unit.wait_until(lambda: unit.clock_s > 125.0, 600.0)
        late = BleLink(UNIT_ADDRESS, backend=BumbleClient, reconnect=False,
                       backend_kwargs={"bumble_device": radio.central()}, attempts=1)
        try:
            await late.connect()
            got["late"] = "connected"
        except Exception as exc:
            got["late"] = type(exc).__name__
        await late.disconnect()
        # a press of the button opens a new window: pairing works, and it streams
        await unit.press_button()
        owner = BleLink(UNIT_ADDRESS, backend=BumbleClient,
                        backend_kwargs={"bumble_device": radio.central()})
        await owner.connect()
        # the status read as it connected, inside the window the press opened (a later
        # notification may come after the window has closed: 6 s of wall time at 20x)
        got["status"] = owner.status
        # 40 bytes: the unit's 37-byte buffer keeps a whole SET_MOUNT and cuts the rest
        await owner.send(control.encode(control.SET_MOUNT, *turn) + b"xyz")
        async def count() -> int:
            n = 0
            async for item in owner.notifications():
                if hasattr(item, "payload"):
                    n += 1
                    if n >= 20:
                        break
            return n

        got["owner_packets"] = await asyncio.wait_for(count(), 600.0)  # fail, never hang
        await owner.disconnect()
        got["report"] = await unit.stop()
        got["cut"] = unit.stack.writes_cut if unit.stack else -1
        unit.cleanup()
        return got

    got = asyncio.run(go())
    assert "encryption" in got["read"].lower()
    assert "encryption" in got["write"].lower()
    assert got["heard"] == 0  # it subscribed, and still got no stream
    assert got["late"] != "connected"
    r = got["report"]
    assert r["refused_bonds"] == 1  # the late pairing was dropped by the firmware
    assert r["pairing_windows"] == 2
    assert r["bonds"] == 1
    assert got["owner_packets"] == 20
    assert got["cut"] == 1  # the 40-byte write was cut to 37 by the stack ...
    np.testing.assert_allclose(r["mount"], TURN, atol=1e-7)  # ... and applied whole
    st = got["status"]
    assert st is not None
    assert st.flags & protocol.FLAG_SECURE
    assert st.flags & protocol.FLAG_PAIRING


def test_the_emulated_stack_cuts_writes_to_the_default_20_byte_buffer() -> None:
    async def go() -> tuple[bytes, bytes, bytes]:
        radio = VirtualRadio()
        stack = Stack(radio.device("u", "F0:00:00:00:00:01"))
        sent: list[bytes] = []
        stack.send = lambda kind, payload=b"": sent.append(bytes([kind]) + payload)  # type: ignore
        stack._register([["7a1e00005b1d4e6a9c478d2b3f6c0b1a",
                          [["7a1e00025b1d4e6a9c478d2b3f6c0b1a", 0x0008, []]]]])
        (h,) = [int(x) for x in stack.chars]
        write = stack.chars[h].value.write  # the central's write, as Bumble delivers it
        write(None, bytes(range(37)))
        short = stack.values[h]
        await stack._call(MP.M_SET_BUFFER, struct.pack("<HHB", h, 37, 0))
        write(None, bytes(range(37)))
        return short, stack.values[h], sent[-1]

    short, whole, frame = asyncio.run(go())
    assert short == bytes(range(20))  # MicroPython's default buffer: the rest is cut
    assert whole == bytes(range(37))
    assert frame[0] == MP.S_WRITTEN
    assert frame[5:] == whole


def test_a_unit_that_stays_away_is_given_up_and_the_page_says_so() -> None:
    from beltline.link.base import LinkState
    from beltline.sessions.live import LiveSession

    rec = recording(120.0, 104.0, "healthy_walk", 6)

    async def go() -> list[LinkState]:
        radio = VirtualRadio()
        unit = VirtualUnit(radio, rec, speed=10.0)
        await unit.start()
        link = BleLink(UNIT_ADDRESS, backend=BumbleClient, give_up_s=2.0, attempts=1,
                       timeout_s=1.0, backend_kwargs={"bumble_device": radio.central()})
        await link.connect()
        await unit.stop()  # switched off for good
        unit.cleanup()
        states = [s async for s in link.notifications() if isinstance(s, LinkState)]
        await link.disconnect()
        return states

    states = asyncio.run(go())
    assert [s.state for s in states] == ["connected", "lost", "failed", "closed"]
    assert "gave up reconnecting" in states[2].reason
    assert "switched on" in states[2].reason
    live = LiveSession(BleLink(UNIT_ADDRESS))
    live._on_state(states[2])
    assert live.state.connection == "failed"
    assert live.state.error.startswith("gave up reconnecting")


def test_the_host_decodes_the_status_record_the_firmware_packs() -> None:
    values = (1, 0, 2, 87, 1, 10400, 2, 3, 4, 5, 123456, 789, 0xDEADBEEF, 9, 17, 4242)
    s = gatt.decode_status(struct.pack(protocol.STATUS_FORMAT, *values))
    assert (s.battery_pct, s.mode, s.rate_hz, s.sync_host_ms, s.sync_tick, s.boot_id,
            s.refused, s.firmware) == (87, 1, 104.0, 123456, 789, 0xDEADBEEF, 9, "0.2")
    assert (s.log_first, s.log_next) == (17, 4242)  # the logbook's record numbers
    with pytest.raises(ValueError, match="status record of 3 bytes"):
        gatt.decode_status(b"\x01\x00\x01")


def test_a_scan_waits_for_a_dozing_units_window_and_ends_once_it_is_seen(
        monkeypatch: Any) -> None:
    # bleak's scanner replaced by one that hears a unit at a given time (no adapter here):
    # the scan listens past a dozing unit's 15-s period, and ends 2 s after the last new unit
    import types

    from beltline.firmware import doze

    from beltline.link import ble

    assert ble.SCAN_S > doze.PERIOD_S + doze.WINDOW_S

    def scanner(appear_after_s: float | None) -> type:
        class _Scanner:
            def __init__(self, detection_callback: Any, service_uuids: list[str]) -> None:
                assert service_uuids == [ble.SERVICE_UUID]
                self.cb = detection_callback

            async def __aenter__(self) -> _Scanner:
                async def hear() -> None:
                    assert appear_after_s is not None
                    await asyncio.sleep(appear_after_s)
                    dev = types.SimpleNamespace(name="Beltline", address="AA:BB")
                    other = types.SimpleNamespace(name="Watch", address="CC:DD")
                    self.cb(other, types.SimpleNamespace(service_uuids=[], local_name="W",
                                                         rssi=-40))
                    self.cb(dev, types.SimpleNamespace(service_uuids=[ble.SERVICE_UUID.upper()],
                                                       local_name=None, rssi=-60))
                if appear_after_s is not None:
                    self.task = asyncio.get_running_loop().create_task(hear())
                return self

            async def __aexit__(self, *exc: Any) -> None:
                pass
        return _Scanner

    async def timed(**kw: Any) -> tuple[list[Any], float]:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        units = await ble.scan(**kw)
        return units, loop.time() - t0

    monkeypatch.setattr(ble, "BleakScanner", scanner(0.3))
    units, took = asyncio.run(timed(timeout=30.0, settle_s=0.5))
    assert units == [("Beltline", "AA:BB", -60)]  # the other device's advertising is not ours
    assert 0.8 <= took < 20.0  # ended after the settle time, not at the timeout
    monkeypatch.setattr(ble, "BleakScanner", scanner(0.3))
    units, took = asyncio.run(timed(timeout=1.5, settle_s=None))  # `beltline scan`: all of it
    assert units == [("Beltline", "AA:BB", -60)]
    assert took >= 1.5
    monkeypatch.setattr(ble, "BleakScanner", scanner(None))
    units, took = asyncio.run(timed(timeout=0.5))
    assert units == []
    assert took >= 0.5
