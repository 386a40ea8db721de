"""Reading the common raw IMU format ``t_s,ax,ay,az,gx,gy,gz`` with checks that refuse to guess
(and, by header, the other formats of ``beltline.sessions.readers``).

Units: s, m/s² with gravity, rad/s, sensor frame (DESIGN.md §3). ``acc_unit="g"`` and
``gyro_unit="deg/s"`` convert other units. Data that look like another unit, missing columns,
non-numbers, NaNs, time that goes backwards or a sample rate outside 50-1000 Hz raise ``DataError``
with the row and the fix; nothing is dropped or filled in silently.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from beltline.errors import DataError
from beltline.frames import GRAVITY_MS2 as G

if TYPE_CHECKING:
    from beltline.sessions.readers import Header

log = logging.getLogger(__name__)

COLUMNS = ("t_s", "ax", "ay", "az", "gx", "gy", "gz")
ACC_UNITS = {"m/s2": 1.0, "m/s^2": 1.0, "g": G}
GYRO_UNITS = {"rad/s": 1.0, "deg/s": np.pi / 180.0}


@dataclass(frozen=True)
class Raw:
    """A raw recording in SI: ``t`` (N, s, the file's clock), ``acc`` (N×3), ``gyr`` (N×3)."""

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray

    @property
    def rate_hz(self) -> float:
        return float(1.0 / np.median(np.diff(self.t))) if len(self.t) > 1 else 0.0


CHUNK_ROWS = 1 << 16  # rows per piece of a streamed read (~11 min at 100 Hz): pandas needs
# several times the piece while parsing it (2^18 rows: ~130 MB more at the peak)


def read(path: Path, acc_unit: str | None = None, gyro_unit: str | None = None,
         rate_hz: float | None = None) -> Raw:
    """Read and check a raw recording (see the module docstring). The header decides the
    format: the common ``t_s,ax,...`` CSV, an Xsens MT Manager text export or the
    ``acc_x...gyr_z`` columns of mobgap/gaitmap (``beltline.sessions.readers``). Units default to
    the format's own (m/s² and rad/s; deg/s for the mobgap/gaitmap columns); ``rate_hz`` is for
    files whose time is a sample count."""
    path = Path(path)
    common = _common_layout(path, acc_unit, gyro_unit, rate_hz)
    if isinstance(common, Raw):
        return common
    parts = [raw for _, raw in _common_pieces(path, *common, CHUNK_ROWS)]
    if not parts:
        return check(Raw(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3))), str(path))
    return check(Raw(np.concatenate([r.t for r in parts]), np.concatenate([r.acc for r in parts]),
                     np.concatenate([r.gyr for r in parts])), str(path))


def read_chunks(path: Path, acc_unit: str | None = None, gyro_unit: str | None = None,
                rate_hz: float | None = None, rows: int | None = None) -> Iterator[Raw]:
    """``read`` in pieces of ``rows`` samples, so a file of any length is never whole in
    memory (the common format; the other formats are read whole, then given out in pieces).
    Each piece gets ``read``'s checks, its statistics (rate, units) over that piece (a last
    piece shorter than 200 samples only gets the row checks), and time must increase from one
    piece to the next. A fault raises ``DataError`` naming the data row, when its piece comes."""
    path = Path(path)
    rows = rows or CHUNK_ROWS
    common = _common_layout(path, acc_unit, gyro_unit, rate_hz)
    if isinstance(common, Raw):
        for i in range(0, len(common.t), rows):
            yield Raw(common.t[i: i + rows], common.acc[i: i + rows], common.gyr[i: i + rows])
        return
    last: float | None = None
    pieces = 0
    for offset, raw in _common_pieces(path, *common, rows):
        if last is not None and raw.t[0] <= last:
            raise DataError(f"{path}: time does not increase at data row {offset + 1} "
                            f"(t={last:.6f} then {raw.t[0]:.6f}); sort the file or fix the "
                            "clock")
        check(raw, str(path), offset, stats=pieces == 0 or len(raw.t) >= 200)
        last = float(raw.t[-1])
        pieces += 1
        yield raw
    if not pieces:
        check(Raw(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3))), str(path))


def _common_layout(path: Path, acc_unit: str | None, gyro_unit: str | None,
                   rate_hz: float | None) -> Raw | tuple[Header, list[int], float, float]:
    """The common format's layout (header, the columns of ``COLUMNS``, unit factors), or the
    whole recording already read when the file is in another format."""
    from beltline.sessions import readers

    if acc_unit is not None and acc_unit not in ACC_UNITS:
        raise DataError(f"--acc-unit must be one of {', '.join(ACC_UNITS)}, got {acc_unit!r}")
    if gyro_unit is not None and gyro_unit not in GYRO_UNITS:
        raise DataError(f"--gyro-unit must be one of {', '.join(GYRO_UNITS)}, got {gyro_unit!r}")
    head = readers.sniff(path)
    if head.kind == "xsens":
        return readers.read_xsens(path, head, acc_unit, gyro_unit, rate_hz)
    if head.kind == "columns":
        return readers.read_columns(path, head, acc_unit, gyro_unit, rate_hz)
    if head.kind == "unknown" and not head.names:
        raise DataError(f"{path}: empty file; expected a header {','.join(COLUMNS)}")
    # a spreadsheet may add a byte-order mark or capitals; the names themselves are fixed
    names = [h.strip().lstrip("\ufeff").lower() for h in head.names]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; the raw format is "
                        f"{','.join(COLUMNS)} (s, m/s², rad/s); also read: an Xsens MT Manager "
                        "export (PacketCounter, Acc_X..., Gyr_X...) and mobgap/gaitmap columns "
                        "(acc_x..., gyr_x... in deg/s)")
    return (head, [names.index(c) for c in COLUMNS], ACC_UNITS[acc_unit or "m/s2"],
            GYRO_UNITS[gyro_unit or "rad/s"])


def _common_pieces(path: Path, head: Header, idx: list[int], acc_k: float, gyr_k: float,
                   rows: int) -> Iterator[tuple[int, Raw]]:
    """(first data row's index, unchecked piece) of the common format, ``rows`` at a time,
    parsed by pandas' C reader (several times faster than ``np.loadtxt``)."""
    import pandas as pd

    opts: dict[str, Any] = dict(sep=head.delimiter or ",", skiprows=head.line + 1, header=None,
                                encoding="utf-8-sig", comment="#", engine="c",
                                dtype=np.float64)
    offset = 0
    try:
        with pd.read_csv(path, chunksize=rows, **opts) as reader:
            for df in reader:
                if df.shape[1] <= max(idx):
                    raise DataError(f"{path}: cannot read the numbers (data row {offset + 1} "
                                    f"has {df.shape[1]} fields, the header "
                                    f"{len(head.names)}); a truncated or damaged file?")
                if df.shape[1] > len(head.names):
                    _extra_fields(path, head, df, offset)
                data = df.to_numpy()[:, idx]
                yield offset, Raw(np.ascontiguousarray(data[:, 0]), data[:, 1:4] * acc_k,
                                  data[:, 4:7] * gyr_k)
                offset += len(df)
    except pd.errors.EmptyDataError:
        if offset:  # the pieces so far were whole: the file ends there
            return
        raise DataError(f"{path}: no samples after the header (data row 1 is missing); a "
                        "truncated file?") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the numbers ({_where(path, head, offset, rows, exc)})"
                        "; a truncated or damaged file?") from exc


def _extra_fields(path: Path, head: Header, df: Any, offset: int) -> None:
    """Rows with more fields than the header are refused unless the extra fields are empty
    (a trailing delimiter, as spreadsheets write): an unnamed column (an index written first)
    would otherwise shift every name onto the wrong numbers."""
    extra = df.iloc[:, len(head.names):].notna().to_numpy().any(axis=1)
    if extra.any():
        i = int(np.flatnonzero(extra)[0])
        raise DataError(f"{path}: data row {offset + i + 1} has {df.shape[1]} fields, the "
                        f"header {len(head.names)}; an unnamed column (an index?) or a "
                        "misplaced delimiter: give every column a name")


def _where(path: Path, head: Header, offset: int, rows: int, exc: Exception) -> str:
    """What pandas could not read, with the data row: the failing piece read again as text."""
    import pandas as pd

    try:
        df = pd.read_csv(path, skiprows=head.line + 1 + offset, nrows=rows, header=None,
                         sep=head.delimiter or ",", dtype=str, keep_default_na=False,
                         encoding="utf-8-sig", comment="#", engine="c")
    except (ValueError, pd.errors.ParserError):
        return str(exc).strip().splitlines()[0]
    for j in range(df.shape[1]):
        col = df[j]
        bad = pd.to_numeric(col, errors="coerce").isna() & (col.str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            name = head.names[j] if j < len(head.names) else f"column {j + 1}"
            return f"data row {offset + i + 1}, {name.strip()}: {col.iloc[i]!r} is not a number"
    return str(exc).strip().splitlines()[0]


def check(raw: Raw, name: str = "recording", offset: int = 0, stats: bool = True) -> Raw:
    """The checks of ``read`` on arrays already in memory. Returns ``raw`` unchanged.
    ``offset``: data rows before these (for the row numbers in the messages); ``stats``: also
    the checks over the whole (rate, length, units)."""
    n = len(raw.t)
    if stats and n < 200:
        raise DataError(f"{name}: {n} samples is too short to analyse (need at least 2 s)")
    bad = ~(np.isfinite(raw.t) & np.isfinite(raw.acc).all(axis=1)
            & np.isfinite(raw.gyr).all(axis=1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        when = f"t={float(raw.t[i]):.6f} s" if np.isfinite(raw.t[i]) else "a missing time"
        raise DataError(f"{name}: {int(bad.sum())} sample(s) with missing, NaN or infinite "
                        f"values, the first at {when} (data row {offset + i + 1}; a "
                        "truncated or damaged file?); remove or repair them")
    dt = np.diff(raw.t)
    if (dt <= 0).any():
        i = int(np.flatnonzero(dt <= 0)[0])
        raise DataError(f"{name}: time does not increase at data row {offset + i + 2} "
                        f"(t={raw.t[i]:.6f} then {raw.t[i + 1]:.6f}); sort the file or fix "
                        "the clock")
    if not stats:
        return raw
    rate = 1.0 / float(np.median(dt))
    # the pipeline resamples to 100 Hz (linear interpolation, as the BROAD benchmark does
    # from 286 Hz); the bounds catch a time column in other units (ms, minutes)
    if not 45.0 <= rate <= 1100.0:
        raise DataError(f"{name}: median sample rate {rate:.1f} Hz is outside 50-1000 Hz "
                        "(is t_s in seconds?)")
    with np.errstate(over="ignore"):  # absurd values (1e200) give inf, refused just below
        norm = np.sqrt((raw.acc * raw.acc).sum(axis=1))
    med = float(np.median(norm))
    if 0.5 < med < 2.0:
        raise DataError(f"{name}: the accelerometer's median magnitude is {med:.2f}: that is "
                        "gravity in g, not m/s²; pass --acc-unit g")
    if not 6.0 < med < 14.0:
        raise DataError(f"{name}: the accelerometer's median magnitude is {med:.3g} m/s², not "
                        "gravity (9.81); check the unit and that ax,ay,az include gravity")
    # A pelvis turns at most a few rad/s (~2-3 in brisk walking, ~6 in a fast turn); in deg/s
    # the same motion reads 57x larger. (Comparing the gyroscope with the accelerometer's tilt
    # changes was tried and dropped: walking's linear accelerations make it unreliable.)
    p99 = float(np.percentile(np.abs(raw.gyr), 99.9))
    if p99 > 35.0:
        if p99 > 35.0 * 60:  # beyond a gyroscope's full scale in deg/s too (2000 deg/s)
            raise DataError(f"{name}: gyroscope values up to {p99:.3g} are impossible in rad/s "
                            "and in deg/s: a damaged file, or these are not the gyroscope's "
                            "columns")
        raise DataError(f"{name}: gyroscope values up to {p99:.0f} are impossible in rad/s for "
                        "a pelvis: it looks like deg/s; pass --gyro-unit deg/s")
    # a slow recording (a test, an exercise set) stays below that in deg/s too: there the
    # gyroscope must turn as far as gravity's direction does in the quasi-static moments
    r = _gyro_over_gravity(raw)
    if r is not None and r > GYRO_DEG_RATIO:
        raise DataError(f"{name}: the gyroscope turns {r:.0f}x as far as the accelerometer's "
                        "gravity does in the slow moments: it looks like deg/s, not rad/s; "
                        "pass --gyro-unit deg/s")
    return raw


# the median turn ratio above which the gyroscope is taken for deg/s: rad/s gives ~1 (0.1-1.1
# on the real walks in ../shared/data, linear accelerations tilt the accelerometer more), deg/s
# ~57 (24-64 on the same recordings converted); decided only on MIN_TURNS windows or more
GYRO_DEG_RATIO = 4.0
MIN_TURNS = 5


def _gyro_over_gravity(raw: Raw) -> float | None:
    """The median, over 0.5-s windows where the accelerometer reads gravity alone (every
    sample within 10 % of its median magnitude) and gravity's direction turns 2-30°, of the
    gyroscope's integrated turn about horizontal axes over that turn; None with fewer than
    ``MIN_TURNS`` such windows."""
    dt = float(np.median(np.diff(raw.t)))
    w = max(4, round(0.5 / dt))
    k = max(1, round(0.1 / dt))
    acc = raw.acc
    c = np.cumsum(np.vstack([np.zeros(3), acc]), axis=0)
    lp = (c[k:] - c[:-k]) / k  # lp[i] = mean of acc[i:i + k]
    n = (len(lp) - 1) // w
    if n < MIN_TURNS:
        return None
    i0 = np.arange(n) * w
    i1 = i0 + w
    norm = np.linalg.norm(acc, axis=1)
    off = np.concatenate([[0], np.cumsum(np.abs(norm / np.median(norm) - 1.0) > 0.1)])
    static = off[np.minimum(i1 + k, len(acc))] == off[i0]
    u0 = lp[i0] / np.maximum(np.linalg.norm(lp[i0], axis=1), 1e-9)[:, None]
    u1 = lp[i1] / np.maximum(np.linalg.norm(lp[i1], axis=1), 1e-9)[:, None]
    turn = np.arccos(np.clip((u0 * u1).sum(axis=1), -1.0, 1.0))
    cg = np.cumsum(np.vstack([np.zeros(3), raw.gyr]), axis=0)
    th = (cg[i1 + k // 2] - cg[i0 + k // 2]) * dt  # over the same span as the means' centres
    tilt = np.linalg.norm(th - (th * u0).sum(axis=1)[:, None] * u0, axis=1)
    sel = static & (turn > np.radians(2.0)) & (turn < np.radians(30.0))
    if sel.sum() < MIN_TURNS:
        return None
    return float(np.median(tilt[sel] / turn[sel]))


def write(path: Path, raw: Raw) -> None:
    """Write ``raw`` in the common format (used by tests and by ``beltline simulate``)."""
    arr = np.column_stack([raw.t, raw.acc, raw.gyr])
    np.savetxt(path, arr, delimiter=",", header=",".join(COLUMNS), comments="",
               fmt=["%.6f"] + ["%.6f"] * 6)


__all__ = ["CHUNK_ROWS", "COLUMNS", "Raw", "check", "read", "read_chunks", "write"]
