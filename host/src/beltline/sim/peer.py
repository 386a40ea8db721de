"""The radio side of the emulated ``bluetooth`` module (``sim/hardware/bluetooth.py``): one
MicroPython process's BLE stack, as a Bumble peripheral on the virtual radio.

``Stack`` builds the GATT server from the firmware's ``gatts_register_services``, serves the
central's reads and writes from the values the firmware wrote (a central's write is cut to
the characteristic's buffer: 20 bytes unless ``gatts_set_buffer`` or a longer local write
enlarged it), sends the firmware's notifications whether or not the central subscribed (as
MicroPython documents), cut to MTU-3, and gives the notification buffers back only when the
controller has sent them (so the firmware meets ENOMEM when it outruns the radio). Encryption
and authentication flags become Bumble permissions, which refuse such reads and writes on a
link that is not encrypted. Pairing follows the firmware's ``config(bond=, le_secure=, mitm=,
io=)``; bonding keys are the firmware's to keep (``_IRQ_SET_SECRET``/``_IRQ_GET_SECRET``, a
Bumble ``KeyStore`` that asks it). The encryption event is reported once pairing and key
storage are over, as NimBLE does.

Faults for tests: ``out_of_range()`` (the link drops, the unit cannot be reached) and
``loss`` (notifications the unit sent that never arrive).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import random
import struct
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from bumble.core import UUID
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import HCI_CONNECTION_TIMEOUT_ERROR
from bumble.keys import KeyStore, PairingKeys
from bumble.pairing import PairingConfig, PairingDelegate

log = logging.getLogger(__name__)

HARDWARE = Path(__file__).resolve().parent / "hardware"


def _load_mp() -> ModuleType:
    # the MicroPython module is plain Python: its frame codes and flags are read from it,
    # so both ends of the socket share one definition
    spec = importlib.util.spec_from_file_location("_beltline_mp_bluetooth",
                                                  HARDWARE / "bluetooth.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MP = _load_mp()
SEC_PEER = 2  # the sec_type NimBLE uses for a peer's keys

_FLAG_READ = 0x0002
_FLAG_WRITE_NO_RESPONSE = 0x0004
_FLAG_WRITE = 0x0008
_FLAG_NOTIFY = 0x0010
_FLAG_INDICATE = 0x0020
_FLAG_READ_ENCRYPTED = 0x0200
_FLAG_READ_AUTHENTICATED = 0x0400
_FLAG_WRITE_ENCRYPTED = 0x1000
_FLAG_WRITE_AUTHENTICATED = 0x2000


def _uuid(hexstr: str) -> UUID:
    if len(hexstr) == 4:
        return UUID(hexstr.upper())
    h = hexstr
    return UUID(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")


def characteristic(uuid: str, flags: int, read: Callable[[Any], bytes],
                   write: Callable[[Any, bytes], None]) -> Characteristic:
    """A Bumble characteristic with the properties and permissions MicroPython's flags ask."""
    P = Characteristic.Properties
    props = P(0)
    for bit, prop in ((_FLAG_READ, P.READ), (_FLAG_WRITE_NO_RESPONSE, P.WRITE_WITHOUT_RESPONSE),
                      (_FLAG_WRITE, P.WRITE), (_FLAG_NOTIFY, P.NOTIFY),
                      (_FLAG_INDICATE, P.INDICATE)):
        if flags & bit:
            props |= prop
    perms = Characteristic.Permissions(0)
    if flags & (_FLAG_READ | _FLAG_READ_ENCRYPTED | _FLAG_READ_AUTHENTICATED):
        perms |= Characteristic.READABLE
        if flags & _FLAG_READ_ENCRYPTED:
            perms |= Characteristic.READ_REQUIRES_ENCRYPTION
        if flags & _FLAG_READ_AUTHENTICATED:
            perms |= Characteristic.READ_REQUIRES_AUTHENTICATION
    if flags & (_FLAG_WRITE | _FLAG_WRITE_NO_RESPONSE | _FLAG_WRITE_ENCRYPTED
                | _FLAG_WRITE_AUTHENTICATED):
        perms |= Characteristic.WRITEABLE
        if flags & _FLAG_WRITE_ENCRYPTED:
            perms |= Characteristic.WRITE_REQUIRES_ENCRYPTION
        if flags & _FLAG_WRITE_AUTHENTICATED:
            perms |= Characteristic.WRITE_REQUIRES_AUTHENTICATION
    return Characteristic(_uuid(uuid), props, perms, CharacteristicValue(read=read, write=write))


class _Secrets(KeyStore):
    """Bumble's key store, kept by the firmware (``_IRQ_GET_SECRET``/``_IRQ_SET_SECRET``)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    async def get(self, name: str) -> PairingKeys | None:
        raw = await self.stack.get_secret(SEC_PEER, 0, name.encode())
        if not raw:
            return None
        try:
            keys = PairingKeys.from_dict(json.loads(raw)["keys"])
        except (ValueError, KeyError, TypeError):
            log.warning("the firmware returned an unreadable secret for %s", name)
            return None
        self.stack.found_keys.add(name)
        return keys

    async def update(self, name: str, keys: PairingKeys) -> None:
        value = json.dumps({"name": name, "keys": keys.to_dict()}).encode()
        self.stack.stored[name] = await self.stack.set_secret(SEC_PEER, name.encode(), value)

    async def delete(self, name: str) -> None:
        await self.stack.set_secret(SEC_PEER, name.encode(), None)

    async def get_all(self) -> list[tuple[str, PairingKeys]]:
        out = []
        for i in range(16):
            raw = await self.stack.get_secret(SEC_PEER, i, None)
            if not raw:
                break
            try:
                d = json.loads(raw)
                out.append((str(d["name"]), PairingKeys.from_dict(d["keys"])))
            except (ValueError, KeyError, TypeError):
                continue
        return out

    async def delete_all(self) -> None:
        for name, _ in await self.get_all():
            await self.delete(name)


class Stack:
    """The BLE stack of one virtual belt unit's boot (a new one per boot)."""

    def __init__(self, device: Device, loss: float = 0.0, seed: int = 0) -> None:
        self.device = device
        self.loss = loss
        self.rng = random.Random(seed)
        self.config: dict[str, Any] = {}
        self.values: dict[int, bytes] = {}
        self.size: dict[int, int] = {}
        self.append: dict[int, bool] = {}
        self.chars: dict[int, Characteristic] = {}
        self.conns: dict[int, Connection] = {}
        self.pairing: set[int] = set()
        self.found_keys: set[str] = set()
        self.stored: dict[str, bool] = {}
        self.in_range = True
        self.advertising: tuple[int, bool, bytes, bytes] | None = None
        self.clock_ms = 0
        self.report: dict[str, Any] | None = None
        self.registered = asyncio.Event()
        self.closed = asyncio.Event()
        self.notified = 0  # notifications that went on air
        self.lost_in_air = 0
        self.cut = 0  # notifications longer than MTU-3 (cut by the stack)
        self.writes_cut = 0  # central writes longer than the buffer (cut)
        self.on_notify: Callable[[int, bytes, float], None] | None = None
        self.on_clock: Callable[[int], None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._req = 0
        self._replies: dict[int, asyncio.Future[bytes | None]] = {}
        self._unsent: dict[int, int] = {}  # conn -> notifications not yet sent by the controller
        self._draining: set[int] = set()
        device.keystore = _Secrets(self)
        device.pairing_config_factory = self._pairing_config
        device.on("connection", self._on_connection)

    # --- the socket -------------------------------------------------------------------------
    def send(self, kind: int, payload: bytes = b"") -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(struct.pack("<HB", len(payload) + 1, kind) + payload)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Handle the firmware's calls until its process ends."""
        self._writer = writer
        try:
            while True:
                head = await reader.readexactly(2)
                n = int.from_bytes(head, "little")
                body = await reader.readexactly(n)
                await self._call(body[0], body[1:])
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writer = None
            for fut in self._replies.values():
                if not fut.done():
                    fut.set_result(None)
            await self.power_cut()
            self.closed.set()

    async def power_cut(self) -> None:
        """The unit is gone: its links drop, it stops advertising."""
        self.advertising = None
        try:
            await self.device.stop_advertising()
        except Exception as exc:
            log.debug("stop advertising: %s", exc)
        for conn in list(self.conns.values()):
            await self._drop(conn)

    async def _drop(self, conn: Connection) -> None:
        try:
            await conn.disconnect(HCI_CONNECTION_TIMEOUT_ERROR)
        except Exception as exc:
            log.debug("disconnect: %s", exc)

    async def _call(self, kind: int, p: bytes) -> None:
        if kind == MP.M_NOTIFY or kind == MP.M_INDICATE:
            conn_h, handle = struct.unpack_from("<HH", p, 0)
            await self._notify(conn_h, handle, p[4:] or self.values.get(handle, b""))
        elif kind == MP.M_CLOCK:
            self.clock_ms = struct.unpack("<Q", p)[0]
            if self.on_clock is not None:
                self.on_clock(self.clock_ms)
        elif kind == MP.M_WRITE:
            handle, update = struct.unpack_from("<HB", p, 0)
            self.values[handle] = bytes(p[3:])
            self.size[handle] = max(self.size.get(handle, 20), len(p) - 3)
            if update and handle in self.chars:
                await self.device.notify_subscribers(self.chars[handle], self.values[handle])
        elif kind == MP.M_SET_BUFFER:
            handle, size, append = struct.unpack("<HHB", p)
            self.size[handle], self.append[handle] = size, bool(append)
        elif kind == MP.M_REGISTER:
            self._register(json.loads(p))
        elif kind == MP.M_CONFIG:
            self.config = json.loads(p)
            self.device.name = str(self.config.get("gap_name", "MPY NIMBLE"))
            self.device.gatt_server.max_mtu = int(self.config.get("mtu", 23))
        elif kind == MP.M_ADVERTISE:
            iv, connectable, na, nr = struct.unpack_from("<iBBB", p, 0)
            adv, resp = bytes(p[7:7 + na]), bytes(p[7 + na:7 + na + nr])
            self.advertising = None if iv < 0 else (iv, bool(connectable), adv, resp)
            await self._apply_advertising()
        elif kind == MP.M_DISCONNECT:
            conn = self.conns.get(struct.unpack("<H", p)[0])
            log.debug("the unit disconnects link %s", struct.unpack("<H", p)[0])
            if conn is not None:
                await self._drop_by_unit(conn)
        elif kind == MP.M_EXCHANGE_MTU:
            conn = self.conns.get(struct.unpack("<H", p)[0])
            if conn is not None:
                asyncio.get_running_loop().create_task(self._exchange_mtu(conn))
        elif kind == MP.M_PAIR:
            conn = self.conns.get(struct.unpack("<H", p)[0])
            if conn is not None:
                asyncio.get_running_loop().create_task(self._pair(conn))
        elif kind == MP.M_SECRET_REPLY:
            req, has = struct.unpack_from("<IB", p, 0)
            fut = self._replies.pop(req, None)
            if fut is not None and not fut.done():
                fut.set_result(bytes(p[5:]) if has else None)
        elif kind == MP.M_REPORT:
            self.report = json.loads(p)
        elif kind == MP.M_PASSKEY:
            pass  # the unit has no display or keys ("Just Works"): nothing to answer

    async def _drop_by_unit(self, conn: Connection) -> None:
        try:
            await conn.disconnect()
        except Exception as exc:
            log.debug("disconnect: %s", exc)

    def _register(self, spec: list[Any]) -> None:
        services = []
        made_all: list[list[Characteristic]] = []
        for suuid, cs in spec:
            made = []
            for cuuid, flags, _descs in cs:
                box: list[Characteristic] = []  # the closures find their handle once assigned
                ch = characteristic(cuuid, int(flags), self._reader(box), self._writer_for(box))
                box.append(ch)
                made.append(ch)
            made_all.append(made)
            services.append(Service(_uuid(suuid), made))
        self.device.add_services(services)
        handles = [[ch.handle for ch in made] for made in made_all]
        for made in made_all:
            for ch in made:
                self.chars[ch.handle] = ch
                self.values[ch.handle] = b""
                self.size[ch.handle] = MP.DEFAULT_BUFFER
                self.append[ch.handle] = False
        self.send(MP.S_REGISTERED, json.dumps(handles).encode())
        self.registered.set()

    def _reader(self, box: list[Characteristic]) -> Callable[[Any], bytes]:
        def read(_conn: Any) -> bytes:
            return self.values.get(box[0].handle, b"")
        return read

    def _writer_for(self, box: list[Characteristic]) -> Callable[[Any, bytes], None]:
        def write(conn: Any, value: bytes) -> None:
            handle = box[0].handle
            size = self.size.get(handle, MP.DEFAULT_BUFFER)
            data = bytes(value)
            if len(data) > size:
                self.writes_cut += 1
                data = data[:size]  # the buffer holds this much: the rest is lost, silently
            if not self.append.get(handle):
                self.values[handle] = data
            self.send(MP.S_WRITTEN, struct.pack("<HH", conn.handle if conn else 0, handle)
                      + data)
        return write

    # --- notifications ----------------------------------------------------------------------
    async def _notify(self, conn_h: int, handle: int, value: bytes) -> None:
        conn = self.conns.get(conn_h)
        if conn is None or handle not in self.chars:  # stale: the stack drops it
            self.send(MP.S_CREDIT, struct.pack("<H", 1))
            return
        if len(value) > conn.att_mtu - 3:
            self.cut += 1  # Bumble cuts it to MTU-3 below, as NimBLE does
        if self.on_notify is not None:
            self.on_notify(handle, value[:conn.att_mtu - 3], time.monotonic())
        if self.loss and self.rng.random() < self.loss:
            self.lost_in_air += 1
            self.send(MP.S_CREDIT, struct.pack("<H", 1))
            return
        try:
            # force: MicroPython sends whether or not the central wrote the CCCD
            await self.device.notify_subscriber(conn, self.chars[handle], value, force=True)
        except Exception as exc:
            log.debug("notify failed: %s", exc)
            self.send(MP.S_CREDIT, struct.pack("<H", 1))
            return
        self.notified += 1
        self._unsent[conn_h] = self._unsent.get(conn_h, 0) + 1
        if conn_h not in self._draining:
            self._draining.add(conn_h)
            asyncio.get_running_loop().create_task(self._drain(conn))

    async def _drain(self, conn: Connection) -> None:
        # the buffers come back once the controller has sent what was queued
        h = conn.handle
        try:
            while self._unsent.get(h):
                n = self._unsent[h]
                await conn.drain()
                if h not in self._unsent:  # the link went: its buffers came back with it
                    break
                self._unsent[h] -= n
                self.send(MP.S_CREDIT, struct.pack("<H", n))
        except Exception as exc:
            log.debug("drain: %s", exc)
        finally:
            self._draining.discard(h)

    # --- connections ------------------------------------------------------------------------
    def _on_connection(self, conn: Connection) -> None:
        h = conn.handle
        log.debug("link %d from %s", h, conn.peer_address)
        self.conns[h] = conn
        self.advertising = None  # a connection ends advertising (the firmware restarts it)
        addr = bytes(conn.peer_address.address_bytes)
        atype = 1 if conn.peer_address.is_random else 0
        self.send(MP.S_CONNECT, struct.pack("<HB", h, atype) + addr)

        def gone(_reason: int) -> None:
            log.debug("link %d dropped (reason %s)", h, _reason)
            self.conns.pop(h, None)
            left = self._unsent.pop(h, 0)
            if left:
                self.send(MP.S_CREDIT, struct.pack("<H", left))  # lost with the link
            self.pairing.discard(h)
            self.send(MP.S_DISCONNECT, struct.pack("<HB", h, atype) + addr)

        conn.on("disconnection", gone)
        conn.on("connection_att_mtu_update",
                lambda: self.send(MP.S_MTU, struct.pack("<HH", h, conn.att_mtu)))
        conn.on("pairing_start", lambda: self.pairing.add(h))
        conn.on("pairing", lambda keys: self._paired(conn, keys))
        conn.on("pairing_failure", lambda _r: self.pairing.discard(h))
        conn.on("connection_encryption_change", lambda: self._encryption(conn))

    def _encryption(self, conn: Connection) -> None:
        if conn.handle in self.pairing:
            return  # reported when pairing (and key storage) is over
        bonded = str(conn.peer_address) in self.found_keys
        self._send_encryption(conn, bonded, authenticated=False)

    def _paired(self, conn: Connection, keys: PairingKeys) -> None:
        self.pairing.discard(conn.handle)
        ltk = keys.ltk or keys.ltk_peripheral
        # Bumble marks every paired link authenticated; the key says whether it was (Just
        # Works is not: no MITM protection)
        auth = bool(ltk and ltk.authenticated)
        self._send_encryption(conn, bool(self.config.get("bond")), authenticated=auth)

    def _send_encryption(self, conn: Connection, bonded: bool, authenticated: bool) -> None:
        enc = 1 if conn.is_encrypted else 0
        self.send(MP.S_ENCRYPTION, struct.pack("<HBBBB", conn.handle, enc,
                                               1 if authenticated else 0, 1 if bonded else 0,
                                               16 if enc else 0))

    def _pairing_config(self, _conn: Connection) -> PairingConfig:
        c = self.config
        io = PairingDelegate.IoCapability(int(c.get("io", 3)))
        return PairingConfig(sc=bool(c.get("le_secure")), mitm=bool(c.get("mitm")),
                             bonding=bool(c.get("bond")),
                             delegate=PairingDelegate(io_capability=io))

    async def _exchange_mtu(self, conn: Connection) -> None:
        try:
            await conn.gatt_client.request_mtu(int(self.config.get("mtu", 23)))
        except Exception as exc:
            log.debug("MTU exchange: %s", exc)
            if conn.handle in self.conns:  # the exchange is over all the same
                self.send(MP.S_MTU, struct.pack("<HH", conn.handle, conn.att_mtu))

    async def _pair(self, conn: Connection) -> None:
        try:
            await conn.pair()
        except Exception as exc:
            log.debug("pairing asked by the unit failed: %s", exc)

    # --- secrets ----------------------------------------------------------------------------
    async def _ask(self, kind: int, payload: bytes) -> bytes | None:
        if self._writer is None:
            return None
        self._req += 1
        req = self._req
        fut: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._replies[req] = fut
        self.send(kind, struct.pack("<I", req) + payload)
        try:
            return await asyncio.wait_for(fut, 30.0)  # a loaded machine can be slow
        except TimeoutError:
            self._replies.pop(req, None)
            return None

    async def get_secret(self, sec_type: int, index: int, key: bytes | None) -> bytes | None:
        k = b"" if key is None else key
        return await self._ask(MP.S_GET_SECRET, struct.pack(
            "<BBB", sec_type, index, 255 if key is None else len(k)) + k)

    async def set_secret(self, sec_type: int, key: bytes, value: bytes | None) -> bool:
        got = await self._ask(MP.S_SET_SECRET, struct.pack(
            "<BBB", sec_type, len(key), 0 if value is None else 1) + key + (value or b""))
        return got is not None

    # --- faults and the harness -------------------------------------------------------------
    async def _apply_advertising(self) -> None:
        try:
            await self.device.stop_advertising()
        except Exception as exc:
            log.debug("stop advertising: %s", exc)
        if self.advertising is None or not self.in_range:
            return
        iv, _connectable, adv, resp = self.advertising
        ms = max(20.0, iv / 1000.0)
        await self.device.start_advertising(advertising_data=adv, scan_response_data=resp,
                                            advertising_interval_min=ms,
                                            advertising_interval_max=ms)

    async def drop_links(self) -> None:
        """Every link drops (supervision timeout: out of range)."""
        for conn in list(self.conns.values()):
            await self._drop(conn)

    async def set_in_range(self, on: bool) -> None:
        """Out of range: the link drops (supervision timeout) and nobody hears the unit."""
        self.in_range = on
        if not on:
            for conn in list(self.conns.values()):
                await self._drop(conn)
        await self._apply_advertising()

    def sim(self, message: dict[str, Any]) -> None:
        """A message for the harness (button presses, stop)."""
        self.send(MP.S_SIM, json.dumps(message).encode())
