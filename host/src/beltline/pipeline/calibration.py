"""Calibration: the wearer's neutral and the pelvis axes, found from standing plus walking.

- **Up** (pelvis z) is the mean "up" direction in the sensor frame over quiet standing: that
  posture is the wearer's neutral, so obliquity and tilt are zero there (Bugané et al. 2014: a
  sensor's tilt carries a constant offset from how it sits; calibrate a standing zero).
- **Forward** (pelvis x) comes from the first walking bout, with its sign, from the inverted
  pendulum of walking: the pelvis is lowest and fastest at double support and highest and slowest
  in mid-stance, so forward velocity is in phase with vertical acceleration, i.e. forward
  acceleration correlates with the rate of change of vertical acceleration. The horizontal
  direction ``sum(a_h * d(a_v)/dt)`` is forward. Checked on the shared lower-back walkers: all
  58 trials agree with the sensor's true forward axis within ~15 deg, none reversed.
- **Left** = up x forward (pelvis y), so the frame is right-handed whichever way up the unit is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beltline.errors import DataError
from beltline.pipeline.signals import IIR, RATE_HZ, butter2


class CalibrationError(DataError):
    """The data do not allow a calibration (never walked, never stood still...)."""


@dataclass(frozen=True)
class Calibration:
    """``R`` rotates sensor-frame vectors into the pelvis frame (rows: x forward, y left, z up).
    ``walk_drop_deg`` is the wearer's own swing-side drop (left stance, right stance) in the
    calibration walk, ``walk_tilt_deg`` their mean tilt while walking; ``stand_s``/``walk_s``
    the spans used (grid seconds)."""

    R: np.ndarray
    stand: tuple[float, float] | None
    walk: tuple[float, float]
    walk_drop_deg: tuple[float, float] = (4.0, 4.0)
    walk_tilt_deg: float = 0.0
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"R": self.R.round(6).tolist(), "stand_s": self.stand, "walk_s": self.walk,
                "walk_drop_deg": [round(x, 3) for x in self.walk_drop_deg],
                "walk_tilt_deg": round(self.walk_tilt_deg, 3), "note": self.note}


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if not n > 0:
        raise CalibrationError("degenerate direction while finding the pelvis axes")
    return v / n


def forward_axis(up0: np.ndarray, up: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Forward (unit, sensor frame, horizontal w.r.t. ``up0``) from a walking bout."""
    ok = np.isfinite(up).all(axis=1) & np.isfinite(acc).all(axis=1)  # gaps are NaN rows
    up, acc = up[ok], acc[ok]
    if len(up) < 2 * RATE_HZ:
        raise CalibrationError("too little walking data to find forward")
    g = float(np.median(np.linalg.norm(acc, axis=1)))
    lin = acc - g * up
    a_v = (lin * up).sum(axis=1)
    horiz = lin - np.outer(lin @ up0, up0)
    band = butter2("bandpass", (0.5, 4.0))
    hv = IIR(band)(a_v)
    hh = IIR(band, 3)(horiz)
    c = (hh * np.gradient(hv, 1.0 / RATE_HZ)[:, None]).mean(axis=0)
    c = c - up0 * (c @ up0)
    return _unit(c)


def frame(up0: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Rows x (forward), y (left) = z × x, z (up) in sensor coordinates."""
    z = _unit(up0)
    x = _unit(forward - z * (forward @ z))
    y = np.cross(z, x)
    return np.stack([x, y, z])


def angles_deg(R: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Obliquity (roll, + = right side lower) and tilt (pitch, + = anterior) in degrees of the
    sensor-frame up vectors ``up`` (N×3) for the pelvis frame ``R`` (DESIGN.md §3)."""
    u = up @ R.T
    roll = np.degrees(np.arctan2(u[:, 1], u[:, 2]))
    pitch = np.degrees(-np.arcsin(np.clip(u[:, 0], -1.0, 1.0)))
    return roll, pitch
