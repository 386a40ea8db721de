"""The Bluetooth link to a belt unit, with bleak (the only module that imports it).

``BleLink`` implements ``link.Link``: connect (by address, or the first unit advertising our
service), check the protocol version in the status characteristic, subscribe to the stream,
and on a drop reconnect with exponential backoff (0.5 s doubling to 8 s), subscribing afresh
each time — exactly once, so the callback is never doubled. ``request_replay`` asks the unit's
logbook for a span (the unit also replays what it logged by itself). ``backend`` and
``backend_kwargs`` pass through to ``bleak.BleakClient`` (the tests use Bumble's stack).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from beltline.errors import BeltlineError
from beltline.firmware import control, wire
from beltline.link.base import DeviceInfo, Link, LinkState, Notification
from beltline.link.gatt import (
    CONTROL_UUID,
    FIRMWARE_REV_UUID,
    SERVICE_UUID,
    STATUS_UUID,
    STREAM_UUID,
)

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)


class NoAdapter(BeltlineError):
    """No Bluetooth adapter, or no permission to use it."""


async def scan(timeout: float = 5.0) -> list[tuple[str, str, int | None]]:
    """Belt units advertising Beltline's service: (name, address, RSSI dBm)."""
    try:
        found = await BleakScanner.discover(timeout=timeout, service_uuids=[SERVICE_UUID],
                                            return_adv=True)
    except (BleakError, OSError, FileNotFoundError) as exc:
        raise NoAdapter(f"no usable Bluetooth adapter ({exc}); to try Beltline without a "
                        "belt unit, run `beltline monitor --virtual`") from exc
    return [(d.name or "?", d.address, adv.rssi) for d, adv in found.values()]


class BleLink(Link):
    source = "ble"
    def __init__(self, address: str, rate_hz: float = 104.0, backend: Any = None,
                 backend_kwargs: dict[str, Any] | None = None, reconnect: bool = True,
                 pair: bool = True) -> None:
        self.address = address
        self.pair = pair
        self.rate_hz = rate_hz
        self.backend = backend
        self.backend_kwargs = backend_kwargs or {}
        self.reconnect = reconnect
        self.client: BleakClient | None = None
        self.queue: asyncio.Queue[Notification | LinkState] = asyncio.Queue()
        self.reconnects = 0
        self.subscriptions = 0  # how many times the stream was subscribed (once per link)
        self._closing = False
        self._lost = asyncio.Event()

    async def _open(self) -> None:
        kw: dict[str, Any] = dict(self.backend_kwargs)
        if self.backend is not None:
            kw["backend"] = self.backend
        # pair=True: bonding with LE Secure Connections; the unit accepts control writes only
        # over an encrypted link (a second, unpaired host can listen but not command)
        client = BleakClient(self.address, disconnected_callback=self._dropped, timeout=10.0,
                             pair=self.pair, **kw)
        await client.connect()
        status = await client.read_gatt_char(STATUS_UUID)
        if not status or status[0] != wire.VERSION:
            await client.disconnect()
            raise BeltlineError(f"the belt unit speaks protocol {status[0] if status else '?'}"
                                f", this host {wire.VERSION}: update one of them")
        await client.start_notify(STREAM_UUID, self._on_stream)
        self.subscriptions += 1
        self.client = client

    def _on_stream(self, _char: Any, data: bytearray) -> None:
        self.queue.put_nowait(Notification(time.monotonic(), bytes(data)))

    def _dropped(self, _client: Any = None) -> None:
        if not self._closing:
            self.queue.put_nowait(LinkState("lost", time.monotonic()))
            self._lost.set()

    async def connect(self) -> DeviceInfo:
        try:
            await self._open()
        except (BleakError, OSError) as exc:
            raise NoAdapter(f"cannot reach the belt unit at {self.address}: {exc}. Is it on "
                            "and near? No adapter? Try `beltline monitor --virtual`.") from exc
        assert self.client is not None
        try:
            fw = (await self.client.read_gatt_char(FIRMWARE_REV_UUID)).decode()
        except (BleakError, KeyError, UnicodeDecodeError):
            fw = "?"
        self.info = DeviceInfo("Beltline", self.address, fw, wire.VERSION, self.rate_hz,
                               self.client.mtu_size)
        self.queue.put_nowait(LinkState("connected", time.monotonic()))
        return self.info

    async def _reconnect(self) -> None:
        for attempt in range(100):
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            if self._closing:
                return
            try:
                await self._open()
            except (TimeoutError, BleakError, OSError, BeltlineError) as exc:
                log.info("reconnect attempt %d failed: %s", attempt + 1, exc)
                continue
            self.reconnects += 1
            self.queue.put_nowait(LinkState("connected", time.monotonic()))
            return

    async def notifications(self) -> AsyncIterator[Notification | LinkState]:
        while not self._closing:
            if self._lost.is_set() and self.reconnect:
                self._lost.clear()
                self.client = None
                asyncio.get_running_loop().create_task(self._reconnect())
            try:
                item = await asyncio.wait_for(self.queue.get(), 0.5)
            except TimeoutError:
                continue
            yield item
        yield LinkState("closed", time.monotonic())

    async def send(self, command: bytes) -> None:
        if self.client is None or not self.client.is_connected:
            raise ConnectionError("not connected")
        await self.client.write_gatt_char(CONTROL_UUID, command, response=True)

    async def request_replay(self, tick_from: int, tick_to: int) -> None:
        await self.send(control.encode(control.REPLAY, tick_from, tick_to))

    async def disconnect(self) -> None:
        self._closing = True
        if self.client is not None and self.client.is_connected:
            try:
                await self.client.stop_notify(STREAM_UUID)
            except BleakError:
                pass
            await self.client.disconnect()
