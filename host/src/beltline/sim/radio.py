"""A real BLE protocol stack without a radio: Google's Bumble, in process.

- ``VirtualRadio``: a Bumble ``LocalLink`` with virtual controllers; ``central()`` gives a
  Bumble device for the host side.
- ``VirtualBeltUnit``: a Bumble peripheral serving the belt unit's GATT table (the UUIDs of
  ``firmware/gatt.py``: stream notify, control write, status read/notify, Battery, Device
  Information), streaming the virtual device's packets (the firmware's own sample loop), keeping
  what it could not send in a logbook and replaying it after a reconnect, as the unit does, and
  able to drop the link on purpose.
- ``BumbleClient``: a ``bleak`` backend over a Bumble central, so ``bleak.BleakClient(...,
  backend=BumbleClient, device=radio.central())`` speaks real ATT/GATT (MTU exchange, CCCD
  subscription, notifications, writes, disconnects) to the virtual unit.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_str
from bumble.controller import Controller
from bumble.core import UUID
from bumble.device import Connection, Device, Peer
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink

from beltline.firmware import control, wire
from beltline.link.base import DeviceInfo
from beltline.link.ble import BleLink
from beltline.link.gatt import CONTROL_UUID, SERVICE_UUID, STATUS_UUID, STREAM_UUID
from beltline.sim.device import packets
from beltline.sim.wearer import Recording

log = logging.getLogger(__name__)

UNIT_ADDRESS = "F0:F1:F2:F3:F4:F5"


class VirtualRadio:
    """Virtual controllers on one in-process link."""

    def __init__(self) -> None:
        self.link = LocalLink()
        self._n = 0

    def device(self, name: str, address: str) -> Device:
        c = Controller(name, link=self.link)
        return Device(name=name, address=Address(address), host=Host(c, c))

    def central(self) -> Device:
        self._n += 1
        return self.device(f"host{self._n}", f"C0:C1:C2:C3:C4:{self._n:02X}")


class VirtualBeltUnit:
    """The belt unit as a Bumble GATT server, streaming a virtual wearer's packets."""

    def __init__(self, radio: VirtualRadio, rec: Recording, speed: float = 0.0,
                 drop_at_s: float | None = None, drop_for_s: float = 0.0,
                 junk_every: int = 0) -> None:
        self.device = radio.device("Beltline", UNIT_ADDRESS)
        self.rec = rec
        self.speed = speed
        self.drop_at_s = drop_at_s
        self.drop_for_s = drop_for_s
        self.junk_every = junk_every  # send a malformed notification every N packets
        self.commands: list[bytes] = []
        self.logbook: dict[int, bytes] = {}
        self.backlog: list[int] = []
        self.sent = self.logged = self.replayed = 0
        self.connection: Connection | None = None
        self.stream = Characteristic(UUID(STREAM_UUID), Characteristic.Properties.NOTIFY,
                                     Characteristic.READABLE, b"")
        # control needs an encrypted link: only a paired (bonded) host can command the unit
        self.control = Characteristic(
            UUID(CONTROL_UUID), Characteristic.Properties.WRITE,
            Characteristic.WRITEABLE | Characteristic.WRITE_REQUIRES_ENCRYPTION,
            CharacteristicValue(write=self._on_write))
        self.status = Characteristic(
            UUID(STATUS_UUID), Characteristic.Properties.READ | Characteristic.Properties.NOTIFY,
            Characteristic.READABLE, struct.pack("<BBB", wire.VERSION, 0, 1))
        self.device.add_service(Service(UUID(SERVICE_UUID),
                                        [self.stream, self.control, self.status]))
        self.device.add_service(Service(UUID("180F"), [Characteristic(
            UUID("2A19"), Characteristic.Properties.READ, Characteristic.READABLE, bytes([97]))]))
        self.device.add_service(Service(UUID("180A"), [Characteristic(
            UUID("2A26"), Characteristic.Properties.READ, Characteristic.READABLE, b"0.1.0")]))
        self.device.on("connection", self._on_connection)
        # a notification before the host has written the CCCD reaches nobody: stream only to
        # a subscribed host, log otherwise (as the firmware does before the MTU is agreed)
        self.subscribed = False
        self.stream.on("subscription", self._on_subscription)
        self.done = asyncio.Event()

    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        connection.on("disconnection", self._on_disconnection)

    def _on_disconnection(self, _reason: int) -> None:
        self.connection = None
        self.subscribed = False

    def _on_subscription(self, _connection: Connection, notify: bool, _indicate: bool) -> None:
        self.subscribed = bool(notify)

    @property
    def ready(self) -> bool:
        return self.connection is not None and self.subscribed

    def _on_write(self, _connection: Connection | None, value: bytes) -> None:
        self.commands.append(bytes(value))
        cmd = control.parse(bytes(value))
        if cmd is not None and cmd[0] == control.REPLAY:
            lo, hi = cmd[1]
            self.backlog += [t for t in sorted(self.logbook) if lo <= t < hi]

    async def start(self) -> None:
        await self.device.power_on()
        await self.device.start_advertising(auto_restart=True)

    async def run(self) -> None:
        """Stream the whole recording, then keep serving replays until cancelled."""
        t0 = float(self.rec.t[0])
        start = asyncio.get_running_loop().time()
        dropped_once = False
        for n, (t_dev, p) in enumerate(packets(self.rec, 247)):
            if self.speed > 0:
                delay = start + (t_dev - t0) / self.speed - asyncio.get_running_loop().time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif n % 8 == 0:
                await asyncio.sleep(0.005)  # let the link carry what is queued
            dev_s = t_dev - t0
            if (self.drop_at_s is not None and not dropped_once and self.connection
                    and dev_s >= self.drop_at_s):
                dropped_once = True  # the unit loses the link (out of range, say)
                await self.connection.disconnect()
            tick = struct.unpack_from("<I", p, 4)[0]
            self.logbook[tick] = p
            in_drop = dropped_once and self.drop_at_s is not None and \
                dev_s < self.drop_at_s + self.drop_for_s
            if self.ready and not in_drop:
                await self._replay_backlog()
                await self.device.notify_subscribers(self.stream, p)
                self.sent += 1
                if self.junk_every and self.sent % self.junk_every == 0:
                    # alternately a stub and an oversized one (the stack cuts it to MTU-3)
                    junk = b"\x01\x02\x03" if self.sent % (2 * self.junk_every) else p * 2
                    await self.device.notify_subscribers(self.stream, junk)
            else:
                self.backlog.append(tick)
                self.logged += 1
        for _ in range(200):  # the tail: replays still asked for
            if self.ready:
                await self._replay_backlog()
            await asyncio.sleep(0.01)
        self.done.set()

    async def _replay_backlog(self) -> None:
        while self.backlog and self.ready:
            tick = self.backlog.pop(0)
            await self.device.notify_subscribers(self.stream, self.logbook[tick])
            self.replayed += 1


class BumbleClient(BaseBleakClient):
    """A bleak backend over a Bumble central device (``device=`` keyword)."""

    def __init__(self, address_or_ble_device: Any, **kwargs: Any) -> None:
        device: Device = kwargs.pop("device")
        super().__init__(address_or_ble_device, disconnected_callback=kwargs.pop(
            "disconnected_callback", None), timeout=kwargs.pop("timeout", 10.0))
        self.device = device
        self.address = address_or_ble_device if isinstance(address_or_ble_device, str) \
            else address_or_ble_device.address
        self.connection: Connection | None = None
        self.peer: Peer | None = None
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    @property
    def mtu_size(self) -> int:
        return self.connection.att_mtu if self.connection else 23

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if not getattr(self.device, "_beltline_powered", False):  # once per virtual host
            await self.device.power_on()
            self.device._beltline_powered = True
        self.connection = await asyncio.wait_for(self.device.connect(self.address),
                                                 self._timeout)
        # ours first: a handler before it that raises (the GATT client cancelling what was
        # pending) would stop the event from reaching us, and bleak would never hear of it
        others = self.connection.listeners("disconnection")
        for f in others:
            self.connection.remove_listener("disconnection", f)
        self.connection.on("disconnection", self._on_disconnection)
        for f in others:
            self.connection.on("disconnection", f)
        self.peer = Peer(self.connection)
        if pair:  # LE Secure Connections (Bumble's default pairing), bonded
            await self.connection.pair()
        await self.peer.request_mtu(247)
        await self.peer.discover_services()
        services = BleakGATTServiceCollection()
        for s in self.peer.services:
            await s.discover_characteristics()
            bs = BleakGATTService(s, s.handle, normalize_uuid_str(s.uuid.to_hex_str("-")))
            services.add_service(bs)
            for c in s.characteristics:
                props = [name for bit, name in _PROPS if c.properties & bit]
                services.add_characteristic(BleakGATTCharacteristic(
                    c, c.handle, normalize_uuid_str(c.uuid.to_hex_str("-")), props,
                    lambda: self.mtu_size - 3, bs))
        self.services = services

    def _on_disconnection(self, _reason: int) -> None:
        self.connection = None
        self.peer = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        if self.connection is not None:
            await self.connection.disconnect()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        if self.connection is None:
            raise BleakError("not connected")
        await self.connection.pair()

    async def unpair(self) -> None:
        raise BleakError("unpairing is not supported by the virtual radio")

    @property
    def is_connected(self) -> bool:
        return self.connection is not None

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic,
                             **kwargs: Any) -> bytearray:
        assert self.peer is not None
        return bytearray(await self.peer.read_value(characteristic.obj))

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor,
                                   **kwargs: Any) -> bytearray:
        raise BleakError("descriptors are not used by Beltline")

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any,
                              response: bool) -> None:
        assert self.peer is not None
        await self.peer.write_value(characteristic.obj, bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        raise BleakError("descriptors are not used by Beltline")

    async def start_notify(self, characteristic: BleakGATTCharacteristic,
                           callback: NotifyCallback, **kwargs: Any) -> None:
        assert self.peer is not None

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._subscriptions[characteristic.handle] = on_value
        await self.peer.subscribe(characteristic.obj, on_value)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        if self.peer is not None:
            await self.peer.unsubscribe(characteristic.obj)
        self._subscriptions.pop(characteristic.handle, None)


_PROPS = [(0x02, "read"), (0x04, "write-without-response"), (0x08, "write"),
          (0x10, "notify"), (0x20, "indicate")]


class VirtualBleLink(BleLink):
    """``Link`` over the virtual radio: the virtual belt unit and a bleak client on Bumble,
    both made inside the caller's event loop (``beltline monitor --virtual --over-ble``)."""

    def __init__(self, rec: Recording, speed: float = 1.0, drop_at_s: float | None = None,
                 drop_for_s: float = 0.0) -> None:
        super().__init__("virtual", 1.0 / float(np.median(np.diff(rec.t))),
                         backend=BumbleClient)
        self.rec, self.speed, self.drop_at_s, self.drop_for_s = rec, speed, drop_at_s, drop_for_s

    async def connect(self) -> DeviceInfo:
        radio = VirtualRadio()
        self.unit = VirtualBeltUnit(radio, self.rec, self.speed, self.drop_at_s,
                                    self.drop_for_s)
        await self.unit.start()
        self.address = str(self.unit.device.random_address)
        self.backend_kwargs = {"device": radio.central()}
        info = await super().connect()
        self._unit_task = asyncio.get_running_loop().create_task(self.unit.run())
        self._unit_task.add_done_callback(lambda _t: self._finish())
        return info

    def _finish(self) -> None:
        # the walk is over: end the stream once the last replays are through
        asyncio.get_running_loop().call_later(1.0, self._end)

    def _end(self) -> None:
        self._closing = True
