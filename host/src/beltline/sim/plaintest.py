"""A second, plainer generator of single-leg stance tests, to check that the test's analysis is
not tuned to the virtual wearer it was developed on.

Nothing of the virtual wearer is used (no ``rigid``, ``poses`` or ``wearer``): the pelvis is a
rotation matrix and a position per millisecond, the sensor sits at the pelvis's origin
(rotated 180° about up, as at the back of a belt, and misaligned by up to 8° per axis), the
accelerometer reads the second difference of the position plus gravity, the gyroscope the
rotation rate from ``Rᵀ dR/dt``, both with white noise and a constant gyro bias. The wearer
differs on purpose: sway is a sum of sines (0.2-1.2 Hz, more on one leg, up to ~5 mm sideways),
shifts are smaller and slower (4-9 cm over 0.8-1.6 s), drops start 0.5-12 s after the lift and
ramp over 0.5-3 s, a fifth of the holds are short (8-22 s), and there are no touch-downs and no
impacts. Truth per leg (``PlainLeg``): ``positive`` (a drop of 5.5° or more, reached 3 s or
more before the foot comes down), ``negative`` (3.5° or less, held 26 s or more),
``incomplete`` (3.5° or less, down by 24 s), ``unclear`` otherwise (too close to call).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FINE_HZ = 1000.0
G = 9.81


@dataclass(frozen=True)
class PlainLeg:
    verdict: str
    drop_deg: float  # the drop held (deg)
    mean_drop_deg: float  # its mean over the hold
    hold_s: float
    lift_s: float


@dataclass(frozen=True)
class PlainTest:
    t: np.ndarray
    acc: np.ndarray  # m/s², sensor frame
    gyr: np.ndarray  # rad/s, sensor frame
    legs: dict[str, PlainLeg]


def _mj(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    """Minimum-jerk 0 -> 1 from ``t0`` over ``dur``."""
    s = np.clip((t - t0) / dur, 0.0, 1.0)
    return 10 * s ** 3 - 15 * s ** 4 + 6 * s ** 5


def _rot(axis: int, a: np.ndarray) -> np.ndarray:
    """Rotation matrices (N x 3 x 3) about ``axis`` by the angles ``a`` (rad)."""
    c, s = np.cos(a), np.sin(a)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out = np.zeros((*np.shape(a), 3, 3))
    out[..., axis, axis] = 1.0
    out[..., i, i], out[..., j, j] = c, c
    out[..., i, j], out[..., j, i] = -s, s
    return out


def make(seed: int, rate_hz: float = 100.0) -> PlainTest:
    """One test (quiet standing, each leg in a random order, pauses), sampled at ``rate_hz``."""
    rng = np.random.default_rng(seed)
    quiet, shift_s = rng.uniform(6, 10), rng.uniform(0.8, 1.6)
    pause, end = rng.uniform(3, 8), rng.uniform(4, 8)
    order = ["left", "right"] if rng.random() < 0.5 else ["right", "left"]
    plan = {}
    for leg in order:
        plan[leg] = dict(drop=float(rng.uniform(0, 3.3) if rng.random() < 0.5
                                    else rng.uniform(5.7, 10)),
                         hold=float(rng.uniform(27, 34) if rng.random() < 0.8
                                    else rng.uniform(8, 22)),
                         onset=float(rng.uniform(0.5, 12)), ramp=float(rng.uniform(0.5, 3)),
                         shift=float(rng.uniform(0.04, 0.09)))
    total = quiet + sum(2 * shift_s + p["hold"] for p in plan.values()) + pause + end
    t = np.arange(0.0, total, 1 / FINE_HZ)
    roll, y, z = np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
    single = np.zeros_like(t)
    legs = {}
    t0 = quiet
    for leg in order:
        p = plan[leg]
        sgn = 1.0 if leg == "left" else -1.0  # the pelvis moves toward the stance foot
        lift, down = t0 + shift_s, t0 + shift_s + p["hold"]
        w = _mj(t, t0, shift_s) - _mj(t, down, shift_s)
        y += sgn * p["shift"] * w
        z += 0.008 * w
        single = np.maximum(single, w)
        d = p["drop"] * (_mj(t, lift + p["onset"], p["ramp"]) - _mj(t, down, 0.8 * shift_s))
        d = np.minimum(d, p["drop"]) * (w > 0)
        roll += sgn * np.radians(d)  # standing on the left, the right side lower: roll +
        on = (t >= lift) & (t < down)
        if p["drop"] >= 5.5:
            verdict = "positive" if p["onset"] + p["ramp"] + 3.0 < p["hold"] else "unclear"
        elif p["drop"] <= 3.5:
            verdict = "negative" if p["hold"] >= 26 else "incomplete" if p["hold"] <= 24 \
                else "unclear"
        else:
            verdict = "unclear"
        legs[leg] = PlainLeg(verdict, p["drop"], float(d[on].mean()), p["hold"], lift)
        t0 = down + shift_s + pause

    def sway(rms: float, fmin: float, fmax: float, k: int = 6) -> np.ndarray:
        out = np.zeros_like(t)
        for _ in range(k):
            out += np.sin(2 * np.pi * rng.uniform(fmin, fmax) * t + rng.uniform(0, 2 * np.pi))
        return rms * out / np.sqrt(k / 2)

    roll += np.radians(sway(1.0, 0.2, 1.2)) * (0.2 + 0.5 * single)
    pitch = np.radians(sway(1.0, 0.1, 0.8)) * (0.2 + 0.4 * single)
    yaw = np.radians(sway(1.0, 0.05, 0.5)) * (0.5 + single)
    y += sway(0.003, 0.2, 1.0) * (0.5 + single)
    x = sway(0.003, 0.1, 0.6)
    R = _rot(2, yaw) @ _rot(0, roll) @ _rot(1, pitch)  # pelvis -> world
    pos = np.stack([x, y, z], -1)
    acc_w = np.gradient(np.gradient(pos, 1 / FINE_HZ, axis=0), 1 / FINE_HZ, axis=0)
    acc_w[:, 2] += G
    f_b = np.einsum("nji,nj->ni", R, acc_w)
    W = np.einsum("nji,njk->nik", R, np.gradient(R, 1 / FINE_HZ, axis=0))  # skew(omega)
    om = np.stack([W[:, 2, 1], W[:, 0, 2], W[:, 1, 0]], -1)
    mis = np.radians(rng.uniform(-8, 8, 3))
    S = _rot(2, np.array(np.pi)) @ _rot(2, np.array(mis[2])) @ _rot(1, np.array(mis[1])) @ \
        _rot(0, np.array(mis[0]))  # sensor -> pelvis
    step = max(1, round(FINE_HZ / rate_hz))
    acc = (f_b @ S)[::step] + rng.normal(0.0, 0.03, (len(t[::step]), 3))
    gyr = (om @ S)[::step] + rng.normal(0.0, 0.004, (len(t[::step]), 3)) + \
        rng.normal(0.0, 0.01, 3)
    return PlainTest(t[::step].copy(), acc, gyr, legs)


__all__ = ["PlainLeg", "PlainTest", "make"]
