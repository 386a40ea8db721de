"""Beltline's GATT table (identifiers in ``protocol.py``) and a small wrapper over
MicroPython's ``bluetooth`` module.

NimBLE facts this wrapper lives with (DESIGN.md §5): a notification longer than MTU-3 is cut
silently, so the stream is sized from the MTU this module learns from the exchange it starts
itself after a connection; ``gatts_notify`` raises ``OSError(ENOMEM)`` when the controller's
buffers are full and another ``OSError`` on a stale connection: both are counted, never fatal.
``gatts_notify`` sends whether or not the central subscribed, so this module streams only to a
connection that is encrypted and bonded (``secure``).

Security: control and status need an encrypted link (``_FLAG_*_ENCRYPTED``: the stack refuses
them otherwise); pairing is LE Secure Connections, "Just Works" (the unit has no display or
keys), bonded, the keys kept in ``bonds.py``. A NEW bond is accepted only while ``can_bond()``
says so (the app's pairing window after power-on or a button press); outside it the stack's
new keys are refused and the link is dropped. A link that is encrypted but not bonded is
dropped too. One central at a time: a second one is disconnected.

The IRQ handler only records and enqueues: a control write is copied into a small ring
(``take_command``) that the app's control task empties.
"""

import struct

import bluetooth
from micropython import const

import control
import protocol

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)
_IRQ_PASSKEY_ACTION = const(31)
_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_READ_ENCRYPTED = const(0x0200)
_FLAG_WRITE_ENCRYPTED = const(0x1000)
_IO_NO_INPUT_OUTPUT = const(3)
_ENOMEM = const(12)
_CMD_SLOTS = const(8)
_SEC_OUR = const(1)  # NimBLE's store types of a bond's keys (ours and the peer's for it)
_SEC_PEER = const(2)
_MIN_KEY_SIZE = const(16)

STATUS_FORMAT = protocol.STATUS_FORMAT
PREFERRED_MTU = protocol.PREFERRED_MTU


def services():
    U = bluetooth.UUID
    p = protocol
    return (
        (U(p.SERVICE_UUID), ((U(p.STREAM_UUID), _FLAG_NOTIFY),
                             (U(p.CONTROL_UUID), _FLAG_WRITE | _FLAG_WRITE_ENCRYPTED),
                             (U(p.STATUS_UUID), _FLAG_READ | _FLAG_READ_ENCRYPTED
                              | _FLAG_NOTIFY))),
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
    """One central at a time. ``take_command()`` gives the oldest queued control write."""

    def __init__(self, ble, name="Beltline", firmware="0.1.0", bonds=None, can_bond=None):
        self.ble = ble
        self.name = name
        self.bonds = bonds
        self.can_bond = can_bond  # callable: may a NEW bond be made now?
        ble.active(True)
        ble.config(gap_name=name, mtu=PREFERRED_MTU, bond=True, le_secure=True, mitm=False,
                   io=_IO_NO_INPUT_OUTPUT)
        ble.irq(self._irq)
        handles = ble.gatts_register_services(services())
        (self.h_stream, self.h_control, self.h_status), (self.h_battery,), dis = handles
        ble.gatts_set_buffer(self.h_control, control.MAX_SIZE)  # SET_MOUNT is 37 bytes
        ble.gatts_write(dis[0], b"Beltline project")
        ble.gatts_write(dis[1], b"Beltline belt unit")
        ble.gatts_write(dis[2], firmware.encode())
        self.conn = None
        self.mtu = 23
        self.mtu_changed = False
        self._mtu_known = False
        self.secure = False
        self.listening = False  # the host's first command came: it has subscribed by now
        self._bond_refused = False
        self.dropped = False
        self.notify_enomem = 0
        self.notify_stale = 0
        self.connects = 0
        self.refused_unpaired = 0  # control writes from a link that is not secure
        self.refused_bonds = 0  # new bonds outside the pairing window, unbonded links
        self.command_overflow = 0  # control writes beyond the ring (the host sent too fast)
        self._cmds = [bytearray(control.MAX_SIZE + 1) for _ in range(_CMD_SLOTS)]
        self._cmd_in = 0
        self._cmd_out = 0
        self._status = bytearray(struct.calcsize(STATUS_FORMAT))
        self.advertise()

    def advertise(self):
        self.ble.gap_advertise(100_000, adv_data=advertising_payload(self.name))

    def stop_advertising(self):
        self.ble.gap_advertise(None)

    def _irq(self, event, data):
        if event == _IRQ_GATTS_WRITE:
            conn, handle = data
            if handle != self.h_control:
                return
            value = self.ble.gatts_read(self.h_control)
            if conn != self.conn or not self.secure:
                self.refused_unpaired += 1
                return
            if self._cmd_in - self._cmd_out >= _CMD_SLOTS:
                self.command_overflow += 1
                return
            slot = self._cmds[self._cmd_in % _CMD_SLOTS]
            n = min(len(value), control.MAX_SIZE)
            slot[0] = n
            slot[1:1 + n] = value[:n]
            self._cmd_in += 1
        elif event == _IRQ_CENTRAL_CONNECT:
            if self.conn is not None:  # one central at a time
                self.ble.gap_disconnect(data[0])
                return
            self.conn = data[0]
            self.connects += 1
            self.mtu = 23
            self._mtu_known = False
            self.secure = False
            self.listening = False
            self._bond_refused = False
            self._cmd_out = self._cmd_in  # nothing an earlier link queued is for this one
            try:
                self.ble.gattc_exchange_mtu(self.conn)  # the peripheral asks for a bigger MTU
            except OSError:
                pass
        elif event == _IRQ_CENTRAL_DISCONNECT:
            if data[0] != self.conn:
                return
            self.conn = None
            self.mtu = 23
            self._mtu_known = False
            self.secure = False
            self.dropped = True  # what the stack still held for the old link is gone
            self.advertise()
        elif event == _IRQ_MTU_EXCHANGED:
            if data[0] == self.conn:
                self.mtu = data[1]
                self._mtu_known = True
                self.mtu_changed = True
        elif event == _IRQ_ENCRYPTION_UPDATE:
            conn, encrypted, _authenticated, bonded, key_size = data
            if conn != self.conn:
                return
            if encrypted and bonded and key_size >= _MIN_KEY_SIZE and not self._bond_refused:
                self.secure = True
            elif encrypted:  # a new bond outside the pairing window, or no bond at all
                self.secure = False
                self.refused_bonds += 1
                self.ble.gap_disconnect(conn)
        elif event == _IRQ_GET_SECRET:
            sec_type, index, key = data
            if self.bonds is None:
                return None
            return self.bonds.get(sec_type, index, None if key is None else bytes(key))
        elif event == _IRQ_SET_SECRET:
            sec_type, key, value = data
            if self.bonds is None:
                return False
            bond = sec_type in (_SEC_OUR, _SEC_PEER)  # (the stack's own IRK etc. pass)
            if value is not None and bond and not (self.can_bond is not None
                                                   and self.can_bond()):
                self._bond_refused = True
                return False
            return self.bonds.set(sec_type, bytes(key), None if value is None else bytes(value))
        elif event == _IRQ_PASSKEY_ACTION:
            conn, action, _passkey = data
            self.ble.gap_passkey(conn, action, 0)  # no display, no keys: decline

    @property
    def connected(self):
        return self.conn is not None

    @property
    def ready(self):
        """A secure link whose MTU is agreed and whose host has spoken: the stream may go
        out. (MicroPython does not report the CCCD, and a notification that arrives before the
        host subscribed is lost: the host sends TIME_SYNC once it listens.)"""
        return self.conn is not None and self.secure and self._mtu_known and self.listening

    def take_command(self):
        """The oldest queued control write (bytes), or None."""
        if self._cmd_out == self._cmd_in:
            return None
        slot = self._cmds[self._cmd_out % _CMD_SLOTS]
        self._cmd_out += 1
        return bytes(slot[1:1 + slot[0]])

    def notify(self, packet):
        """Send one stream packet; False (and counted) when the stack refused it."""
        if not self.ready:
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
        if self.ready:
            try:
                self.ble.gatts_notify(self.conn, self.h_status)
            except OSError:
                self.notify_stale += 1

    def publish_battery(self, pct):
        self.ble.gatts_write(self.h_battery, bytes((int(pct),)))
