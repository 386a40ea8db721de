"""MicroPython's ``bluetooth`` module, emulated: the firmware's calls go over a socket to a real
BLE stack (Google's Bumble, ``beltline.sim.peer``) that serves them on a virtual radio. Never
deployed; the virtual belt unit's harness (``run_unit.py``) connects it with ``attach()``.

The API is the documented one (docs.micropython.org, library/bluetooth): ``BLE()`` (one
object), ``active``, ``config``, ``irq``, ``gap_advertise``, ``gap_disconnect``, ``gap_pair``,
``gap_passkey``, ``gatts_register_services``, ``gatts_read``, ``gatts_write``,
``gatts_notify``, ``gatts_indicate``, ``gatts_set_buffer``, ``gattc_exchange_mtu``, ``UUID``.
What the real stack does and this one enforces:

- a characteristic's value buffer holds 20 bytes until ``gatts_set_buffer`` (or a longer local
  ``gatts_write``) enlarges it; a longer write from the central is cut to it;
- a notification is cut to MTU-3 bytes without an error (by the stack that sends it);
- ``gatts_notify`` raises ``OSError(ENOMEM)`` while ``QUEUE`` notifications wait for the radio
  (their buffers come back only once the controller has sent them) and ``OSError(ENOTCONN)``
  for a connection the stack no longer has; it sends regardless of the CCCD;
- characteristics flagged ``_FLAG_*_ENCRYPTED``/``_AUTHENTICATED`` are refused (ATT errors) to
  a central on a link that is not encrypted/authenticated;
- bonding keys live with the application: the stack asks for them with ``_IRQ_GET_SECRET`` and
  hands new ones over with ``_IRQ_SET_SECRET``;
- events reach the handler later, from the harness's scheduler (``service()``), never inside
  one of the application's own calls; the stack's own state (connections, buffers) changes
  when the event arrives.

Frames on the socket: u16 length (of what follows), u8 type, payload (little-endian).
"""

import errno
import json
import select
import socket
import struct
import sys

ENOMEM = errno.ENOMEM
ENOTCONN = errno.ENOTCONN
QUEUE = 8  # notifications the stack holds for the radio (NimBLE's ACL buffers; approximate)
DEFAULT_BUFFER = 20

# application -> stack
M_CONFIG = 1
M_REGISTER = 2
M_WRITE = 3
M_SET_BUFFER = 4
M_NOTIFY = 5
M_ADVERTISE = 6
M_DISCONNECT = 7
M_EXCHANGE_MTU = 8
M_PAIR = 9
M_PASSKEY = 10
M_SECRET_REPLY = 11
M_CLOCK = 12
M_REPORT = 13
M_INDICATE = 14
# stack -> application
S_REGISTERED = 0x81
S_CONNECT = 0x82
S_DISCONNECT = 0x83
S_WRITTEN = 0x84
S_MTU = 0x85
S_ENCRYPTION = 0x86
S_CREDIT = 0x87
S_GET_SECRET = 0x88
S_SET_SECRET = 0x89
S_CONN_UPDATE = 0x8A
S_PASSKEY_ACTION = 0x8B
S_SIM = 0x8C
S_INDICATE_DONE = 0x8D

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_GATTS_WRITE = 3
_IRQ_GATTS_INDICATE_DONE = 20
_IRQ_MTU_EXCHANGED = 21
_IRQ_CONNECTION_UPDATE = 27
_IRQ_ENCRYPTION_UPDATE = 28
_IRQ_GET_SECRET = 29
_IRQ_SET_SECRET = 30
_IRQ_PASSKEY_ACTION = 31

FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020


class UUID:
    def __init__(self, value):
        if isinstance(value, UUID):
            self._b = value._b
            return
        if isinstance(value, int):
            if not 0 <= value <= 0xFFFF:
                raise ValueError("invalid UUID")
            self._b = bytes((value & 0xFF, value >> 8))
            return
        if isinstance(value, (bytes, bytearray)):
            if len(value) not in (2, 4, 16):
                raise ValueError("invalid UUID")
            self._b = bytes(value)
            return
        h = value.replace("-", "")
        if len(h) != 32:
            raise ValueError("invalid UUID")
        self._b = bytes(int(h[i:i + 2], 16) for i in range(30, -2, -2))

    def __bytes__(self):
        return self._b

    def __eq__(self, other):
        return isinstance(other, UUID) and self._b == other._b

    def __hash__(self):
        return hash(self._b)

    def __repr__(self):
        return "UUID(%s)" % self.hex()

    def hex(self):
        return "".join("%02x" % b for b in reversed(self._b))  # most significant first


class _Link:
    """The socket to the stack, framed; frames that arrive while waiting for a reply are
    kept for ``service``."""

    def __init__(self, sock):
        self.sock = sock
        self.poll = select.poll()
        self.poll.register(sock, select.POLLIN)
        self.buf = b""
        self.frames = []

    def send(self, kind, payload=b""):
        head = struct.pack("<HB", len(payload) + 1, kind)
        self.sock.write(head + payload)

    def read(self, timeout_ms):
        """Frames that arrived within ``timeout_ms`` (0: only what is already here)."""
        if self.poll.poll(timeout_ms):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit("the radio side closed the link")
            self.buf += chunk
            while self.poll.poll(0):  # take everything that is there
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
        buf = self.buf
        i = 0
        while len(buf) - i >= 3:
            n = buf[i] | (buf[i + 1] << 8)
            if len(buf) - i - 2 < n:
                break
            self.frames.append((buf[i + 2], buf[i + 3:i + 2 + n]))
            i += 2 + n
        self.buf = buf[i:]
        out = self.frames
        self.frames = []
        return out


_LINK = None
_BLE = None
SIM_HANDLER = None  # the harness's handler for S_SIM messages (button presses, stop)


def attach(host, port):
    """Connect to the stack side (``beltline.sim.peer``)."""
    global _LINK
    s = socket.socket()
    s.connect(socket.getaddrinfo(host, port)[0][-1])
    _LINK = _Link(s)
    return _LINK


def send_clock(now_ms):
    """The simulated time, so the radio side can schedule its faults in device time."""
    if _LINK is not None:
        _LINK.send(M_CLOCK, struct.pack("<Q", now_ms))


def report(values):
    """A JSON record for the radio side (the harness's final figures)."""
    _LINK.send(M_REPORT, json.dumps(values).encode())


def service(timeout_ms=0):
    """The stack's side of the scheduler: take what arrived (waiting up to ``timeout_ms``) and
    deliver the events to the handler. Returns how many frames were handled."""
    if _LINK is None:
        return 0
    frames = _LINK.read(timeout_ms)
    ble = _BLE
    for kind, payload in frames:
        if ble is not None:
            # each frame's event is handled before the next frame is taken in: a central's
            # write waits for its response, so on the board the IRQ has read the value long
            # before the next write can replace it (taking a batch first would let a later
            # write overwrite what an earlier write's IRQ then reads)
            ble._frame(kind, payload)
            ble._deliver()
        elif kind == S_SIM and SIM_HANDLER is not None:
            SIM_HANDLER(json.loads(payload))
    return len(frames)


def BLE():  # noqa: N802 (MicroPython's name)
    """The singleton BLE object."""
    global _BLE
    if _BLE is None:
        if _LINK is None:
            raise OSError(errno.ENODEV)  # no controller: the harness has not attached one
        _BLE = _Ble(_LINK)
    return _BLE


def _check_handle(values, handle):
    if handle not in values:
        raise ValueError("invalid handle")


class _Ble:
    def __init__(self, link):
        self._link = link
        self._active = False
        self._cfg = {"gap_name": "MPY NIMBLE", "mtu": 23, "bond": False, "le_secure": False,
                     "mitm": False, "io": 3, "mac": (0, b"\xf0\xf1\xf2\xf3\xf4\xf5")}
        self._irq = None
        self._values = {}
        self._size = {}
        self._append = {}
        self._conns = {}  # conn handle -> (addr_type, addr)
        self._queued = 0  # notifications waiting for the radio
        self._events = []
        self._adv = b""
        self._resp = b""
        # what the stack refused or cut, for the harness's report
        self.enomem = 0
        self.stale = 0
        self.irq_errors = 0

    # --- configuration ---------------------------------------------------------------------
    def active(self, *args):
        if args:
            self._active = bool(args[0])
            if not self._active:
                self._conns = {}
        return self._active

    def _need_active(self):
        if not self._active:
            raise OSError(errno.EPERM)

    def config(self, *args, **kw):
        if args:
            if len(args) != 1 or kw:
                raise TypeError("config takes one name to read, or keywords to set")
            if args[0] not in self._cfg:
                raise ValueError("unknown config param")
            return self._cfg[args[0]]
        for k, v in kw.items():
            if k not in self._cfg or k == "mac":
                raise ValueError("unknown config param")
            if k == "mtu" and not 23 <= v <= 517:
                raise ValueError("mtu must be 23..517")
        self._cfg.update(kw)
        self._link.send(M_CONFIG, json.dumps({k: v for k, v in self._cfg.items()
                                              if k != "mac"}).encode())
        return None

    def irq(self, handler):
        self._irq = handler

    # --- advertising and connections -------------------------------------------------------
    def gap_advertise(self, interval_us, adv_data=None, *, resp_data=None, connectable=True):
        self._need_active()
        if adv_data is not None:
            self._adv = bytes(adv_data)
        if resp_data is not None:
            self._resp = bytes(resp_data)
        if len(self._adv) > 31 or len(self._resp) > 31:
            raise OSError(errno.EINVAL)  # legacy advertising holds 31 bytes
        iv = -1 if interval_us is None else int(interval_us)
        self._link.send(M_ADVERTISE, struct.pack("<iBBB", iv, 1 if connectable else 0,
                                                 len(self._adv), len(self._resp))
                        + self._adv + self._resp)

    def gap_disconnect(self, conn):
        self._need_active()
        if conn not in self._conns:
            return False
        self._link.send(M_DISCONNECT, struct.pack("<H", conn))
        return True

    def gap_pair(self, conn):
        self._need_active()
        if conn not in self._conns:
            raise OSError(ENOTCONN)
        self._link.send(M_PAIR, struct.pack("<H", conn))

    def gap_passkey(self, conn, action, passkey):
        self._need_active()
        if conn not in self._conns:
            raise OSError(ENOTCONN)
        self._link.send(M_PASSKEY, struct.pack("<HBI", conn, action, passkey))

    def gattc_exchange_mtu(self, conn):
        self._need_active()
        if conn not in self._conns:
            raise OSError(ENOTCONN)
        self._link.send(M_EXCHANGE_MTU, struct.pack("<H", conn))

    # --- GATT server -----------------------------------------------------------------------
    def gatts_register_services(self, services):
        self._need_active()
        spec = []
        for uuid, chars in services:
            cs = []
            for ch in chars:
                descs = [[UUID(d[0]).hex(), d[1]] for d in (ch[2] if len(ch) > 2 else ())]
                cs.append([UUID(ch[0]).hex(), ch[1], descs])
            spec.append([UUID(uuid).hex(), cs])
        self._link.send(M_REGISTER, json.dumps(spec).encode())
        while True:  # the one call that waits for the stack: it assigns the handles
            for kind, payload in self._link.read(1000):
                if kind == S_REGISTERED:
                    handles = json.loads(payload)
                    self._values = {}
                    for hs in handles:
                        for h in hs:
                            self._values[h] = b""
                            self._size[h] = DEFAULT_BUFFER
                            self._append[h] = False
                    return tuple(tuple(hs) for hs in handles)
                self._link.frames.append((kind, payload))

    def gatts_read(self, handle):
        _check_handle(self._values, handle)
        v = self._values[handle]
        if self._append[handle]:
            self._values[handle] = b""  # an append buffer is emptied by reading it
        return v

    def gatts_write(self, handle, data, send_update=False):
        _check_handle(self._values, handle)
        v = bytes(data)
        self._values[handle] = v
        if len(v) > self._size[handle]:
            self._size[handle] = len(v)  # a local write enlarges the buffer (as documented)
        self._link.send(M_WRITE, struct.pack("<HB", handle, 1 if send_update else 0) + v)

    def gatts_set_buffer(self, handle, length, append=False):
        _check_handle(self._values, handle)
        self._size[handle] = int(length)
        self._append[handle] = bool(append)
        self._link.send(M_SET_BUFFER, struct.pack("<HHB", handle, int(length),
                                                  1 if append else 0))

    def _send_value(self, kind, conn, handle, data):
        self._need_active()
        _check_handle(self._values, handle)
        if conn not in self._conns:
            self.stale += 1
            raise OSError(ENOTCONN)
        if self._queued >= QUEUE:
            self.enomem += 1
            raise OSError(ENOMEM)
        self._queued += 1
        v = self._values[handle] if data is None else data
        self._link.send(kind, struct.pack("<HH", conn, handle) + bytes(v))

    def gatts_notify(self, conn, handle, data=None):
        self._send_value(M_NOTIFY, conn, handle, data)

    def gatts_indicate(self, conn, handle):
        self._send_value(M_INDICATE, conn, handle, None)

    # --- events from the stack -------------------------------------------------------------
    def _frame(self, kind, p):
        ev = self._events
        if kind == S_CONNECT:
            conn, atype = struct.unpack_from("<HB", p, 0)
            self._conns[conn] = (atype, bytes(p[3:9]))
            ev.append((_IRQ_CENTRAL_CONNECT, (conn, atype, bytes(p[3:9]))))
        elif kind == S_DISCONNECT:
            conn, atype = struct.unpack_from("<HB", p, 0)
            self._conns.pop(conn, None)
            ev.append((_IRQ_CENTRAL_DISCONNECT, (conn, atype, bytes(p[3:9]))))
        elif kind == S_WRITTEN:
            conn, handle = struct.unpack_from("<HH", p, 0)
            data = bytes(p[4:])
            if handle in self._values:
                if self._append[handle]:
                    room = self._size[handle] - len(self._values[handle])
                    self._values[handle] += data[:max(0, room)]
                else:
                    self._values[handle] = data  # already cut to the buffer by the stack
            ev.append((_IRQ_GATTS_WRITE, (conn, handle)))
        elif kind == S_MTU:
            ev.append((_IRQ_MTU_EXCHANGED, struct.unpack("<HH", p)))
        elif kind == S_ENCRYPTION:
            conn, enc, auth, bonded, size = struct.unpack("<HBBBB", p)
            ev.append((_IRQ_ENCRYPTION_UPDATE, (conn, bool(enc), bool(auth), bool(bonded),
                                                size)))
        elif kind == S_CREDIT:
            self._queued = max(0, self._queued - struct.unpack("<H", p)[0])
        elif kind == S_CONN_UPDATE:
            ev.append((_IRQ_CONNECTION_UPDATE, struct.unpack("<HHHHB", p)))
        elif kind == S_PASSKEY_ACTION:
            ev.append((_IRQ_PASSKEY_ACTION, struct.unpack("<HBI", p)))
        elif kind == S_INDICATE_DONE:
            ev.append((_IRQ_GATTS_INDICATE_DONE, struct.unpack("<HHB", p)))
        elif kind in (S_GET_SECRET, S_SET_SECRET):
            ev.append((kind, p))
        elif kind == S_SIM and SIM_HANDLER is not None:
            SIM_HANDLER(json.loads(p))

    def _deliver(self):
        while self._events:
            event, data = self._events.pop(0)
            if event == S_GET_SECRET:
                p = data
                req, sec_type, index, klen = struct.unpack_from("<IBBB", p, 0)
                key = bytes(p[7:7 + klen]) if klen != 255 else None
                value = self._call(_IRQ_GET_SECRET, (sec_type, index, key))
                out = b"" if value is None else bytes(value)
                self._link.send(M_SECRET_REPLY, struct.pack("<IB", req, 0 if value is None
                                                            else 1) + out)
            elif event == S_SET_SECRET:
                p = data
                req, sec_type, klen, has = struct.unpack_from("<IBBB", p, 0)
                key = bytes(p[7:7 + klen])
                value = bytes(p[7 + klen:]) if has else None
                ok = self._call(_IRQ_SET_SECRET, (sec_type, key, value))
                self._link.send(M_SECRET_REPLY, struct.pack("<IB", req, 1 if ok else 0))
            else:
                self._call(event, data)

    def _call(self, event, data):
        if self._irq is None:
            return None
        try:
            return self._irq(event, data)
        except Exception as exc:  # as the port does: printed, and the stack carries on
            self.irq_errors += 1
            sys.print_exception(exc)
            return None
