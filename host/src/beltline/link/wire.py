"""Host side of the wire format: decode notifications into numpy arrays, whole batches at once.

The format itself is defined once, in ``beltline.firmware.wire`` (the belt unit's module).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beltline.errors import ChecksumError, MalformedPacket, VersionMismatch
from beltline.firmware import logbook as fwlog
from beltline.firmware import wire as fw

# numpy views of the sample layouts, in physical units after scaling
_DTYPES = {
    fw.KIND_FULL: np.dtype(
        [("roll", "<i2"), ("pitch", "<i2"), ("ax", "<i2"), ("ay", "<i2"), ("az", "<i2"),
         ("gx", "<i2"), ("gy", "<i2"), ("gz", "<i2")]
    ),
    fw.KIND_ANGLES: np.dtype([("roll", "<i2"), ("pitch", "<i2")]),
}
_SCALE = {"roll": fw.ANGLE_LSB, "pitch": fw.ANGLE_LSB, "ax": fw.ACC_LSB, "ay": fw.ACC_LSB,
          "az": fw.ACC_LSB, "gx": fw.GYR_LSB, "gy": fw.GYR_LSB, "gz": fw.GYR_LSB}
_HEADER = np.dtype([("version", "u1"), ("kind", "u1"), ("seq", "<u2"), ("tick", "<u4")])
_CRC_TABLE = np.array(fw._crc_table(), dtype=np.uint16)


@dataclass(frozen=True)
class Batch:
    """One decoded packet: ``n`` samples starting at device ``tick``, ``stride`` ticks apart.

    ``values`` maps a field name (``roll``/``pitch`` in degrees, ``ax``.. in m/s², ``gx``.. in
    rad/s) to a float64 array of length ``n``; ``saturated`` flags samples where any field was
    at the int16 clamp.
    """

    seq: int
    tick: int
    kind: int
    stride: int
    values: dict[str, np.ndarray]
    saturated: np.ndarray
    record: int = 0  # a logbook record (``KIND_LOG``): its number (0: a stream packet)
    boot_id: int | None = None  # ... and the boot whose ticks it counts in

    @property
    def n(self) -> int:
        return len(self.saturated)

    @property
    def ticks(self) -> np.ndarray:
        return self.tick + self.stride * np.arange(self.n, dtype=np.int64)


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE, the same as the firmware's (host-side, for checks and tests)."""
    c = 0xFFFF
    t = _CRC_TABLE
    for b in data:
        c = ((c << 8) & 0xFFFF) ^ int(t[((c >> 8) ^ b) & 0xFF])
    return c


def decode(packet: bytes | bytearray | memoryview) -> Batch:
    """Decode one notification; raise a ``WireError`` subclass if it is not a valid packet."""
    data = bytes(packet)
    size = len(data)
    if size < fw.HEADER_SIZE + fw.CRC_SIZE:
        raise MalformedPacket("short", f"packet of {size} bytes is shorter than a header", size)
    if data[0] != fw.VERSION:
        raise VersionMismatch(data[0], fw.VERSION)
    kind = data[1] & 0x0F
    stride = (data[1] >> 4) + 1
    if kind == fw.KIND_LOG:
        return _decode_log(data)
    sample_size = fw.SAMPLE_SIZE.get(kind)
    if sample_size is None:
        raise MalformedPacket("kind", f"unknown sample kind {kind}", size)
    body = size - fw.HEADER_SIZE - fw.CRC_SIZE
    if body <= 0 or body % sample_size:
        raise MalformedPacket(
            "length",
            f"packet of {size} bytes does not hold a whole number of {sample_size}-byte samples "
            "(truncated? NimBLE cuts notifications to MTU-3 bytes)",
            size,
        )
    got = data[-2] | (data[-1] << 8)
    if crc16(data[:-2]) != got:
        raise ChecksumError("crc", f"checksum mismatch in a {size}-byte packet", size)
    head = np.frombuffer(data, dtype=_HEADER, count=1)[0]
    raw = np.frombuffer(data, dtype=_DTYPES[kind], offset=fw.HEADER_SIZE,
                        count=body // sample_size)
    values = {}
    saturated = np.zeros(len(raw), dtype=bool)
    for name in raw.dtype.names or ():
        col = raw[name]
        saturated |= np.abs(col.astype(np.int32)) >= 32767
        values[name] = col.astype(np.float64) * _SCALE[name]
    return Batch(int(head["seq"]), int(head["tick"]), kind, stride, values, saturated)


_LOG_HEAD = np.dtype([("version", "u1"), ("kind", "u1"), ("seq", "<u2"), ("tick", "<u4"),
                      ("record", "<u4"), ("boot", "<u4"), ("count", "u1"), ("inner", "u1"),
                      ("length", "u1"), ("zero", "u1")])


def _decode_log(data: bytes) -> Batch:
    """A logbook record (``firmware/logbook.py``): CRC, header, then its samples (delta
    coded full samples, or another layout verbatim). A record of count 0 is an end marker:
    a batch of no samples whose ``record`` is the first record not sent."""
    size = len(data)
    if size < fwlog.HEAD + fw.CRC_SIZE:
        raise MalformedPacket("short", f"logbook record of {size} bytes is shorter than its "
                              "header", size)
    h = np.frombuffer(data, dtype=_LOG_HEAD, count=1)[0]
    if int(h["length"]) != size:
        raise MalformedPacket("length", f"logbook record says {int(h['length'])} bytes, "
                              f"{size} arrived (truncated? NimBLE cuts notifications to MTU-3 "
                              "bytes)", size)
    if crc16(data[:-2]) != data[-2] | (data[-1] << 8):
        raise ChecksumError("crc", f"checksum mismatch in a {size}-byte logbook record", size)
    n, inner = int(h["count"]), int(h["inner"])
    kind, stride = inner & 0x0F, (inner >> 4) + 1
    if n == 0:
        return Batch(int(h["seq"]), int(h["tick"]), fw.KIND_FULL, 1, {},
                     np.zeros(0, dtype=bool), int(h["record"]), int(h["boot"]))
    dtype = _DTYPES.get(kind)
    if dtype is None:
        raise MalformedPacket("kind", f"logbook record of unknown sample kind {kind}", size)
    if inner == fw.KIND_FULL:
        try:
            counts = np.array(fwlog.decode_body(data), dtype=np.int16).view(dtype).ravel()
        except (ValueError, IndexError) as exc:
            raise MalformedPacket("length", f"logbook record {int(h['record'])}: {exc}",
                                  size) from exc
    else:
        body = size - fwlog.HEAD - fw.CRC_SIZE
        if body != n * dtype.itemsize:
            raise MalformedPacket("length", f"logbook record of {n} samples holds {body} "
                                  "bytes", size)
        counts = np.frombuffer(data, dtype=dtype, offset=fwlog.HEAD, count=n)
    if len(counts) != n:
        raise MalformedPacket("length", f"logbook record of {n} samples decodes to "
                              f"{len(counts)}", size)
    values = {}
    saturated = np.zeros(n, dtype=bool)
    for name in counts.dtype.names or ():
        col = counts[name]
        saturated |= np.abs(col.astype(np.int32)) >= 32767
        values[name] = col.astype(np.float64) * _SCALE[name]
    return Batch(int(h["seq"]), int(h["tick"]), kind, stride, values, saturated,
                 int(h["record"]), int(h["boot"]))
