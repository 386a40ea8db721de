"""The store's compact blocks: raw IMU samples and per-sample results as zlib'd integer deltas.

Raw block (``encode_raw``): ``n`` samples of 6 channels (ax ay az gx gy gz) as integer counts
of the session's ``RawFormat``, and their ticks. Each channel is delta-coded in its own width
(wrapping, so exact), the ticks as second differences (a regular stream codes as zeros), the
bytes split into planes (low bytes together, high bytes together) and zlib'd. Measured on the
shared lower-back walkers quantised to the wire's counts (``beltline bench store``): 12 bytes
per sample as int16 become 7.5 in 1-s blocks and 6.8-7.1 in the 1-min blocks a closed session
keeps (2.6 MB per hour at 100 Hz; the virtual wearer's smoother data: 5.2); zlib of the plain
int16 gives 9.3-9.7, lzma saves another 10 % at 10-20 times the cost.
Everything here is lossless for what the store keeps: counts and ticks come back exactly.

Sample block (``encode_samples``): times in 10-µs units from the block's first time, obliquity
and tilt in 0.01° (int16, ``NAN`` where unknown: the wire's own LSB and its never-sent -32768)
and the activity as a code.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from beltline.errors import DataError

VERSION = 1
_RAW_HEAD = struct.Struct("<BBI")  # version, bits, n
_SAMPLE_HEAD = struct.Struct("<BI")  # version, n
ANGLE_LSB_DEG = 0.01
TIME_LSB_S = 1e-5
NAN16 = -32768
ACTIVITY_CODES = ("", "standing", "walking", "sitting", "other")
_ACT_INDEX = {a: i for i, a in enumerate(ACTIVITY_CODES)}
MAX_TICK_STEP = (1 << 31) - 1  # ticks between two samples of one block (int32 deltas)


def _planes(a: np.ndarray) -> bytes:
    """(channels, n) integers -> their bytes, plane by plane (all low bytes first)."""
    w = a.dtype.itemsize
    by = np.ascontiguousarray(a).view(np.uint8).reshape(a.shape[0], a.shape[1], w)
    return np.ascontiguousarray(by.transpose(2, 0, 1)).tobytes()


def _unplanes(buf: bytes, dtype: np.dtype, channels: int, n: int) -> np.ndarray:
    w = dtype.itemsize
    by = np.frombuffer(buf, np.uint8).reshape(w, channels, n)
    return np.ascontiguousarray(by.transpose(1, 2, 0)).view(dtype).reshape(channels, n)


def _delta(a: np.ndarray) -> np.ndarray:
    """Differences along the last axis in the array's own width (wrapping: exact)."""
    out = a.copy()
    out[..., 1:] = a[..., 1:] - a[..., :-1]
    return out


def _undelta(d: np.ndarray) -> np.ndarray:
    return np.cumsum(d, axis=-1, dtype=d.dtype)


def encode_raw(ticks: np.ndarray, counts: np.ndarray, bits: int) -> bytes:
    """``ticks`` (n, int64, increasing), ``counts`` (n×6 integers that fit ``bits``)."""
    n = len(ticks)
    dtype = np.dtype(np.int16 if bits == 16 else np.int32)
    step = np.diff(np.asarray(ticks, np.int64))
    if n > 1 and (step.min() <= 0 or step.max() > MAX_TICK_STEP):
        raise ValueError("raw block ticks must increase by 1 to 2^31-1")
    t = _delta(step.astype(np.int32)[None, :]) if n > 1 else np.zeros((1, 0), np.int32)
    v = _delta(np.asarray(counts).astype(dtype).T)
    body = _planes(t) + _planes(v)
    return _RAW_HEAD.pack(VERSION, bits, n) + zlib.compress(body, 6)


def decode_raw(blob: bytes, tick0: int) -> tuple[np.ndarray, np.ndarray]:
    """(ticks int64 (n), counts int64 (n×6)) of a raw block whose first tick is ``tick0``."""
    try:
        version, bits, n = _RAW_HEAD.unpack_from(blob)
        body = zlib.decompress(blob[_RAW_HEAD.size:])
    except (struct.error, zlib.error) as exc:
        raise DataError(f"a raw block in the store is damaged ({exc})") from exc
    if version != VERSION or bits not in (16, 32):
        raise DataError(f"a raw block in the store has an unknown layout (v{version}, {bits})")
    dtype = np.dtype(np.int16 if bits == 16 else np.int32)
    nt = 4 * max(n - 1, 0)
    if len(body) != nt + 6 * n * dtype.itemsize:
        raise DataError("a raw block in the store is damaged (wrong length)")
    ticks = np.empty(n, np.int64)
    if n:
        ticks[0] = tick0
    if n > 1:
        step = _undelta(_unplanes(body[:nt], np.dtype(np.int32), 1, n - 1))[0]
        ticks[1:] = tick0 + np.cumsum(step.astype(np.int64))
    counts = _undelta(_unplanes(body[nt:], dtype, 6, n)).T.astype(np.int64)
    return ticks, counts


def encode_samples(t: np.ndarray, obliquity_deg: np.ndarray, tilt_deg: np.ndarray,
                   activity: np.ndarray) -> tuple[float, bytes]:
    """(first time, blob) of per-sample results (times increasing)."""
    n = len(t)
    t0 = float(t[0]) if n else 0.0
    off = np.rint((np.asarray(t, float) - t0) / TIME_LSB_S).astype(np.int64)
    step = np.diff(off, prepend=0)
    dd = _delta(step[None, :])
    angles = np.vstack([_angle16(obliquity_deg), _angle16(tilt_deg)])
    codes = np.zeros(n, np.uint8)
    if n:
        names, inv = np.unique(np.asarray(activity).astype(str), return_inverse=True)
        codes = np.array([_ACT_INDEX.get(str(x), 4) for x in names], np.uint8)[inv.ravel()]
    body = _planes(dd) + _planes(_delta(angles)) + codes.tobytes()
    return t0, _SAMPLE_HEAD.pack(VERSION, n) + zlib.compress(body, 6)


def decode_samples(blob: bytes, t0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray]:
    try:
        version, n = _SAMPLE_HEAD.unpack_from(blob)
        body = zlib.decompress(blob[_SAMPLE_HEAD.size:])
    except (struct.error, zlib.error) as exc:
        raise DataError(f"a sample block in the store is damaged ({exc})") from exc
    if version != VERSION or len(body) != n * (8 + 4 + 1):
        raise DataError("a sample block in the store is damaged (wrong layout)")
    dd = _unplanes(body[: 8 * n], np.dtype(np.int64), 1, n)
    off = np.cumsum(_undelta(dd)[0])
    angles = _undelta(_unplanes(body[8 * n: 12 * n], np.dtype(np.int16), 2, n))
    codes = np.frombuffer(body[12 * n:], np.uint8)
    t = t0 + off * TIME_LSB_S
    obl, tilt = (np.where(a == NAN16, np.nan, a * ANGLE_LSB_DEG) for a in angles)
    act = np.array(ACTIVITY_CODES, "<U8")[np.minimum(codes, len(ACTIVITY_CODES) - 1)]
    return t, obl, tilt, act


def _angle16(deg: np.ndarray) -> np.ndarray:
    x = np.asarray(deg, float)
    q = np.rint(np.clip(np.nan_to_num(x, nan=0.0), -327.67, 327.67) / ANGLE_LSB_DEG)
    return np.where(np.isfinite(x), q, NAN16).astype(np.int16)
