"""Building a pelvis pose over time for the virtual tests and exercises (``sim.trendelenburg``,
``sim.exercises``), on the internal grid ``sim.rigid.imu_from_pose`` turns into IMU samples.

The orientation is composed as

    q = Rz(yaw) Ry(tilt) Rx(roll) · posture(t) · Rz(rot_l) Ry(tilt_l) Rx(obl_l)

- ``yaw`` (heading and rotation about the vertical), ``tilt``, ``roll``: the standing angles of
  DESIGN.md §3 in the order of ``wearer.simulate`` (roll + = right side lower, tilt + =
  anterior), relative to the neutral standing;
- ``posture``: a lying position (supine, on one side) reached through smooth key-frame
  interpolation (slerp with a minimum-jerk profile);
- the ``*_l`` angles: a motion in the pelvis's own frame in that position (a rep lying down).

Position: forward / lateral offsets in the heading's frame plus height (m), world frame.
"""

from __future__ import annotations

import numpy as np

from beltline.sim.rigid import axis_quat, qmul
from beltline.sim.wearer import OVERSAMPLE, _smooth


def min_jerk(u: np.ndarray) -> np.ndarray:
    """0 -> 1 over u in [0, 1] with zero velocity and acceleration at both ends."""
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10 - 15 * u + 6 * u * u)


def slerp(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Quaternions from ``a`` to ``b`` (unit, 4) at fractions ``s`` (N)."""
    d = float(a @ b)
    if d < 0:
        b, d = -b, -d
    if d > 0.9995:
        q = a[None] + s[:, None] * (b - a)[None]
    else:
        th = np.arccos(d)
        q = (np.sin((1 - s) * th)[:, None] * a + np.sin(s * th)[:, None] * b) / np.sin(th)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


class Timeline:
    """Pose channels on the internal grid of a recording ``seconds`` long at ``rate_hz``."""

    def __init__(self, seconds: float, rate_hz: float, heading_deg: float = 0.0) -> None:
        self.seconds = seconds
        self.rate_hz = rate_hz
        self.fi = rate_hz * OVERSAMPLE
        self.n = int(np.ceil(seconds * self.fi)) + 8 * OVERSAMPLE
        self.t = np.arange(self.n) / self.fi
        self.heading = np.radians(heading_deg)
        z = np.zeros
        self.yaw, self.tilt, self.roll = z(self.n), z(self.n), z(self.n)  # deg
        self.obl_l, self.tilt_l, self.rot_l = z(self.n), z(self.n), z(self.n)  # deg
        self.fwd, self.lat, self.up = z(self.n), z(self.n), z(self.n)  # m
        self.keys: list[tuple[float, float, np.ndarray]] = []  # (start s, end s, quat)

    def ramp(self, t0: float, dur: float) -> np.ndarray:
        """0 before ``t0``, rising to 1 over ``dur`` s (minimum jerk), 1 after."""
        return min_jerk((self.t - t0) / max(dur, 1e-6))

    def bump(self, t0: float, rise: float, hold: float, fall: float) -> np.ndarray:
        """0 -> 1 over ``rise``, held ``hold`` s, back to 0 over ``fall``."""
        return self.ramp(t0, rise) - self.ramp(t0 + rise + hold, fall)

    def sway(self, rng: np.random.Generator, rms: float | np.ndarray,
             period_s: float = 1.0) -> np.ndarray:
        """Band-limited noise with RMS ``rms`` (a number or per-sample), correlated over about
        ``period_s`` (smoothed white noise, as the wearer's postural sway)."""
        pad = int(2 * period_s * self.fi)
        x = _smooth(rng.normal(0.0, 1.0, self.n + 2 * pad), max(2, int(period_s * self.fi / 3)))
        x = x[pad: pad + self.n]
        return x / max(float(np.std(x)), 1e-12) * rms

    def impact(self, t0: float, amp_ms2: float, f_hz: float = 12.0, tau_s: float = 0.04) -> None:
        """A foot striking the floor: a damped oscillation of the pelvis height (position level,
        so the accelerometer sees its second derivative), amplitude ``amp_ms2``."""
        i = round(t0 * self.fi)
        span = int(5 * tau_s * self.fi)
        if not 0 <= i < self.n:
            return
        k = np.arange(min(span, self.n - i)) / self.fi
        self.up[i: i + len(k)] -= amp_ms2 / (2 * np.pi * f_hz) ** 2 * np.exp(-k / tau_s) * \
            np.sin(2 * np.pi * f_hz * k)

    def posture(self, t0: float, t1: float, quat: np.ndarray) -> None:
        """Move into the lying/standing orientation ``quat`` (pelvis -> heading frame) between
        ``t0`` and ``t1`` (minimum jerk), holding it afterwards."""
        self.keys.append((t0, t1, np.asarray(quat, float)))

    def posture_quat(self) -> np.ndarray:
        q = np.tile([1.0, 0.0, 0.0, 0.0], (self.n, 1))
        cur = q[0].copy()
        for t0, t1, target in self.keys:
            s = min_jerk((self.t - t0) / max(t1 - t0, 1e-6))
            m = self.t >= t0
            q[m] = slerp(cur, target, s[m])
            cur = target
        return q

    def quat(self) -> np.ndarray:
        """Pelvis -> world orientation on the grid."""
        r = np.radians
        q = qmul(qmul(axis_quat(self.heading + r(self.yaw), 2), axis_quat(r(self.tilt), 1)),
                 axis_quat(r(self.roll), 0))
        q = qmul(q, self.posture_quat())
        loc = qmul(qmul(axis_quat(r(self.rot_l), 2), axis_quat(r(self.tilt_l), 1)),
                   axis_quat(r(self.obl_l), 0))
        q = qmul(q, loc)
        return q / np.linalg.norm(q, axis=1, keepdims=True)

    def position(self) -> np.ndarray:
        c, s = np.cos(self.heading), np.sin(self.heading)
        return np.column_stack([c * self.fwd - s * self.lat, s * self.fwd + c * self.lat,
                                self.up])

    def at(self, ts: np.ndarray, x: np.ndarray) -> np.ndarray:
        """A grid channel at the output instants ``ts``."""
        return np.interp(ts, self.t, x)


# lying positions (pelvis -> heading frame): supine = 90 deg posterior tilt (forward points up);
# on the right side = 90 deg roll (left side up); on the left side = -90 deg roll
SUPINE = axis_quat(np.radians(-90.0), 1)
ON_RIGHT_SIDE = axis_quat(np.radians(90.0), 0)
ON_LEFT_SIDE = axis_quat(np.radians(-90.0), 0)

__all__ = ["ON_LEFT_SIDE", "ON_RIGHT_SIDE", "SUPINE", "Timeline", "min_jerk", "slerp"]
