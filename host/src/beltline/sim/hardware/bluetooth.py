"""Fake ``bluetooth`` (MicroPython's BLE API) with a simulated central, for tests only.

Enforces what NimBLE does on the ESP32 (DESIGN.md §5): a notification longer than MTU-3 is
cut to MTU-3 bytes without an error; ``gatts_notify`` raises ``OSError(ENOMEM)`` when
``QUEUE`` notifications are already waiting for the radio; notifying a handle that is not the
connection raises ``OSError(ENOTCONN)``; notifications still queued when the link drops are
lost. The central (``central_*``) drains the queue at connection events (``INTERVAL_MS``, up
to ``PER_EVENT`` each), connects, answers the MTU exchange, writes and disconnects.
"""

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_GATTS_WRITE = 3
_IRQ_MTU_EXCHANGED = 21
ENOMEM = 12
ENOTCONN = 128


class UUID:
    def __init__(self, value):
        self.value = value
        if isinstance(value, int):
            self._b = bytes((value & 0xFF, value >> 8))
        else:
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


class BLE:
    QUEUE = 8
    INTERVAL_MS = 30
    PER_EVENT = 4

    def __init__(self):
        self._active = False
        self._cfg = {"mtu": 23, "gap_name": "MPY"}
        self._irq = None
        self._values = {}
        self._next = 1
        self.conn = None
        self.mtu = 23
        self.queue = []
        self.sink = None  # the central's receiver: sink(sim ms, handle, bytes)
        self.delivered = 0
        self.lost_in_queue = 0
        self.advertising = None
        self.central_mtu = 247
        self._mtu_pending = False
        self._next_event = 0

    # --- MicroPython's API -------------------------------------------------------------------
    def active(self, on=None):
        if on is not None:
            self._active = bool(on)
        return self._active

    def config(self, *args, **kw):
        if args:
            return self._cfg[args[0]]
        self._cfg.update(kw)
        return None

    def irq(self, handler):
        self._irq = handler

    def gatts_register_services(self, services):
        out = []
        for _uuid, chars in services:
            hs = []
            for _ch in chars:
                self._next += 1  # declaration
                h = self._next
                self._next += 1
                self._values[h] = b""
                hs.append(h)
            out.append(tuple(hs))
        return tuple(out)

    def gatts_write(self, handle, data):
        self._values[handle] = bytes(data)

    def gatts_read(self, handle):
        return self._values[handle]

    def gatts_notify(self, conn, handle, data=None):
        if conn != self.conn or conn is None:
            raise OSError(ENOTCONN)
        payload = bytes(self._values[handle] if data is None else data)
        if len(self.queue) >= self.QUEUE:
            raise OSError(ENOMEM)
        self.queue.append((handle, payload[: self.mtu - 3]))

    def gap_advertise(self, interval_us, adv_data=None):
        self.advertising = adv_data

    def gattc_exchange_mtu(self, conn):
        if conn != self.conn:
            raise OSError(ENOTCONN)
        self._mtu_pending = True

    def gap_disconnect(self, conn):
        self.central_disconnect()

    # --- the simulated central ---------------------------------------------------------------
    def central_connect(self, mtu=247):
        self.central_mtu = mtu
        self.conn = 1
        self.mtu = 23
        self.advertising = None
        self._irq(_IRQ_CENTRAL_CONNECT, (1, 0, b"\x01\x02\x03\x04\x05\x06"))

    def central_disconnect(self):
        if self.conn is None:
            return
        conn = self.conn
        self.lost_in_queue += len(self.queue)
        self.queue = []
        self.conn = None
        self.mtu = 23
        self._irq(_IRQ_CENTRAL_DISCONNECT, (conn, 0, b"\x01\x02\x03\x04\x05\x06"))

    def central_write(self, handle, data):
        self._values[handle] = bytes(data)
        self._irq(_IRQ_GATTS_WRITE, (self.conn, handle))

    def central_tick(self, now_ms):
        """Connection events up to ``now_ms``: the MTU answer, then queued notifications."""
        if self.conn is None:
            return
        if self._mtu_pending:
            self._mtu_pending = False
            self.mtu = min(self.central_mtu, self._cfg.get("mtu", 23))
            self._irq(_IRQ_MTU_EXCHANGED, (self.conn, self.mtu))
        while self._next_event <= now_ms:
            for _ in range(self.PER_EVENT):
                if not self.queue:
                    break
                handle, payload = self.queue.pop(0)
                self.delivered += 1
                if self.sink is not None:
                    self.sink(self._next_event, handle, payload)
            self._next_event += self.INTERVAL_MS
