"""A real BLE protocol stack without a radio: Google's Bumble, in process.

- ``VirtualRadio``: a Bumble ``LocalLink`` with virtual controllers; ``central()`` gives a
  Bumble device for the host side, ``scan()`` lists what advertises Beltline's service.
- ``BumbleClient``: a ``bleak`` backend over a Bumble central, so ``bleak.BleakClient(...,
  backend=BumbleClient, device=radio.central())`` speaks real ATT/GATT (MTU exchange, CCCD
  subscription, notifications, writes, pairing or re-encryption with the bond it keeps,
  disconnects) to the virtual belt unit (``sim/unit.py``: the firmware itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_str
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData, BaseBumbleError
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink

from beltline.link.gatt import SERVICE_UUID

log = logging.getLogger(__name__)
_T = TypeVar("_T")

UNIT_ADDRESS = "F0:F1:F2:F3:F4:F5"


_POWERED: weakref.WeakSet[Device] = weakref.WeakSet()


async def _power_on(device: Device) -> None:
    """Power a virtual host's device on once (several links may share it)."""
    if device not in _POWERED:
        await device.power_on()
        _POWERED.add(device)


class _Air(LocalLink):
    """Bumble's in-process link, where a controller can be out of earshot (``deaf``): it hears
    no advertising, so it can neither find nor connect to anyone."""

    def __init__(self) -> None:
        super().__init__()
        self.deaf: set[Controller] = set()

    def send_advertising_pdu(self, sender_controller: Controller, packet: Any) -> None:
        loop = asyncio.get_running_loop()
        for c in self.controllers:
            if c is not sender_controller and c not in self.deaf:
                loop.call_soon(c.on_ll_advertising_pdu, packet)


class VirtualRadio:
    """Virtual controllers on one in-process link."""

    def __init__(self) -> None:
        self.link = _Air()
        self._n = 0
        self._controllers: dict[int, Controller] = {}

    def device(self, name: str, address: str) -> Device:
        c = Controller(name, link=self.link)
        d = Device(name=name, address=Address(address), host=Host(c, c))
        self._controllers[id(d)] = c
        return d

    def remove(self, device: Device) -> None:
        """Take a device's controller off the air (a unit that lost power)."""
        c = self._controllers.pop(id(device), None)
        if c is not None and c in self.link.controllers:
            self.link.remove_controller(c)

    def isolate(self, device: Device, on: bool) -> None:
        """Put ``device`` out of range of everyone (or back): it hears no advertising."""
        c = self._controllers.get(id(device))
        if c is not None:
            (self.link.deaf.add if on else self.link.deaf.discard)(c)

    def central(self) -> Device:
        self._n += 1
        return self.device(f"host{self._n}", f"C0:C1:C2:C3:C4:{self._n:02X}")

    async def scan(self, seconds: float = 1.0,
                   device: Device | None = None) -> list[tuple[str, str, int | None]]:
        """Units advertising Beltline's service: (name, address, RSSI dBm), as ``ble.scan``."""
        d = device or self.central()
        await _power_on(d)
        found: dict[str, tuple[str, str, int | None]] = {}
        want = UUID(SERVICE_UUID)

        def seen(adv: Advertisement) -> None:
            data = adv.data
            uuids = data.get(AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS) or []
            if want in uuids:
                name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or "?"
                addr = str(adv.address).split("/")[0]
                found[addr] = (str(name), addr, adv.rssi)

        d.on("advertisement", seen)
        await d.start_scanning()
        await asyncio.sleep(seconds)
        await d.stop_scanning()
        d.remove_listener("advertisement", seen)
        return sorted(found.values())


class BumbleClient(BaseBleakClient):
    """A bleak backend over a Bumble central device (``bumble_device=`` keyword)."""

    def __init__(self, address_or_ble_device: Any, **kwargs: Any) -> None:
        device: Device = kwargs.pop("bumble_device")
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
        await _power_on(self.device)
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
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def dropped(_reason: int) -> None:
            if not lost.done():
                lost.set_result(None)

        self.connection.on("disconnection", dropped)
        setup = asyncio.ensure_future(self._setup(self.connection, self.peer, pair))
        waiting: set[asyncio.Future[Any]] = {setup, lost}
        done, _ = await asyncio.wait(waiting, timeout=self._timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if setup not in done:  # the unit dropped us (a refused bond), or it took too long
            setup.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await setup
            if self.connection is not None:
                with contextlib.suppress(Exception):
                    await self.connection.disconnect()
            raise BleakError("the peripheral disconnected while connecting" if lost.done()
                             else "timed out setting up the connection")
        if setup.cancelled():  # Bumble cancels what was pending when the link drops
            raise BleakError("the peripheral disconnected while connecting")
        err = setup.exception()
        if err is not None:
            raise BleakError(f"connection setup failed: {err}") from err
        self.services = setup.result()

    async def _setup(self, connection: Connection, peer: Peer,
                     pair: bool) -> BleakGATTServiceCollection:
        if pair:  # re-encrypt with the bond if there is one, else pair (LE SC, bonded)
            keys = None
            if self.device.keystore is not None:
                keys = await self.device.keystore.get(str(connection.peer_address))
            if keys is not None:
                await connection.encrypt()
            else:
                await connection.pair()
        await peer.request_mtu(247)
        await peer.discover_services()
        services = BleakGATTServiceCollection()
        for s in peer.services:
            await s.discover_characteristics()
            bs = BleakGATTService(s, s.handle, normalize_uuid_str(s.uuid.to_hex_str("-")))
            services.add_service(bs)
            for c in s.characteristics:
                props: Any = [name for bit, name in _PROPS if c.properties & bit]
                services.add_characteristic(BleakGATTCharacteristic(
                    c, c.handle, normalize_uuid_str(c.uuid.to_hex_str("-")), props,
                    lambda: self.mtu_size - 3, bs))
        return services

    def _on_disconnection(self, _reason: int) -> None:
        self.connection = None
        self.peer = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        if self.connection is not None:
            await _gatt("disconnect", self.connection.disconnect())

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
        peer = self._peer()
        return bytearray(await _gatt("read", peer.read_value(characteristic.obj)))

    def _peer(self) -> Peer:
        if self.peer is None:
            raise BleakError("not connected")
        return self.peer

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor,
                                   **kwargs: Any) -> bytearray:
        raise BleakError("descriptors are not used by Beltline")

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any,
                              response: bool) -> None:
        peer = self._peer()
        await _gatt("write", peer.write_value(characteristic.obj, bytes(data),
                                               with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        raise BleakError("descriptors are not used by Beltline")

    async def start_notify(self, characteristic: BleakGATTCharacteristic,
                           callback: NotifyCallback, **kwargs: Any) -> None:
        peer = self._peer()

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._subscriptions[characteristic.handle] = on_value
        await _gatt("subscription", peer.subscribe(characteristic.obj, on_value))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        if self.peer is not None:
            await _gatt("unsubscribe", self.peer.unsubscribe(characteristic.obj))
        self._subscriptions.pop(characteristic.handle, None)


async def _gatt(what: str, op: Awaitable[_T]) -> _T:
    """A GATT operation with bleak's errors: an ATT error (e.g. insufficient encryption), or
    the link dropping under it (Bumble then cancels the pending request)."""
    try:
        return await op
    except BaseBumbleError as exc:
        raise BleakError(f"{what} refused: {exc}") from exc
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # we are being cancelled ourselves
        raise BleakError(f"{what}: the link dropped") from None


_PROPS = [(0x02, "read"), (0x04, "write-without-response"), (0x08, "write"),
          (0x10, "notify"), (0x20, "indicate")]
