"""The pelvis frame of a recording that may have no walk: a test or an exercise set.

- **Neutral and up**: the first run of quiet standing (the recording starts with it): its mean
  accelerometer direction is up (pelvis z), obliquity and tilt are zero there (Bugané et al.
  2014: calibrate a standing zero), and its mean gyroscope reading is the gyro's bias.
- **Forward and left**, in this order of preference:
  (a) a walk in the recording: the pipeline's own calibration (forward from the inverted
      pendulum of walking, ``calibration.forward_axis``);
  (b) the unit's documented mounting (``hardware/BOM.md``, Assembly: at the back of the belt,
      the lid facing out, the IMU's x arrow up): forward is the sensor's -z, refined to the
      measured up; left = up x forward, so the unit may also be upside down;
  (c) the motion itself, when it contradicts (b) by far: a lateral weight shift, the drop of a
      single-leg stance or the side-lying posture give the mediolateral *line* but never its
      sign (``realign``). The legs are then named as the mounting's left suggests (a line
      square to it: the unit is taken to sit on the left hip, face out), and a log line says
      so.
- **Attitude**: VQF 6-D (the pipeline's filter) on the bias-corrected gyro, per contiguous
  stretch of the 100 Hz grid (``Resampler``: holes up to 0.1 s bridged, longer ones are gaps).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from beltline.errors import DataError
from beltline.frames import GRAVITY_MS2, up_from_quat
from beltline.pipeline.calibration import frame
from beltline.pipeline.resample import Gap, Resampler
from beltline.pipeline.signals import DT, RATE_HZ

log = logging.getLogger(__name__)

# The documented mounting (hardware/BOM.md): sensor axes in the pelvis frame. At the back of the
# belt, upright, lid out: sensor x = up, y = left, z = backward (sim/wearer.py's "back" mount).
MOUNT_FORWARD_SENSOR = np.array([0.0, 0.0, -1.0])
MOUNT_LEFT_SENSOR = np.array([0.0, 1.0, 0.0])
MOUNTING_WORDS = ("the documented mounting (hardware/BOM.md): the unit at the back of the belt, "
                  "lid facing out")
QUIET_GYRO_RADS = 0.08  # a second is quiet below this mean rotation rate ...
QUIET_ACC_STD_MS2 = 0.15  # ... and this spread of the accelerometer's magnitude
NEUTRAL_MIN_S = 2.0
NEUTRAL_MAX_S = 10.0  # the neutral is the start of the quiet run, never the whole run
UP_BLEND_S = 6.0  # the accelerometer sets up on longer time scales than this
NEUTRAL_TURN_DEG = 3.0  # ... or it has turned this far
NEUTRAL_DRIFT_DEG = 1.5  # the neutral ends where the posture leaves the first seconds' by this


class FrameError(DataError):
    """The recording does not allow a neutral (no quiet standing at its start...)."""


@dataclass
class Motion:
    """A recording on the 100 Hz grid: ``t`` (s, the file's clock), ``acc`` (m/s²), ``gyr``
    (rad/s, the gyro's bias removed), ``quat`` (sensor -> earth, VQF 6-D, heading arbitrary),
    ``up`` (sensor frame), ``ok`` (False in gaps: the arrays hold NaN there), ``gaps``."""

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    quat: np.ndarray
    up: np.ndarray
    ok: np.ndarray
    gaps: list[Gap] = field(default_factory=list)
    neutral: tuple[int, int] = (0, 0)  # grid indices of the neutral standing
    g: float = GRAVITY_MS2
    raw_gyr: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # with its bias

    def __len__(self) -> int:
        return len(self.t)

    def index(self, t_s: float) -> int:
        return int(np.clip(round((t_s - self.t[0]) * RATE_HZ), 0, len(self.t) - 1))


def _grid(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                     list[Gap]]:
    rs = Resampler()
    out = rs.push(np.asarray(t, float), np.column_stack([acc, gyr]).astype(float))
    chunks = [c for c in out if not isinstance(c, Gap)]
    gaps = [c for c in out if isinstance(c, Gap)]
    assert rs.t0 is not None
    n = chunks[-1][0] + len(chunks[-1][1])
    vals = np.full((n, 6), np.nan)
    for k0, v in chunks:
        vals[k0: k0 + len(v)] = v
    if rs.bridged:
        log.info("%d short hole(s) in the time line (%.2f s in all) were bridged", rs.bridged,
                 rs.bridged_s)
    return rs.t0 + np.arange(n) * DT, vals, gaps


def _quiet_seconds(acc: np.ndarray, gyr: np.ndarray) -> np.ndarray:
    """Per whole second of the grid: quiet (little rotation, steady accelerometer)."""
    w = int(RATE_HZ)
    m = len(acc) // w
    a = np.linalg.norm(acc[: m * w], axis=1).reshape(m, w)
    g = np.linalg.norm(gyr[: m * w], axis=1).reshape(m, w)
    with np.errstate(invalid="ignore"):
        return (np.nanmean(g, axis=1) < QUIET_GYRO_RADS) & (np.nanstd(a, axis=1)
                                                            < QUIET_ACC_STD_MS2)


def neutral_span(acc: np.ndarray, gyr: np.ndarray) -> tuple[int, int]:
    """Grid indices of the neutral: the first run of at least ``NEUTRAL_MIN_S`` quiet seconds,
    at most ``NEUTRAL_MAX_S`` long, ended early where the posture drifts from its start."""
    quiet = _quiet_seconds(acc, gyr)
    w = int(RATE_HZ)
    s = 0
    while s < len(quiet):
        if not quiet[s]:
            s += 1
            continue
        e = s
        while e < len(quiet) and quiet[e]:
            e += 1
        if e - s >= NEUTRAL_MIN_S:
            i0, i1 = s * w, min(e, s + int(NEUTRAL_MAX_S)) * w
            ref = _unit(np.nanmean(acc[i0: i0 + int(NEUTRAL_MIN_S * w)], axis=0))
            cos = np.clip((acc[i0:i1] @ ref) / np.linalg.norm(acc[i0:i1], axis=1), -1, 1)
            # 1-s means: the posture, not single samples' vibration
            dev = np.degrees(np.arccos(cos))
            k = len(dev) // w
            sec = np.nanmean(dev[: k * w].reshape(k, w), axis=1)
            # a turn about the vertical leaves the accelerometer alone: the gyro's integral
            # (its bias taken from the first seconds) shows it
            g0 = np.nanmedian(gyr[i0: i0 + int(NEUTRAL_MIN_S * w)], axis=0)
            turn = np.degrees(np.linalg.norm(np.cumsum(np.nan_to_num(gyr[i0:i1] - g0), axis=0)
                                             * DT, axis=1))
            sec = np.maximum(sec, np.nanmax(turn[: k * w].reshape(k, w), axis=1)
                             * NEUTRAL_DRIFT_DEG / NEUTRAL_TURN_DEG)
            bad = np.flatnonzero(sec > NEUTRAL_DRIFT_DEG)
            if len(bad) and bad[0] >= NEUTRAL_MIN_S:
                i1 = i0 + int(bad[0]) * w
            return i0, i1
        s = e
    raise FrameError("no quiet standing found: the recording must start with at least "
                     f"{NEUTRAL_MIN_S:.0f} s (better 5 s) of standing still, the neutral")


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if not n > 0:
        raise FrameError("degenerate direction while finding the pelvis axes")
    return v / n


def prepare(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> Motion:
    """Grid, neutral, gyro bias and attitude of a raw recording (s, m/s², rad/s)."""
    tg, vals, gaps = _grid(t, acc, gyr)
    acc_g, gyr_g = vals[:, :3], vals[:, 3:]
    m = Motion(tg, acc_g, gyr_g, np.zeros((0, 4)), np.zeros((0, 3)),
               np.isfinite(vals).all(axis=1), gaps, neutral_span(acc_g, gyr_g))
    m.raw_gyr = gyr_g
    attitude(m)
    for gp in gaps:
        log.warning("gap: no data from %.3f s to %.3f s (%.2f s)", gp.start_s, gp.end_s,
                    gp.seconds)
    return m


def attitude(m: Motion, neutral_end: int | None = None) -> None:
    """(Re)compute the gyro's bias from the neutral (ending it at ``neutral_end`` if given:
    an analysis that finds the first motion inside it), then the attitude."""
    from vqf import VQF

    if neutral_end is not None:
        m.neutral = (m.neutral[0], max(m.neutral[0] + int(RATE_HZ), min(neutral_end,
                                                                       m.neutral[1])))
    i0, i1 = m.neutral
    raw = m.raw_gyr
    bias = np.nanmean(raw[i0:i1], axis=0)
    m.g = float(np.nanmean(np.linalg.norm(m.acc[i0:i1], axis=1)))
    m.gyr = raw - bias
    m.quat = np.full((len(m.t), 4), np.nan)
    m.up = np.full((len(m.t), 3), np.nan)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], m.ok.astype(int), [0]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        # a gap may hide any motion: start afresh (VQF starts from the accelerometer). Its own
        # bias estimation is off: the bias is removed above, and on one leg its estimate was
        # seen to wander and tilt the attitude by a degree
        vqf = VQF(DT, motionBiasEstEnabled=False, restBiasEstEnabled=False)
        m.quat[a:b] = vqf.updateBatch(np.ascontiguousarray(m.gyr[a:b]),
                                      np.ascontiguousarray(m.acc[a:b]))["quat6D"]
        u = up_from_quat(m.quat[a:b])
        # what is left of the bias tilts VQF's up by bias x tauAcc (a few tenths of a degree)
        # for as long as a posture is held: the accelerometer's direction, averaged over
        # UP_BLEND_S (linear accelerations average out), takes over the slow part
        a_dir = m.acc[a:b] / np.linalg.norm(m.acc[a:b], axis=1, keepdims=True)
        u = u + lowpass(a_dir - u, UP_BLEND_S)
        m.up[a:b] = u / np.linalg.norm(u, axis=1, keepdims=True)
    log.debug("neutral %.1f-%.1f s, gyro bias %s rad/s", m.t[i0], m.t[i1 - 1],
              np.round(bias, 4))


def up0(m: Motion) -> np.ndarray:
    """Up in the sensor frame at the neutral."""
    i0, i1 = m.neutral
    return _unit(np.nanmean(m.acc[i0:i1], axis=0))


@dataclass(frozen=True)
class Frame:
    """``R`` rows: pelvis x (forward), y (left), z (up) in sensor coordinates; ``source``
    "walk", "mounting" or "motion"; ``note`` what a person should know."""

    R: np.ndarray
    source: str
    note: str = ""


def mounting_frame(up: np.ndarray) -> Frame:
    """(b): the documented mounting refined to the measured ``up``."""
    f = MOUNT_FORWARD_SENSOR - up * float(MOUNT_FORWARD_SENSOR @ up)
    if np.linalg.norm(f) < 0.3:  # the unit's face points up or down: use its left edge
        left = MOUNT_LEFT_SENSOR - up * float(MOUNT_LEFT_SENSOR @ up)
        f = np.cross(left, up)
    return Frame(frame(up, _unit(f)), "mounting",
                 f"forward and left assume {MOUNTING_WORDS}, refined to the measured up; "
                 "a unit clipped elsewhere swaps or mixes the sides")


def walk_frame(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, up: np.ndarray) -> Frame | None:
    """(a): the pipeline's calibration when the recording holds a walk (None otherwise)."""
    from beltline.pipeline import Pipeline
    from beltline.pipeline.calibration import CalibrationError

    p = Pipeline()
    try:
        p.push(t, acc, gyr)
        p.finish()
    except CalibrationError:
        return None
    if p.calibration is None:
        return None
    fwd = p.calibration.R[0]
    f = fwd - up * float(fwd @ up)
    if np.linalg.norm(f) < 0.5:
        return None
    return Frame(frame(up, _unit(f)), "walk", "forward and left found from the walk in the "
                 "recording")


def realign(fr: Frame, ml_sensor: np.ndarray, what: str, max_dev_deg: float = 30.0) -> Frame:
    """(c): turn ``fr`` about up so its left axis lies on the mediolateral line ``ml_sensor``
    (any sign) found from ``what``, when the two differ by more than ``max_dev_deg`` (a
    mounting misaligned by a few degrees keeps the frame). The sign keeps the side closest to
    the frame's left, so the leg names follow the mounting."""
    up = fr.R[2]
    ml = ml_sensor - up * float(ml_sensor @ up)
    if np.linalg.norm(ml) < 1e-6:
        return fr
    ml = _unit(ml)
    c = float(ml @ fr.R[1])
    dev = float(np.degrees(np.arccos(min(1.0, abs(c)))))
    if dev <= max_dev_deg:
        return fr
    if dev > 60.0:
        # nearly square to the mounting's left: the unit is on a hip, face out. Which hip
        # cannot be told from a test without a walk; the left one is assumed (its face, the
        # sensor's z, points to the wearer's left; the mounting's "forward" is -z)
        c = -float(ml @ fr.R[0])
    if c < 0:
        ml = -ml
    R = frame(up, np.cross(ml, up))
    ref = MOUNTING_WORDS if fr.source == "mounting" else "the walk"
    note = (f"the {what} shows the mediolateral axis {dev:.0f}° away from {ref}: the angles "
            "follow the motion, and left and right are named as the mounting suggests (they "
            "may be swapped)")
    log.warning("frame: %s", note)
    return Frame(R, "motion", note)


def resolve(m: Motion, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
            try_walk: bool = True) -> Frame:
    """The frame of a recording: its walk if it has one, else the documented mounting."""
    up = up0(m)
    if try_walk:
        fr = walk_frame(t, acc, gyr, up)
        if fr is not None:
            log.info("frame: %s", fr.note)
            return fr
    fr = mounting_frame(up)
    log.info("frame: no walk in the recording; %s", fr.note)
    return fr


def lowpass(x: np.ndarray, seconds: float) -> np.ndarray:
    """A centred moving average over ``seconds`` (per column); NaN samples and the ends are
    left out of the average, not taken as zeros."""
    # never longer than the data: np.convolve's "same" would give the kernel's length
    w = max(1, min(round(seconds * RATE_HZ), len(x)))
    if w <= 1:
        return x.copy()
    k = np.ones(w)

    def one(c: np.ndarray) -> np.ndarray:
        ok = np.isfinite(c)
        num = np.convolve(np.where(ok, c, 0.0), k, mode="same")
        den = np.convolve(ok.astype(float), k, mode="same")
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)

    if x.ndim == 1:
        return one(x)
    return np.stack([one(x[:, i]) for i in range(x.shape[1])], axis=1)


__all__ = [
    "Frame",
    "FrameError",
    "Motion",
    "mounting_frame",
    "neutral_span",
    "prepare",
    "realign",
    "resolve",
    "up0",
    "walk_frame",
]
