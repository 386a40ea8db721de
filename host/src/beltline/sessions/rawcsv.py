"""Reading the common raw IMU format ``t_s,ax,ay,az,gx,gy,gz`` with checks that refuse to guess
(and, by header, the other formats of ``beltline.sessions.readers``).

Units: s, m/s² with gravity, rad/s, sensor frame (DESIGN.md §3). ``acc_unit="g"`` and
``gyro_unit="deg/s"`` convert other units. Data that look like another unit, missing columns,
non-numbers, NaNs, time that goes backwards or a sample rate outside 50-200 Hz raise ``DataError``
with the row and the fix; nothing is dropped or filled in silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from beltline.errors import DataError
from beltline.frames import GRAVITY_MS2 as G

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


def read(path: Path, acc_unit: str | None = None, gyro_unit: str | None = None,
         rate_hz: float | None = None) -> Raw:
    """Read and check a raw recording (see the module docstring). The header decides the
    format: the common ``t_s,ax,...`` CSV, an Xsens MT Manager text export or the
    ``acc_x...gyr_z`` columns of mobgap/gaitmap (``beltline.sessions.readers``). Units default to
    the format's own (m/s² and rad/s; deg/s for the mobgap/gaitmap columns); ``rate_hz`` is for
    files whose time is a sample count."""
    from beltline.sessions import readers

    path = Path(path)
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
    idx = [names.index(c) for c in COLUMNS]
    try:
        data = np.loadtxt(path, delimiter=head.delimiter, skiprows=head.line + 1, usecols=idx,
                          ndmin=2, dtype=float, encoding="utf-8-sig")
    except ValueError as exc:
        # numpy names the row: a truncated last line, a stray text field, a missing value
        raise DataError(f"{path}: cannot read the numbers ({exc}); a truncated or damaged "
                        "file?") from exc
    data = data.reshape(-1, len(COLUMNS))
    return check(Raw(data[:, 0], data[:, 1:4] * ACC_UNITS[acc_unit or "m/s2"],
                     data[:, 4:7] * GYRO_UNITS[gyro_unit or "rad/s"]), str(path))


def check(raw: Raw, name: str = "recording") -> Raw:
    """The checks of ``read`` on arrays already in memory. Returns ``raw`` unchanged."""
    n = len(raw.t)
    if n < 200:
        raise DataError(f"{name}: {n} samples is too short to analyse (need at least 2 s)")
    bad = ~np.isfinite(np.column_stack([raw.t, raw.acc, raw.gyr])).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{name}: {int(bad.sum())} sample(s) with NaN or infinite values, the "
                        f"first at t={raw.t[i]!r} (data row {i + 1}); remove or repair them")
    dt = np.diff(raw.t)
    if (dt <= 0).any():
        i = int(np.flatnonzero(dt <= 0)[0])
        raise DataError(f"{name}: time does not increase at data row {i + 2} "
                        f"(t={raw.t[i]:.6f} then {raw.t[i + 1]:.6f}); sort the file or fix "
                        "the clock")
    rate = 1.0 / float(np.median(dt))
    if not 45.0 <= rate <= 220.0:
        raise DataError(f"{name}: median sample rate {rate:.1f} Hz is outside 50-200 Hz "
                        "(is t_s in seconds?)")
    norm = np.linalg.norm(raw.acc, axis=1)
    med = float(np.median(norm))
    if 0.5 < med < 2.0:
        raise DataError(f"{name}: the accelerometer's median magnitude is {med:.2f}: that is "
                        "gravity in g, not m/s²; pass --acc-unit g")
    if not 6.0 < med < 14.0:
        raise DataError(f"{name}: the accelerometer's median magnitude is {med:.2f} m/s², not "
                        "gravity (9.81); check the unit and that ax,ay,az include gravity")
    # A pelvis turns at most a few rad/s (~2-3 in brisk walking, ~6 in a fast turn); in deg/s
    # the same motion reads 57x larger. (Comparing the gyroscope with the accelerometer's tilt
    # changes was tried and dropped: walking's linear accelerations make it unreliable.)
    p99 = float(np.percentile(np.abs(raw.gyr), 99.9))
    if p99 > 35.0:
        raise DataError(f"{name}: gyroscope values up to {p99:.0f} are impossible in rad/s for "
                        "a pelvis: it looks like deg/s; pass --gyro-unit deg/s")
    return raw


def write(path: Path, raw: Raw) -> None:
    """Write ``raw`` in the common format (used by tests and by ``beltline simulate``)."""
    arr = np.column_stack([raw.t, raw.acc, raw.gyr])
    np.savetxt(path, arr, delimiter=",", header=",".join(COLUMNS), comments="",
               fmt=["%.6f"] + ["%.6f"] * 6)


__all__ = ["COLUMNS", "Raw", "check", "read", "write"]
