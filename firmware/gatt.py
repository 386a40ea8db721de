"""Beltline's GATT table (identifiers in ``protocol.py``) and a small wrapper over
MicroPython's ``bluetooth`` module.

NimBLE facts this wrapper lives with (DESIGN.md §5): a notification longer than MTU-3 is cut
silently, so the stream is sized from the MTU this module learns from the exchange it starts
itself after a connection; ``gatts_notify`` raises ``OSError(ENOMEM)`` when the controller's
buffers are full and another ``OSError`` on a stale connection: both are counted, never fatal.
"""

import struct

import bluetooth
from micropython import const

import protocol

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)
_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_ENOMEM = const(12)

STATUS_FORMAT = protocol.STATUS_FORMAT
PREFERRED_MTU = protocol.PREFERRED_MTU


def services():
    U = bluetooth.UUID
    p = protocol
    return (
        (U(p.SERVICE_UUID), ((U(p.STREAM_UUID), _FLAG_NOTIFY),
                             (U(p.CONTROL_UUID), _FLAG_WRITE),
                             (U(p.STATUS_UUID), _FLAG_READ | _FLAG_NOTIFY))),
        (U(p.BATTERY_SERVICE), ((U(p.BATTERY_LEVEL), _FLAG_READ | _FLAG_NOTIFY),)),
        (U(p.DEVICE_INFO_SERVICE), ((U(p.MANUFACTURER), _FLAG_READ), (U(p.MODEL), _FLAG_READ),
                                    (U(p.FIRMWARE_REV), _FLAG_READ))),
    )


def _uuid_le(text):
    # a 128-bit UUID as it goes over the air: the 16 bytes, least significant first
    h = text.replace("-", "")
    return bytes(int(h[i:i + 2], 16) for i in range(30, -2, -2))


def advertising_payload(name):
    """Flags, the complete local name and our 128-bit service UUID (fits 31 bytes)."""
    out = bytearray(b"\x02\x01\x06")
    out += bytes((len(name) + 1, 0x09)) + name.encode()
    raw = _uuid_le(protocol.SERVICE_UUID)
    out += bytes((len(raw) + 1, 0x07)) + raw
    return out


class Peripheral:
    """One central at a time. ``on_write(data)`` is called with each control write."""

    def __init__(self, ble, name="Beltline", firmware="0.1.0"):
        self.ble = ble
        self.name = name
        ble.active(True)
        ble.config(gap_name=name, mtu=PREFERRED_MTU)
        ble.irq(self._irq)
        handles = ble.gatts_register_services(services())
        (self.h_stream, self.h_control, self.h_status), (self.h_battery,), dis = handles
        ble.gatts_write(dis[0], b"Beltline project")
        ble.gatts_write(dis[1], b"Beltline belt unit")
        ble.gatts_write(dis[2], firmware.encode())
        self.conn = None
        self.mtu = 23
        self.mtu_changed = False
        self.ready = False
        self.dropped = False
        self.notify_enomem = 0
        self.notify_stale = 0
        self.connects = 0
        self.on_write = None
        self._status = bytearray(struct.calcsize(STATUS_FORMAT))
        self.advertise()

    def advertise(self):
        self.ble.gap_advertise(100_000, adv_data=advertising_payload(self.name))

    def _irq(self, event, data):
        if event == _IRQ_CENTRAL_CONNECT:
            self.conn = data[0]
            self.connects += 1
            self.mtu = 23
            self.ready = False  # stream only once the MTU is known: longer packets get cut
            try:
                self.ble.gattc_exchange_mtu(self.conn)  # the peripheral asks for a bigger MTU
            except OSError:
                pass
        elif event == _IRQ_CENTRAL_DISCONNECT:
            self.conn = None
            self.mtu = 23
            self.ready = False
            self.dropped = True  # what the stack still held for the old link is gone
            self.advertise()
        elif event == _IRQ_MTU_EXCHANGED:
            self.mtu = data[1]
            self.mtu_changed = True
            self.ready = True
        elif event == _IRQ_GATTS_WRITE:
            if data[1] == self.h_control and self.on_write is not None:
                self.on_write(self.ble.gatts_read(self.h_control))

    @property
    def connected(self):
        return self.conn is not None

    def notify(self, packet):
        """Send one stream packet; False (and counted) when the stack refused it."""
        if self.conn is None or not self.ready:
            return False
        try:
            self.ble.gatts_notify(self.conn, self.h_stream, packet)
            return True
        except OSError as exc:
            if exc.args and exc.args[0] == _ENOMEM:
                self.notify_enomem += 1
            else:
                self.notify_stale += 1
            return False

    def publish_status(self, values):
        struct.pack_into(STATUS_FORMAT, self._status, 0, *values)
        self.ble.gatts_write(self.h_status, self._status)
        if self.conn is not None:
            try:
                self.ble.gatts_notify(self.conn, self.h_status)
            except OSError:
                self.notify_stale += 1

    def publish_battery(self, pct):
        self.ble.gatts_write(self.h_battery, bytes((int(pct),)))
