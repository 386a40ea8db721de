"""The Bluetooth link to a belt unit, with bleak (the only module that imports it).

``find_unit`` scans for units advertising Beltline's service and picks one (by address or
name; exactly one nearby; several: the caller is told which). ``BleLink`` implements
``link.Link``: connect with ``bleak-retry-connector``'s ``establish_connection`` (the
ecosystem's retry helper: it retries the transient failures real adapters have), pair (LE
Secure Connections, "Just Works", bonded: the unit streams only to a bonded, encrypted link),
check the protocol version in the status characteristic, subscribe to the stream and the status,
then send a TIME_SYNC (the unit starts streaming at the host's first command, once the host is
sure to be listening) and read back the tick it was given: the ``ClockPoint`` of this
connection, reported with the ``connected`` state. A drop is reconnected with backoff (0.5 s
doubling to 8 s) for ``give_up_s``; then the link reports ``failed`` with what to check.
Subscribed once per connection, so the callback is never doubled. ``backend`` and
``backend_kwargs`` pass through to ``bleak.BleakClient`` (the virtual radio uses Bumble's).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from beltline.errors import BeltlineError, UsageError
from beltline.firmware import control, doze, wire
from beltline.link.base import ClockPoint, DeviceInfo, Link, LinkState, Notification
from beltline.link.gatt import (
    CONTROL_UUID,
    FIRMWARE_REV_UUID,
    SERVICE_UUID,
    STATUS_UUID,
    STREAM_UUID,
    Status,
    decode_status,
)

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
CHECKS = ("is the unit switched on and charged (its LED), within a few metres, and not "
          "connected to another phone or computer? Is Bluetooth on here, and may this "
          "program use it (Linux: BlueZ running, your user in the 'bluetooth' group)? "
          "docs/pairing.md has the details")


class NoAdapter(BeltlineError):
    """No Bluetooth adapter, or no permission to use it."""


class NoUnit(BeltlineError):
    """No belt unit could be found or reached."""


# a unit left alone advertises doze.WINDOW_S in every doze.PERIOD_S (firmware/doze.py): a scan
# this long sees it
SCAN_S = doze.PERIOD_S + doze.WINDOW_S + 1.0
SETTLE_S = 2.0  # once a unit is seen, a scan ends after this long without a new one


async def scan(timeout: float = SCAN_S, settle_s: float | None = SETTLE_S,
               **scanner_kwargs: Any) -> list[tuple[str, str, int | None]]:
    """Belt units advertising Beltline's service: (name, address, RSSI dBm). Listens up to
    ``timeout``; with ``settle_s``, ends ``settle_s`` after the last new unit appeared (a unit
    awake is seen within its first 100-ms advertising interval)."""
    loop = asyncio.get_running_loop()
    found: dict[str, tuple[str, str, int | None]] = {}
    last_new: list[float] = []

    def seen(d: BLEDevice, adv: Any) -> None:
        if SERVICE_UUID not in [u.lower() for u in (adv.service_uuids or [])]:
            return
        if d.address not in found:
            last_new.append(loop.time())
        found[d.address] = (d.name or adv.local_name or "?", d.address, adv.rssi)

    try:
        async with BleakScanner(detection_callback=seen, service_uuids=[SERVICE_UUID],
                                **scanner_kwargs):
            end = loop.time() + timeout
            while loop.time() < end:
                await asyncio.sleep(0.1)
                if settle_s is not None and last_new and loop.time() - last_new[-1] >= settle_s:
                    break
    except (BleakError, OSError, FileNotFoundError) as exc:
        raise NoAdapter(f"no usable Bluetooth adapter ({exc}); to try Beltline without a "
                        "belt unit, run `beltline monitor --virtual`") from exc
    return sorted(found.values())


def choose(units: list[tuple[str, str, int | None]], address: str | None = None,
           name: str | None = None) -> tuple[str, str, int | None]:
    """The unit to use among those found: by ``address`` or ``name``, else the only one.
    ``NoUnit`` if none matches, ``UsageError`` (exit 2) listing them if several do."""
    pick = units
    if address:
        pick = [u for u in units if u[1].upper() == address.upper()]
    elif name:
        pick = [u for u in units if u[0] == name]
    if not pick:
        what = f"at {address}" if address else (f"named {name!r}" if name else "")
        seen = "; ".join(f"{n} {a}" for n, a, _ in units) or "none"
        raise NoUnit(f"no belt unit {what} found (units seen: {seen}). Check: {CHECKS}")
    if len(pick) > 1:
        lines = "\n".join(f"  {n:<20} {a}  {r if r is not None else '?'} dBm"
                          for n, a, r in pick)
        raise UsageError(f"{len(pick)} belt units nearby; choose one with --address:\n"
                         f"{lines}")
    return pick[0]


class BleLink(Link):
    source = "ble"

    def __init__(self, address: str, rate_hz: float = 104.0, backend: Any = None,
                 backend_kwargs: dict[str, Any] | None = None, reconnect: bool = True,
                 pair: bool = True, name: str = "Beltline", rssi_dbm: float | None = None,
                 give_up_s: float = 600.0, attempts: int = 3,
                 timeout_s: float = 10.0) -> None:
        self.address = address
        self.name = name
        self.pair = pair
        self.rate_hz = rate_hz
        self.backend = backend
        self.backend_kwargs = backend_kwargs or {}
        self.reconnect = reconnect
        self.rssi_dbm = rssi_dbm
        self.give_up_s = give_up_s
        self.attempts = attempts
        self.timeout_s = timeout_s
        self.client: BleakClient | None = None
        # None in the queue: "look at the closing flags again" (the stream waits on the queue
        # alone, with no timer per notification)
        self.queue: asyncio.Queue[Notification | LinkState | None] = asyncio.Queue()
        self.reconnects = 0
        self.subscriptions = 0  # how many times the stream was subscribed (once per link)
        self.clock: ClockPoint | None = None
        self.status: Status | None = None
        self.statuses = 0  # status notifications received (a fresh one says "now")
        self._closing = False
        # False while the last notifications may still be on their way (a virtual unit being
        # switched off sends its last, partly filled packet then): the stream ends only after
        self._settled = True
        self._lost = asyncio.Event()
        # the stream of a link being set up is held back until its "connected" state (with
        # its clock point) is queued: a rebooted unit's new ticks must not reach the receiver
        # as part of the old boot
        self._held: list[Notification] | None = None

    async def _open(self) -> ClockPoint | None:
        kw: dict[str, Any] = dict(self.backend_kwargs)
        if self.backend is not None:
            kw["backend"] = self.backend
        device = await self._device()
        client = await establish_connection(BleakClient, device, self.name,
                                            disconnected_callback=self._dropped,
                                            max_attempts=self.attempts, pair=self.pair,
                                            timeout=self.timeout_s, **kw)
        try:
            return await self._set_up(client)
        except BaseException:
            # (what it brought stays held: given out after the next "connected" state)
            # a link that failed half-way (it dropped, a read failed, wrong protocol) is let
            # go: left open it would keep the unit (one central at a time) from the next try
            self.client = None
            if client.is_connected:
                try:
                    await client.disconnect()
                except (BleakError, OSError, TimeoutError) as exc:
                    log.debug("disconnecting a failed link: %s", exc)
            raise

    async def _set_up(self, client: BleakClient) -> ClockPoint | None:
        raw = bytes(await client.read_gatt_char(STATUS_UUID))
        for _ in range(200):  # a unit that has just booted publishes it within a second
            if raw:
                break
            await asyncio.sleep(0.05)
            raw = bytes(await client.read_gatt_char(STATUS_UUID))
        try:
            status = decode_status(raw)
        except ValueError as exc:
            raise BeltlineError(f"the belt unit's status is not this host's layout ({exc}): "
                                "update the firmware (`beltline device flash`) or this "
                                "program") from exc
        if status.version != wire.VERSION:
            raise BeltlineError(f"the belt unit speaks protocol {status.version}, this host "
                                f"{wire.VERSION}: update one of them")
        self.status = status
        if self._held is None:
            self._held = []
        await client.start_notify(STREAM_UUID, self._on_stream)
        await client.start_notify(STATUS_UUID, self._on_status)
        self.subscriptions += 1
        point = await self._time_sync(client)
        if not client.is_connected:  # it dropped while being set up: not a link yet
            raise BleakError("the link dropped while being set up")
        self.client = client  # from here on a drop is this link's loss
        return point

    async def _device(self) -> BLEDevice:
        if self.backend is not None:  # a custom backend (the virtual radio) finds by address
            return BLEDevice(self.address, self.name, {})
        # a real adapter needs the device as its scanner saw it (BlueZ: its D-Bus path)
        try:
            found = await BleakScanner.find_device_by_address(self.address, timeout=10.0)
        except (BleakError, OSError, FileNotFoundError) as exc:
            raise NoAdapter(f"no usable Bluetooth adapter ({exc})") from exc
        if found is None:
            raise NoUnit(f"the belt unit {self.address} is not advertising. Check: {CHECKS}")
        return found

    async def _time_sync(self, client: BleakClient) -> ClockPoint | None:
        """TIME_SYNC, then the tick the unit took for it (the status echoes both)."""
        ms = int(time.time() * 1000)
        sent = ms & 0xFFFFFFFF
        command = control.encode(control.TIME_SYNC, sent)
        for i in range(200):  # a unit answers within a poll (40 ms); allow a slow one 10 s
            if i % 20 == 0:
                # sent again each second: a write that reaches the unit before it has heard
                # that the link is encrypted is refused (and this one starts its stream)
                await client.write_gatt_char(CONTROL_UUID, command, response=True)
                await asyncio.sleep(0.05)
            st = decode_status(bytes(await client.read_gatt_char(STATUS_UUID)))
            self.status = st
            if st.sync_host_ms == sent:
                rate = st.rate_hz or self.rate_hz
                self.clock = ClockPoint(st.boot_id, st.sync_tick, ms / 1000.0, rate)
                return self.clock
            await asyncio.sleep(0.05)
        log.warning("the belt unit did not confirm the time sync")
        return None

    async def time_sync(self) -> ClockPoint | None:
        """Send a TIME_SYNC again (one the unit did not confirm): the unit streams only once
        a host's command says it is listening."""
        if self.client is None or not self.client.is_connected:
            raise ConnectionError("not connected")
        return await self._time_sync(self.client)

    def _on_stream(self, _char: Any, data: bytearray) -> None:
        n = Notification(time.monotonic(), bytes(data))
        if self._held is not None:
            self._held.append(n)
        else:
            self.queue.put_nowait(n)

    def _release(self) -> None:
        held, self._held = self._held or [], None
        for n in held:
            self.queue.put_nowait(n)

    def _on_status(self, _char: Any, data: bytearray) -> None:
        try:
            self.status = decode_status(bytes(data))
            self.statuses += 1
        except ValueError as exc:
            log.debug("status notification: %s", exc)

    def _dropped(self, client: Any = None) -> None:
        # only the link in use is "lost": a link that drops while it is being set up fails
        # its set-up instead (a stale "lost" would start a reconnect beside the live link)
        if client is not None and client is not self.client:
            log.debug("a link being set up dropped")
            return
        if not self._closing:
            self.queue.put_nowait(LinkState("lost", time.monotonic()))
            self._lost.set()

    async def connect(self) -> DeviceInfo:
        for attempt in range(self.attempts):
            try:
                point = await self._open()
                break
            except (BleakError, OSError, TimeoutError) as exc:  # also a drop during set-up
                if attempt + 1 == self.attempts:
                    raise NoUnit(f"cannot reach the belt unit at {self.address}: {exc}. "
                                 f"Check: {CHECKS}") from exc
                log.info("connecting failed (%s): trying again", exc)
                await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
        client = self.client
        assert client is not None
        # queued at once: a drop from here on comes after it
        self.queue.put_nowait(LinkState("connected", time.monotonic(), point))
        self._release()
        try:
            fw = (await client.read_gatt_char(FIRMWARE_REV_UUID)).decode()
        except (BleakError, KeyError, UnicodeDecodeError):
            fw = "?"
        rate = self.status.rate_hz if self.status and self.status.rate_hz else self.rate_hz
        self.info = DeviceInfo(self.name, self.address, fw, wire.VERSION, rate,
                               client.mtu_size)
        return self.info

    async def _reconnect(self) -> None:
        start = time.monotonic()
        attempt = 0
        last = ""
        while time.monotonic() - start < self.give_up_s:
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            attempt += 1
            if self._closing:
                return
            try:
                point = await self._open()
            except (TimeoutError, BleakError, OSError, BeltlineError) as exc:
                last = str(exc) or type(exc).__name__
                log.info("reconnect attempt %d failed: %s", attempt, last)
                continue
            self.reconnects += 1
            self.queue.put_nowait(LinkState("connected", time.monotonic(), point))
            self._release()
            return
        self._release()
        self.queue.put_nowait(LinkState(
            "failed", time.monotonic(),
            reason=f"gave up reconnecting to the belt unit after {self.give_up_s:.0f} s "
            f"({attempt} attempts; last: {last}). Check: {CHECKS}"))

    async def notifications(self) -> AsyncIterator[Notification | LinkState]:
        # what arrived is still given out
        while not (self._closing and self._settled and self.queue.empty()):
            if self._lost.is_set() and self.reconnect:
                self._lost.clear()
                self.client = None
                asyncio.get_running_loop().create_task(self._reconnect())
            item = await self.queue.get()
            if item is None:
                continue
            yield item
            if isinstance(item, LinkState) and item.state == "failed":
                self._closing = True
        yield LinkState("closed", time.monotonic())

    async def send(self, command: bytes) -> None:
        if self.client is None or not self.client.is_connected:
            raise ConnectionError("not connected")
        await self.client.write_gatt_char(CONTROL_UUID, command, response=True)

    async def request_replay(self, tick_from: int, tick_to: int) -> None:
        await self.send(control.encode(control.REPLAY, tick_from, tick_to))

    def _stir(self, closing: bool | None = None, settled: bool | None = None) -> None:
        """Change the closing flags and wake the stream to look at them."""
        if closing is not None:
            self._closing = closing
        if settled is not None:
            self._settled = settled
        self.queue.put_nowait(None)

    async def disconnect(self) -> None:
        self._stir(closing=True)
        if self.client is not None and self.client.is_connected:
            for uuid in (STREAM_UUID, STATUS_UUID):
                try:
                    await self.client.stop_notify(uuid)
                except (BleakError, KeyError):
                    pass
            await self.client.disconnect()


def nearby(address: str | None = None, name: str | None = None,
           seconds: float = SCAN_S) -> BleLink:
    """The link to the belt unit nearby: a scan, then ``choose`` (by ``address`` or ``name``,
    else the only one), as ``beltline monitor`` and the live test and sets find it."""
    units = asyncio.run(scan(seconds))
    found, addr, rssi = choose(units, address, name)
    log.info("belt unit %s (%s, %s dBm)", found, addr, rssi)
    return BleLink(addr, name=found, rssi_dbm=rssi)
