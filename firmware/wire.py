"""The over-the-air packet format: the one definition, shared by the belt unit and the host.

Every notification on the stream characteristic is one packet, little-endian:

    offset  size  field    meaning
    ------  ----  -------  -------------------------------------------------------------------
    0       1     version  wire format version, ``VERSION`` (= 1); the host refuses others
    1       1     kind     low nibble: sample layout (``KIND_FULL`` or ``KIND_ANGLES``);
                           high nibble: stride - 1, ticks between consecutive samples (1..16)
    2       2     seq      packet counter, +1 per packet sent, wraps at 65536
    4       4     tick     device timestamp of the first sample: index of that sample in the
                           IMU's output-data-rate clock since boot (wraps at 2^32); sample i of
                           the batch has tick + i * stride. Seconds = tick / rate_hz (the rate
                           is in the status characteristic).
    8       n*S   samples  n samples of S bytes, layout below (n = (len - 10) / S, n >= 1)
    8+n*S   2     crc      CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of bytes 0 .. 8+n*S-1

``KIND_FULL`` sample, S = 16 bytes, all int16:

    0  roll     pelvis roll (obliquity), 0.01 deg, + = right side lower (DESIGN.md conventions)
    2  pitch    pelvis pitch (tilt), 0.01 deg, + = anterior; both from the device's own
                calibration (identity mounting until calibrated)
    4  ax, ay, az   accelerometer, sensor frame, ``ACC_LSB`` m/s^2 per count (gravity included)
    10 gx, gy, gz   gyroscope, sensor frame, ``GYR_LSB`` rad/s per count

``KIND_LOG`` (3): a record of the unit's offline logbook sent as it is on flash (a header of
its own, delta-coded samples, the same CRC at the end): layout in ``logbook.py``.

``KIND_ANGLES`` sample, S = 4 bytes: roll, pitch as above. Used only when the negotiated MTU is
too small for two full samples (the default MTU 23 leaves a 20-byte payload); the device then
streams angles at a lower rate (stride > 1).

Values are rounded to the nearest count (ties to even, as ``round()`` does in MicroPython and
CPython alike). Values that do not fit int16 are clamped to +-32767, and a NaN is sent as +32767
(-32768 is never sent; the host counts clamped samples as saturated). BLE notifications hold
MTU - 3 bytes; NimBLE truncates longer ones silently, so ``capacity`` must size every batch from
the negotiated MTU. The CRC runs as viper machine code under MicroPython (integers only).
"""

import struct
import sys
from array import array

try:
    import micropython
except ImportError:  # CPython (the host): MicroPython's code emitters do not exist there

    class micropython:  # noqa: N801 -- stands in for the module of that name
        native = viper = staticmethod(lambda f: f)


VERSION = 1
KIND_FULL = 1
KIND_ANGLES = 2
KIND_LOG = 3  # a logbook record (logbook.py), not in SAMPLE_SIZE: its own layout
HEADER_SIZE = 8
CRC_SIZE = 2
ACC_LSB = 0.005  # m/s^2 per count: +-163 m/s^2 (16.7 g), finer than a 16 g IMU's own LSB
GYR_LSB = 0.001  # rad/s per count: +-32.8 rad/s (1877 deg/s)
ANGLE_LSB = 0.01  # degrees per count
SAMPLE_SIZE = {KIND_FULL: 16, KIND_ANGLES: 4}
MAX_STRIDE = 16
_HEADER = "<BBHI"
_FULL = "<hhhhhhhh"
_ANGLES = "<hh"


def _crc_table():
    t = array("H", bytes(512))
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        t[i] = c & 0xFFFF
    return t


_CRC_TABLE = _crc_table()


def _crc16_py(buf, n):
    t = _CRC_TABLE
    c = 0xFFFF
    for i in range(n):
        c = ((c << 8) & 0xFFFF) ^ t[((c >> 8) ^ buf[i]) & 0xFF]
    return c


@micropython.viper
def _crc16_viper(buf, n: int) -> int:
    # the same loop on machine integers: a packet's CRC costs ~30x less than in bytecode
    t = ptr16(_CRC_TABLE)  # noqa: F821 -- viper's pointer casts exist only under MicroPython
    p = ptr8(buf)  # noqa: F821
    c = 0xFFFF
    for i in range(n):
        c = ((c << 8) & 0xFFFF) ^ t[((c >> 8) ^ p[i]) & 0xFF]
    return c


def crc16(buf, n):
    """CRC-16/CCITT-FALSE of the first ``n`` bytes of ``buf`` (small ints only: no allocation)."""
    if n > len(buf):
        raise ValueError("crc16: %d bytes asked of a %d-byte buffer" % (n, len(buf)))
    return _crc16(buf, n)


# viper only under MicroPython (the module of that name is there); CPython runs the plain loop
_crc16 = _crc16_viper if sys.implementation.name == "micropython" else _crc16_py


def capacity(mtu, kind):
    """How many samples of ``kind`` fit one notification at ATT MTU ``mtu`` (0 if none)."""
    room = mtu - 3 - HEADER_SIZE - CRC_SIZE
    if room < 0:
        return 0
    return room // SAMPLE_SIZE[kind]


def _i16(x):
    # nearest count, clamped to the symmetric int16 range; comparisons and round() make no float
    if x < 32767.0:
        if x > -32767.0:
            return round(x)
        return -32767
    return 32767  # too large, or NaN: sent as saturated


class Batcher:
    """Packs samples into packets in one preallocated buffer.

    ``Batcher(mtu)`` chooses the layout: full samples when at least two fit the MTU, otherwise
    angles only. ``add_*`` returns None while the batch fills, and a memoryview of the finished
    packet (valid until the next ``add_*``) when it is full; ``flush()`` finishes a partial batch.
    """

    def __init__(self, mtu=23, max_samples=None, kind=None):
        if kind is None:
            kind = KIND_FULL if capacity(mtu, KIND_FULL) >= 2 else KIND_ANGLES
        n = capacity(mtu, kind)
        if max_samples is not None:
            n = min(n, max_samples)
        if n < 1:
            raise ValueError("MTU %d cannot carry one sample" % mtu)
        self.kind = kind
        self.per_packet = n
        self.size = SAMPLE_SIZE[kind]
        self._buf = bytearray(HEADER_SIZE + n * self.size + CRC_SIZE)
        self._mv = memoryview(self._buf)
        self._full = self._mv[:len(self._buf)]  # a full packet: no view made per packet
        self.seq = 0
        self.stride = 1
        self._n = 0
        self._tick = 0

    def set_stride(self, stride):
        if not 1 <= stride <= MAX_STRIDE:
            raise ValueError("stride must be 1..%d, got %r" % (MAX_STRIDE, stride))
        self.flush()
        self.stride = stride

    def add_full(self, tick, roll_deg, pitch_deg, ax, ay, az, gx, gy, gz):
        """Add one sample (tick, degrees, m/s^2, rad/s). Angles are dropped in ANGLES layout."""
        return self.add_counts(tick, roll_deg / ANGLE_LSB, pitch_deg / ANGLE_LSB, ax, ay, az, gx,
                               gy, gz)

    @micropython.native
    def add_counts(self, tick, roll, pitch, ax, ay, az, gx, gy, gz):
        """``add_full`` with the angles already in counts of ``ANGLE_LSB`` (the sample loop's
        way: the scaling folds into its own arithmetic)."""
        n = self._n
        if n == 0:
            self._tick = tick & 0xFFFFFFFF
        off = HEADER_SIZE + n * self.size
        n += 1
        self._n = n
        if self.kind == KIND_FULL:
            struct.pack_into(_FULL, self._buf, off, _i16(roll), _i16(pitch), _i16(ax / ACC_LSB),
                             _i16(ay / ACC_LSB), _i16(az / ACC_LSB), _i16(gx / GYR_LSB),
                             _i16(gy / GYR_LSB), _i16(gz / GYR_LSB))
        else:
            struct.pack_into(_ANGLES, self._buf, off, _i16(roll), _i16(pitch))
        if n == self.per_packet:
            return self.flush()
        return None

    def flush(self):
        """Finish the current batch: a memoryview of the packet, or None if it is empty."""
        n = self._n
        if n == 0:
            return None
        kind_byte = self.kind | ((self.stride - 1) << 4)
        struct.pack_into(_HEADER, self._buf, 0, VERSION, kind_byte, self.seq, self._tick)
        end = HEADER_SIZE + n * self.size
        c = _crc16(self._buf, end)
        self._buf[end] = c & 0xFF
        self._buf[end + 1] = c >> 8
        self.seq = (self.seq + 1) & 0xFFFF
        self._n = 0
        if n == self.per_packet:
            return self._full
        return self._mv[:end + CRC_SIZE]
