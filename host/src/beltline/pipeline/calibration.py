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

import logging
from dataclasses import dataclass

import numpy as np

from beltline.errors import DataError
from beltline.frames import GRAVITY_MS2
from beltline.pipeline.gait import GAIT, GaitParams
from beltline.pipeline.signals import DT, IIR, RATE_HZ, butter2

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class CalibrationParams:
    """How the neutral and the axes are found (DESIGN.md §4: quiet upright standing, then
    walking).

    - ``quiet_gyro_rads`` (0.15) / ``quiet_acc_std_ms2`` (0.3): a second is quiet when the mean
      rotation rate and the accelerometer magnitude's spread stay below these.
    - ``stand_min_s`` (2): quiet seconds in a row that make a standing neutral.
    - ``walk_min_steps`` / ``walk_max_steps`` (10, 40): steps in a row that find forward (the
      first ``walk_max_steps`` of the first long enough walk are used).
    - ``buffer_max_s`` (1800): how long a live session waits for its calibration.
    - ``guide_stand_s`` (10): how long the guidance asks a person to stand still (the
      protocol's 10 s: more quiet seconds make a steadier neutral than the minimum).
    - ``progress_window_s`` (15): the guidance looks at this much of the buffer (bounded cost).
    """

    quiet_gyro_rads: float = 0.15
    quiet_acc_std_ms2: float = 0.3
    stand_min_s: int = 2
    walk_min_steps: int = 10
    walk_max_steps: int = 40
    buffer_max_s: float = 1800.0
    guide_stand_s: float = 10.0
    progress_window_s: float = 15.0


@dataclass(frozen=True)
class CalibrationProgress:
    """Where the calibration stands, for a person to read: ``state`` "stand" (keep still:
    ``quiet_s`` of ``quiet_needed_s``), "walk" (walk normally: ``steps`` of ``steps_needed``)
    or "done" (``done_s``: the end of the calibration walk, in the input's clock)."""

    state: str
    quiet_s: float = 0.0
    quiet_needed_s: float = 10.0
    steps: int = 0
    steps_needed: int = 0
    done_s: float | None = None


class Calibrator:
    """Buffers grid samples until quiet standing and a long enough walk are found, then gives
    the ``Calibration`` and the buffered samples back to be analysed with it."""

    def __init__(self, params: CalibrationParams | None = None, gait: GaitParams = GAIT) -> None:
        self.params = params or CalibrationParams()
        self.gait = gait
        self.walk_span = (0, 0)  # grid indices of the calibration walk's first and last strike
        self.reset()

    def reset(self) -> None:
        self._buf: list[tuple[int, np.ndarray, list[int], list[int]]] = []
        self._buf_n = 0
        self._qacc: dict[int, list[np.ndarray]] = {}
        self._cands: list[int] = []

    @property
    def buffered_s(self) -> float:
        return self._buf_n * DT

    def collect(self, k0: int, up: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
                cands: list[int], weak: list[int]) -> None:
        self._buf.append((k0, np.column_stack([up, acc, gyr]), weak, cands))
        self._buf_n += len(up)
        self._cands += cands
        # quiet seconds: little rotation and a steady accelerometer
        sec = (k0 + np.arange(len(up))) // int(RATE_HZ)
        for s in np.unique(sec):
            m = sec == s
            self._qacc.setdefault(int(s), []).append(
                np.column_stack([up[m], np.linalg.norm(acc[m], axis=1),
                                 np.linalg.norm(gyr[m], axis=1)]))

    def _quiet_seconds(self) -> dict[int, np.ndarray]:
        p = self.params
        out = {}
        for s, parts in self._qacc.items():
            a = np.vstack(parts)
            if len(a) < 0.9 * RATE_HZ:
                continue
            if a[:, 4].mean() < p.quiet_gyro_rads and a[:, 3].std() < p.quiet_acc_std_ms2:
                out[s] = a[:, :3].mean(axis=0)
        return out

    def progress(self) -> CalibrationProgress:
        """For the person being calibrated. Bounded cost: only the last ``progress_window_s``
        of the buffer and its last step candidates are looked at."""
        p, g = self.params, self.gait
        if not self._buf:
            return CalibrationProgress("stand", 0.0, p.guide_stand_s, 0, p.walk_min_steps)
        last_k = self._last_k()
        runs = _runs(self._cands[-2 * p.walk_max_steps:], g)
        if runs and last_k - runs[-1][-1] <= g.max_step_s * RATE_HZ and \
                len(runs[-1]) >= g.run_min_steps:
            return CalibrationProgress("walk", 0.0, p.guide_stand_s, len(runs[-1]),
                                       p.walk_min_steps)
        quiet = 0
        done = last_k // int(RATE_HZ)  # the second still being filled does not count yet
        while quiet < p.progress_window_s and self._quiet(done - 1 - quiet):
            quiet += 1
        return CalibrationProgress("stand", float(quiet), p.guide_stand_s, 0, p.walk_min_steps)

    def _quiet(self, sec: int) -> bool:
        parts = self._qacc.get(sec)
        if not parts:
            return False
        a = np.vstack(parts)
        return bool(len(a) >= 0.9 * RATE_HZ and a[:, 4].mean() < self.params.quiet_gyro_rads
                    and a[:, 3].std() < self.params.quiet_acc_std_ms2)

    def find(self, final: bool) -> Calibration | None:
        """The calibration, once the data allow it (``final``: from whatever there is)."""
        p, g = self.params, self.gait
        runs = _runs(self._cands, g)
        walk = next((r for r in runs if len(r) >= p.walk_min_steps
                     and (len(r) >= p.walk_max_steps or r[-1] < self._last_k()
                          - g.max_step_s * RATE_HZ or final)), None)
        if walk is None:
            if final:
                if not self._buf_n:
                    raise CalibrationError("no data to calibrate from")
                raise CalibrationError(
                    f"cannot calibrate: no walking found (at least {p.walk_min_steps} steps in "
                    "a row are needed to find forward and left); the protocol is 10 s of quiet "
                    "standing, then 30 s of normal walking")
            if self._buf_n > p.buffer_max_s * RATE_HZ:
                raise CalibrationError(
                    f"no calibration after {p.buffer_max_s / 60:.0f} min: stand still for 10 s, "
                    "then walk normally for 30 s")
            return None
        walk = walk[: p.walk_max_steps]
        data = self._buffer_array(walk[0], walk[-1])  # only the walk: never across a long gap
        k_first = walk[0]
        quiet = self._quiet_seconds()
        first_walk_s = walk[0] // int(RATE_HZ)
        stand = [s for s in sorted(quiet) if s < first_walk_s - 1]
        # the last run of consecutive quiet seconds before the walk
        run: list[int] = []
        for s in reversed(stand):
            if run and s != run[-1] - 1:
                break
            run.append(s)
        i0, i1 = walk[0] - k_first, walk[-1] - k_first
        up_w, acc_w = data[i0:i1, 0:3], data[i0:i1, 3:6]
        note = ""
        if len(run) >= p.stand_min_s:
            up0 = np.mean([quiet[s] for s in run], axis=0)
            stand_span: tuple[float, float] | None = (float(min(run)), float(max(run) + 1))
        else:
            up0 = up_w.mean(axis=0)
            stand_span = None
            note = ("no quiet standing before the first walk: the neutral is the mean posture "
                    "while walking")
            log.warning("calibration: %s", note)
        up0 = up0 / np.linalg.norm(up0)
        fwd = forward_axis(up0, up_w, acc_w)
        R = frame(up0, fwd)
        self.walk_span = (walk[0], walk[-1])
        log.info("calibrated: up %s, forward %s (sensor frame)", np.round(R[2], 3),
                 np.round(R[0], 3))
        return Calibration(R, stand_span, (float(walk[0] * DT), float(walk[-1] * DT)),
                           note=note)

    def drain(self) -> list[tuple[int, np.ndarray, list[int], list[int]]]:
        """The buffered chunks ``(k0, [up acc gyr], weak, candidates)``, oldest first."""
        buf = self._buf
        self.reset()
        return buf

    def _last_k(self) -> int:
        k0, arr, _, _ = self._buf[-1]
        return k0 + len(arr)

    def _buffer_array(self, k_lo: int, k_hi: int) -> np.ndarray:
        # the buffered samples of grid indices [k_lo, k_hi), holes filled with NaN rows (a
        # walk's steps are at most max_step_s apart, so this never spans a long gap)
        out = np.full((k_hi - k_lo, 9), np.nan)
        for k0, arr, _, _ in self._buf:
            a, b = max(k0, k_lo), min(k0 + len(arr), k_hi)
            if a < b:
                out[a - k_lo: b - k_lo] = arr[a - k0: b - k0]
        return out


def _runs(cands: list[int], gait: GaitParams) -> list[list[int]]:
    """Candidates grouped into runs of plausible steps."""
    lo, hi = gait.min_step_s * RATE_HZ, gait.max_step_s * RATE_HZ
    runs: list[list[int]] = []
    for c in cands:
        if runs and lo <= c - runs[-1][-1] <= hi:
            runs[-1].append(c)
        elif runs and c - runs[-1][-1] < lo:
            continue
        else:
            runs.append([c])
    return runs


class PelvisSignals:
    """Per-sample signals in the calibrated pelvis frame: obliquity and tilt (deg) and the
    channels the gait and activity stages read (forward acceleration low-passed, roll rate,
    turning rate, rotation magnitude, vertical linear acceleration)."""

    def __init__(self, gait: GaitParams = GAIT) -> None:
        self._aap_lp = IIR(butter2("lowpass", gait.forward_lowpass_hz))

    def reset(self) -> None:
        self._aap_lp.reset()

    def __call__(self, R: np.ndarray, up: np.ndarray, acc: np.ndarray,
                 gyr: np.ndarray) -> dict[str, np.ndarray]:
        roll, pitch = angles_deg(R, up)
        lin = acc - GRAVITY_MS2 * up
        return {"roll": roll, "pitch": pitch, "aap": self._aap_lp(lin @ R[0]), "wx": gyr @ R[0],
                "wz": (gyr * up).sum(axis=1), "gn": np.linalg.norm(gyr, axis=1),
                "av": (lin * up).sum(axis=1)}
