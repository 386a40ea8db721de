"""The offline logbook: the samples the unit could not send, kept on flash as compact records.

A file of fixed 256-byte slots used as a ring; the file grows as records are written (nothing
is preallocated, so the first boot does not spend the watchdog's 5 s writing zeros) up to
``slots`` slots, which by default are sized from the free space of the filesystem (see
``auto_slots``). Slot ``(no - 1) % slots`` holds record number ``no``; numbers increase by
one per record across boots (the newest is found again at boot), so a host can ask for
"everything from record N" whatever boots happened in between.

Each record is a wire packet of kind ``wire.KIND_LOG`` and is sent over the air as it is on
flash (the host decodes it: ``beltline.link.wire``); little-endian:

    offset  size  field
    0       8     wire header: version, kind = KIND_LOG, seq = record number & 0xFFFF, tick of
                  the record's first sample (this boot's IMU clock)
    8       4     record number (1, 2, ...; never reused)
    12      4     boot id (random at every power-on: the epoch its ticks count in)
    16      1     count: samples in the record (0: an end marker, never on flash)
    17      1     inner kind byte of the samples (``wire.KIND_FULL``, stride 1: delta coded;
                  anything else: the packet's samples verbatim)
    18      1     length of the whole record, CRC included (<= ``MAX_RECORD`` = 244 = the
                  notification of the unit's MTU 247)
    19      1     0
    20      ...   body
    end-2   2     CRC-16 of bytes 0 .. end-3 (the header is inside the CRC)

Delta-coded body (full samples: roll, pitch, ax, ay, az, gx, gy, gz as int16 counts of
``wire``): the first sample absolute (16 bytes), then for every further sample and channel the
second difference d = x[i] - 2 x[i-1] + x[i-2] (x[-1] = x[0]: the first step codes the first
difference), zigzag-mapped (z = 2d for d >= 0, -2d - 1 otherwise) and written in 1, 2 or 3
bytes: ``0zzzzzzz`` (z < 128), ``10zzzzzz zzzzzzzz`` (z < 2^14), ``11zzzzzz zzzzzzzz
zzzzzzzz``. Lossless for any int16 input (|d| <= 131070 fits 22 bits); byte-oriented so the
encoder is a few integer operations per value, run as viper machine code (no allocation, no
per-bit loop); second differences because the IMU's signals are smooth at 104 Hz (a walk's
values mostly cost 1 byte). Each record decodes alone: a torn or corrupt record (CRC) loses
only its own samples.

Samples are gathered in RAM until a record is full (~25 samples of a walk, ~0.25 s) and then
written in one slot write; ``seal`` writes a partial record (the replay catching up, power
down). A kill loses the open record and nothing before it.

Boot scan: slot i holds a number that is i + 1 + k * slots (k: how often the ring wrapped);
k is the same for slots 0..newest and one less (or the slot empty) after it, so the newest
record is found by binary search on k: ~2 log2(slots) header reads whatever the size (a slot
whose header fails that congruence, torn or never written, is stepped over to a neighbour).
Counted in ``reads``.

Sizing (``beltline bench logbook``, the firmware's stream and logbook over the samples):
10.1-10.2 bytes a sample on the virtual wearer's walks, 11.7 on the 58 real lower-back walks
(Voisard et al., IPOL 2023), 18.3 before (one 14-sample packet per slot): 0.24 h of raw per
MiB at 104 Hz. The BOM's 16-MB board (MicroPython's 16-MiB table: a 12.8-MiB filesystem)
holds ~3.0 h, the 8-MB XIAO ESP32S3 (4.9 MiB) ~1.1 h (hardware/BOM.md). The encoder costs
0.3-0.6 us a sample under the unix port (the same code as bytecode: 27-30 us), and an
appended record allocates less than one heap block (``tests/firmware/test_logbook.py``).
"""

import os
import struct

import wire

try:
    import micropython
except ImportError:  # CPython (the host): MicroPython's code emitters do not exist there

    class micropython:  # noqa: N801 -- stands in for the module of that name
        viper = staticmethod(lambda f: f)

from array import array

SLOT = 256
MAX_RECORD = 244  # MTU 247 - 3: a record goes out as one notification
HEAD = 20
_HEAD = "<BBHIIIBBBB"
_ABS = 16  # the first sample, absolute
RESERVE = 96 * 1024  # filesystem space left free for settings, bonds and a firmware update
_FULL1 = wire.KIND_FULL  # inner kind byte of delta-coded records (stride 1)
_CH = 8  # channels of a full sample


def auto_slots(path, reserve=RESERVE):
    """Slots the filesystem holding ``path`` can give the logbook: its free space (plus what
    the logbook file already takes) less ``reserve``."""
    d = path.rsplit("/", 1)[0] if "/" in path else os.getcwd()
    st = os.statvfs(d or "/")
    try:
        have = os.stat(path)[6]
    except OSError:
        have = 0
    return max(16, (st[0] * st[4] + have - reserve) // SLOT)


def _ring_slots(path):
    """The ring's size for a logbook sized from the filesystem: the file's own once it has
    wrapped or fills what is free (a ring's size must not change once records wrapped in
    it: slot i holds record i + 1 + k * slots), else what the free space allows."""
    slots = auto_slots(path)
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            have = f.tell() // SLOT
            f.seek(8)
            b = f.read(4)
    except OSError:
        return slots
    wrapped = len(b) == 4 and struct.unpack("<I", b)[0] > 1  # slot 0 rewritten: a lap done
    return have if have >= 16 and (wrapped or have >= slots) else slots


@micropython.viper
def _enc_viper(src, st, dst) -> int:
    # samples of the wire packet ``src`` from st[16] to st[17] - 1 (int16 at 8 + 16 i), coded
    # into ``dst`` from byte st[18] while they fit below st[19]; st[0..7]: previous values +
    # 32768, st[8..15]: previous first differences + 65536 (kept non-negative: a 32-bit
    # load is not sign-extended on a 64-bit port); st[20..35]: the sample being coded.
    s = ptr8(src)  # noqa: F821 -- viper's pointer casts exist only under MicroPython
    w = ptr32(st)  # noqa: F821
    d = ptr8(dst)  # noqa: F821
    i = int(w[16])
    n = int(w[17])
    off = int(w[18])
    lim = int(w[19])
    while i < n:
        o = off
        b = 8 + 16 * i
        c = 0
        while c < 8:
            v = s[b + 2 * c] | (s[b + 2 * c + 1] << 8)
            if v & 0x8000:
                v = v - 0x10000
            dl = v - (int(w[c]) - 32768)
            dd = dl - (int(w[8 + c]) - 65536)
            if dd >= 0:
                z = dd << 1
            else:
                z = ((0 - dd) << 1) - 1
            if z < 0x80:
                if o + 1 > lim:
                    break
                d[o] = z
                o += 1
            elif z < 0x4000:
                if o + 2 > lim:
                    break
                d[o] = 0x80 | (z >> 8)
                d[o + 1] = z & 0xFF
                o += 2
            else:
                if o + 3 > lim:
                    break
                d[o] = 0xC0 | (z >> 16)
                d[o + 1] = (z >> 8) & 0xFF
                d[o + 2] = z & 0xFF
                o += 3
            w[20 + c] = v + 32768
            w[28 + c] = dl + 65536
            c += 1
        if c < 8:
            break  # this sample does not fit: the record is full
        c = 0
        while c < 8:
            w[c] = w[20 + c]
            w[8 + c] = w[28 + c]
            c += 1
        off = o
        i += 1
    w[16] = i
    w[18] = off
    return i


def _enc_py(src, st, dst):
    # the same code in plain Python (CPython's tests of the format)
    i, n, off, lim = st[16], st[17], st[18], st[19]
    while i < n:
        o = off
        new = []
        for c in range(_CH):
            v = struct.unpack_from("<h", src, 8 + 16 * i + 2 * c)[0]
            dl = v - (st[c] - 32768)
            dd = dl - (st[8 + c] - 65536)
            z = dd << 1 if dd >= 0 else ((-dd) << 1) - 1
            code = (bytes((z,)) if z < 0x80 else bytes((0x80 | (z >> 8), z & 0xFF))
                    if z < 0x4000 else bytes((0xC0 | (z >> 16), (z >> 8) & 0xFF, z & 0xFF)))
            if o + len(code) > lim:
                break
            dst[o:o + len(code)] = code
            o += len(code)
            new.append((v, dl))
        if len(new) < _CH:
            break
        for c, (v, dl) in enumerate(new):
            st[c] = v + 32768
            st[8 + c] = dl + 65536
        off = o
        i += 1
    st[16] = i
    st[18] = off
    return i


try:
    _enc_viper(bytes(26), array("i", bytes(4 * 36)), bytearray(64))
    _enc = _enc_viper
except (NameError, TypeError):  # CPython: no viper pointers
    _enc = _enc_py


def decode_body(rec):
    """The samples of one delta-coded record as a list of 8-tuples of int16 counts (host
    side and tests; the unit never decodes)."""
    n = rec[16]
    end = rec[18] - wire.CRC_SIZE
    if n == 0:
        return []
    x = list(struct.unpack_from("<8h", rec, HEAD))
    out = [tuple(x)]
    dl = [0] * _CH
    o = HEAD + _ABS
    for _ in range(n - 1):
        for c in range(_CH):
            b = rec[o]
            if b < 0x80:
                z = b
                o += 1
            elif b < 0xC0:
                z = ((b & 0x3F) << 8) | rec[o + 1]
                o += 2
            else:
                z = ((b & 0x3F) << 16) | (rec[o + 1] << 8) | rec[o + 2]
                o += 3
            dd = z >> 1 if not z & 1 else -((z + 1) >> 1)
            dl[c] += dd
            x[c] += dl[c]
        out.append(tuple(x))
    if o != end:
        raise ValueError("record %d: body of %d bytes, %d decoded"
                         % (struct.unpack_from("<I", rec, 8)[0], end - HEAD, o - HEAD))
    return out


class Logbook:
    def __init__(self, path, slots=None):
        self.path = path
        self.slots = slots if slots is not None else _ring_slots(path)
        self.corrupt = 0
        self.written = 0  # records written
        self.reads = 0  # slot reads of the boot scan
        self._rec = bytearray(SLOT)  # the open record
        self._rmv = memoryview(self._rec)
        self._slot = bytearray(SLOT)  # a record read back
        self._mv = memoryview(self._slot)
        self._st = array("i", bytes(4 * 36))
        self._n = 0  # samples in the open record
        self._next_tick = 0
        try:
            self._f = open(path, "r+b")
        except OSError:
            self._f = open(path, "w+b")
        self.next_no = self._scan() + 1

    # --- boot scan ---------------------------------------------------------------------------
    def _lap(self, i):
        """How often the ring had wrapped when slot ``i``'s record was written; -1 if the
        slot was never written (zeros, beyond the file's end), -2 if its header fails the
        congruence (torn, corrupt)."""
        f = self._f
        f.seek(i * SLOT + 8)
        self.reads += 1
        b = f.read(4)
        if len(b) < 4:
            return -1
        no = struct.unpack("<I", b)[0]
        if no == 0:
            return -1
        if (no - 1) % self.slots != i:
            return -2
        return (no - 1) // self.slots

    def _lap_near(self, i, hi):
        """(slot, lap) of the first slot at or after ``i`` (up to ``hi``) that was written
        with a valid header, stepping over at most 8 torn ones; (i, -1) if none (treated as
        after the newest)."""
        for j in range(i, min(hi + 1, i + 8)):
            k = self._lap(j)
            if k != -2:
                return j, k
        return i, -1

    def _scan(self):
        """The newest record number on flash (0: none), by binary search (module docstring)."""
        f = self._f
        f.seek(0, 2)
        size = f.tell()
        top = min(self.slots, (size + SLOT - 1) // SLOT) - 1  # the last slot the file reaches
        if top < 0:
            return 0
        j0, k0 = self._lap_near(0, top)
        if k0 < 0:
            return 0
        lo, hi = j0, top  # slot lo has lap k0; find the last such slot
        while lo < hi:
            mid = (lo + hi + 1) // 2
            j, k = self._lap_near(mid, hi)
            if k == k0:
                lo = j  # (torn slots stepped over before j are lap k0's too)
            else:
                hi = mid - 1
        return k0 * self.slots + lo + 1

    # --- writing -----------------------------------------------------------------------------
    @property
    def pending(self):
        """Samples gathered in RAM, not yet in a record on flash."""
        return self._n

    def append(self, packet, boot_id=0):
        """Keep one wire packet's samples (full samples delta coded; others verbatim)."""
        n = len(packet)
        kind = packet[1]
        if n < wire.HEADER_SIZE + wire.CRC_SIZE + 2:
            raise ValueError("a %d-byte packet holds no sample" % n)
        tick = packet[4] | (packet[5] << 8) | (packet[6] << 16) | (packet[7] << 24)
        if kind != _FULL1:
            self._verbatim(packet, kind, tick, boot_id)
            return
        count = (n - wire.HEADER_SIZE - wire.CRC_SIZE) // 16
        st = self._st
        if self._n and (tick != self._next_tick or boot_id != self._boot):
            self.seal()
        i = 0
        while i < count:
            if not self._n:
                self._start(tick + i, boot_id, _FULL1)
                o = 8 + 16 * i
                r = self._rec
                for c in range(_CH):  # byte by byte: no view or tuple made
                    lo = packet[o + 2 * c]
                    hi = packet[o + 2 * c + 1]
                    r[HEAD + 2 * c] = lo
                    r[HEAD + 2 * c + 1] = hi
                    st[c] = ((lo | (hi << 8)) ^ 0x8000)  # (int16 + 32768)
                    st[8 + c] = 65536
                st[18] = HEAD + _ABS
                self._n = 1
                i += 1
                continue
            st[16] = i
            st[17] = count
            st[19] = MAX_RECORD - wire.CRC_SIZE
            j = _enc(packet, st, self._rec)
            self._n += j - i
            i = j
            if i < count:  # full
                self.seal()
        self._next_tick = (tick + count) & 0xFFFFFFFF

    def _start(self, tick, boot_id, inner):
        self._tick = tick & 0xFFFFFFFF
        self._boot = boot_id
        self._inner = inner

    def _verbatim(self, packet, kind, tick, boot_id):
        # another layout (angles only, a stride): its samples as they are, in as many records
        # as they need (an angle packet at MTU 247 holds 58 samples, a record 55)
        self.seal()
        n = len(packet) - wire.HEADER_SIZE - wire.CRC_SIZE
        size = wire.SAMPLE_SIZE.get(kind & 0x0F, 0)
        if not size or n % size:
            raise ValueError("a packet of unknown layout %d" % kind)
        per = (MAX_RECORD - HEAD - wire.CRC_SIZE) // size
        stride = (kind >> 4) + 1
        done = 0
        while done < n // size:
            k = min(per, n // size - done)
            o = wire.HEADER_SIZE + done * size
            self._start(tick + done * stride, boot_id, kind)
            self._rmv[HEAD:HEAD + k * size] = packet[o:o + k * size]
            self._st[18] = HEAD + k * size
            self._n = k
            self.seal()
            done += k

    def seal(self):
        """Write the open record (if any) to its slot."""
        n = self._n
        if not n:
            return
        end = self._st[18]
        no = self.next_no
        r = self._rec
        struct.pack_into(_HEAD, r, 0, wire.VERSION, wire.KIND_LOG, no & 0xFFFF, self._tick, no,
                         self._boot, n, self._inner, end + wire.CRC_SIZE, 0)
        c = wire.crc16(r, end)
        r[end] = c & 0xFF
        r[end + 1] = c >> 8
        f = self._f
        f.seek(((no - 1) % self.slots) * SLOT)
        f.write(r)
        f.flush()
        self._n = 0
        self.next_no = no + 1
        self.written += 1

    # --- reading -----------------------------------------------------------------------------
    @property
    def first_no(self):
        """The oldest record number the ring can still hold."""
        return max(1, self.next_no - self.slots)

    def _read(self, no):
        """The record ``no`` (a memoryview valid until the next read) or None if the slot
        holds another record, or fails its CRC (counted in ``corrupt``)."""
        f = self._f
        s = self._slot
        f.seek(((no - 1) % self.slots) * SLOT)
        got = f.readinto(s)
        if not got or got < HEAD + wire.CRC_SIZE:
            return None
        if struct.unpack_from("<I", s, 8)[0] != no:
            self.corrupt += 1
            return None
        n = s[18]
        if n > MAX_RECORD or n < HEAD + wire.CRC_SIZE or s[1] != wire.KIND_LOG or \
                wire.crc16(s, n - 2) != s[n - 2] | (s[n - 1] << 8):
            self.corrupt += 1
            return None
        return self._mv[:n]

    def records(self, no_from, no_to):
        """(record number, record) for the records still held in [no_from, no_to), oldest
        first; records the ring has overwritten, or that fail their CRC, are skipped."""
        for no in range(max(no_from, self.first_no), min(no_to, self.next_no)):
            r = self._read(no)
            if r is not None:
                yield no, r

    def replay(self, tick_from, tick_to, boot_id, first_no=1):
        """Records of boot ``boot_id`` holding ticks in [tick_from, tick_to), oldest first,
        from record ``first_no`` on."""
        for _no, r in self.records(first_no, self.next_no):
            if struct.unpack_from("<I", r, 12)[0] != boot_id:
                continue
            tick = struct.unpack_from("<I", r, 4)[0]
            if tick < tick_to and tick + r[16] * ((r[17] >> 4) + 1) > tick_from:
                yield r

    def end_marker(self, buf, seq_no, boot_id):
        """An end-of-transfer record in ``buf`` (count 0, number ``seq_no``: the first not
        sent); returns its memoryview."""
        struct.pack_into(_HEAD, buf, 0, wire.VERSION, wire.KIND_LOG, seq_no & 0xFFFF, 0,
                         seq_no, boot_id, 0, 0, HEAD + wire.CRC_SIZE, 0)
        c = wire.crc16(buf, HEAD)
        buf[HEAD] = c & 0xFF
        buf[HEAD + 1] = c >> 8
        return memoryview(buf)[:HEAD + wire.CRC_SIZE]

    def close(self):
        self.seal()
        self._f.close()
