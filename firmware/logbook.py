"""The offline logbook: stream packets kept on flash while no host is connected.

A file of ``slots`` fixed 256-byte records used as a ring. Record layout (little-endian):
u32 record number (increasing; the highest is the newest), u16 packet length, u16 CRC-16 of
the packet, the packet (a wire packet as notified, up to 248 bytes). A record whose CRC does
not match (a write cut by a power loss, worn flash) is skipped on replay and counted in
``corrupt``. Sizing: a full-sample packet of 14 samples fills one slot, so 1 MB holds ~4096
packets = 57 000 samples = 9.5 min at 100 Hz (0.16 h per MB); angle-only packets hold 59
samples, 0.67 h per MB.

Capacity for walks without the host (``beltline sync``; measured by ``beltline bench sync``:
14.0 samples per record): at the LSM6DSO's 104 Hz the logbook takes 7.43 records/s = 6.5 MiB
per hour of raw. Two hours need 13.1 MiB: MicroPython's 8-MiB partition table (the BOM's XIAO
ESP32S3) leaves a 6-MiB filesystem (0.92 h); on an ESP32-S3 with 16 MB flash (an
ESP32-S3-WROOM-1-N16R8 module) the 16-MiB table leaves 14 MiB, of which a 55 000-slot logbook
(13.4 MiB) holds 2.06 h. For days, a microSD card (hardware/BOM.md) holds the same file. A
logbook that large needs its boot scan (``_scan``, one header read per slot) bounded before
the 5-s watchdog starts; that, and a lossless delta encoding of the samples (not measured),
are not done yet, so ``main.py`` keeps the 1-MB default.
"""

import os
import struct

import wire

SLOT = 256
_HEAD = "<IHH"
_HEAD_SIZE = 8
MAX_PACKET = SLOT - _HEAD_SIZE


class Logbook:
    def __init__(self, path, slots=4096):
        self.path = path
        self.slots = slots
        self.corrupt = 0
        self.written = 0
        self._slot = bytearray(SLOT)
        self._mv = memoryview(self._slot)
        try:
            size = os.stat(path)[6]
        except OSError:
            size = 0
        if size != slots * SLOT:
            with open(path, "wb") as f:
                zero = bytes(SLOT)
                for _ in range(slots):
                    f.write(zero)
        self._f = open(path, "r+b")
        self.next_no = self._scan() + 1

    def _scan(self):
        best = 0
        f = self._f
        head = bytearray(_HEAD_SIZE)
        for i in range(self.slots):
            f.seek(i * SLOT)
            f.readinto(head)
            no = struct.unpack_from(_HEAD, head, 0)[0]
            if no > best:
                best = no
        return best

    def append(self, packet):
        n = len(packet)
        if n > MAX_PACKET:
            raise ValueError("packet of %d bytes does not fit a logbook slot" % n)
        no = self.next_no
        s = self._slot
        struct.pack_into(_HEAD, s, 0, no, n, wire.crc16(packet, n))
        self._mv[_HEAD_SIZE:_HEAD_SIZE + n] = packet
        f = self._f
        f.seek(((no - 1) % self.slots) * SLOT)
        f.write(s)
        f.flush()
        self.next_no = no + 1
        self.written += 1

    def replay(self, tick_from, tick_to, first_no=1):
        """Packets whose first tick is in [tick_from, tick_to), oldest first, from record
        ``first_no`` on (a generator: one slot in memory at a time)."""
        f = self._f
        first = max(1, first_no, self.next_no - self.slots)
        s = self._slot
        for no in range(first, self.next_no):
            f.seek(((no - 1) % self.slots) * SLOT)
            f.readinto(s)
            got, n, crc = struct.unpack_from(_HEAD, s, 0)
            if got != no or n > MAX_PACKET or wire.crc16(self._mv[_HEAD_SIZE:], n) != crc:
                self.corrupt += 1
                continue
            tick = struct.unpack_from("<I", s, _HEAD_SIZE + 4)[0]
            if tick_from <= tick < tick_to:
                yield self._mv[_HEAD_SIZE:_HEAD_SIZE + n]

    def records(self, no_from, no_to):
        """(record number, packet) for the records still held in [no_from, no_to), oldest
        first; records the ring has overwritten, or that fail their CRC, are skipped."""
        f = self._f
        s = self._slot
        for no in range(max(1, no_from, self.next_no - self.slots), min(no_to, self.next_no)):
            f.seek(((no - 1) % self.slots) * SLOT)
            f.readinto(s)
            got, n, crc = struct.unpack_from(_HEAD, s, 0)
            if got != no or n > MAX_PACKET or wire.crc16(self._mv[_HEAD_SIZE:], n) != crc:
                self.corrupt += 1
                continue
            yield no, self._mv[_HEAD_SIZE:_HEAD_SIZE + n]

    def close(self):
        self._f.close()
