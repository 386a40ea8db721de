"""A pelvis pose over time -> the belt unit's IMU samples: the rigid-body physics of
``wearer.simulate`` as a function of its own, for motions that are not gait (the single-leg
stance test, the exercises in ``sim.exercises``).

The pose is given on an internal grid at ``OVERSAMPLE`` times the output rate: the pelvis
centre's position (world: x, y horizontal, z up; m) and orientation (unit quaternions
pelvis -> world, w x y z). Then, exactly as ``wearer.simulate`` does:

- accelerometer = specific force at the *sensor* (pelvis centre plus the mount's lever arm
  rotated by the pelvis): second derivative of its position minus gravity, in the sensor frame;
- gyroscope = body angular velocity from consecutive orientations (``2 vec(q_k* q_k+1)/dt``);
- sample instants with a clock-rate error and jitter, then the sensor's noise, bias, scale
  error and 16-bit quantisation.

``wearer.simulate`` is left untouched (another room changes it); ``tests/sim`` checks that both
give the same samples for the same pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beltline.sim.wearer import (
    MOUNTS,
    OVERSAMPLE,
    Mount,
    SensorModel,
    body_motion,
    sample_sensor,
)


@dataclass
class Samples:
    """The unit's output: ``t`` (s, its own clock), ``acc`` (N x 3, m/s^2 with gravity),
    ``gyr`` (N x 3, rad/s), both in the sensor frame; ``nearest`` the index of each sample on
    the internal grid (for truth at the samples); ``M`` the sensor -> pelvis rotation used."""

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    nearest: np.ndarray
    M: np.ndarray


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of quaternion arrays (..., 4), w x y z."""
    w1, x1, y1, z1 = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    w2, x2, y2, z2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2],
                    axis=-1)


def axis_quat(angle: np.ndarray | float, axis: int) -> np.ndarray:
    """Rotations by ``angle`` (rad) about coordinate axis 0 (x), 1 (y) or 2 (z)."""
    a = np.asarray(angle, dtype=float)
    q = np.zeros((*a.shape, 4))
    q[..., 0] = np.cos(a / 2)
    q[..., 1 + axis] = np.sin(a / 2)
    return q


def rotvec_quat(v: np.ndarray) -> np.ndarray:
    """Quaternions (N x 4) of rotation vectors (N x 3, rad)."""
    v = np.atleast_2d(v)
    a = np.linalg.norm(v, axis=1)
    s = np.where(a > 1e-12, np.sin(a / 2) / np.maximum(a, 1e-12), 0.5)
    return np.column_stack([np.cos(a / 2), v * s[:, None]])


def imu_from_pose(pos: np.ndarray, quat: np.ndarray, rate_hz: float, rng: np.random.Generator,
                  mount: str | Mount = "back",
                  misalign_deg: tuple[float, float, float] = (0.0, 0.0, 0.0),
                  sensor: SensorModel | None = None) -> Samples:
    """IMU samples at ``rate_hz`` of a pelvis at ``pos`` (n x 3, m) with orientation ``quat``
    (n x 4, pelvis -> world) on the internal grid ``k / (OVERSAMPLE * rate_hz)``. Random
    draws (clock, jitter, sensor errors) come from ``rng`` in the order ``wearer.simulate``
    makes them, so the same pose and generator state give the same samples."""
    if not 10.0 <= rate_hz <= 1000.0:
        raise ValueError(f"rate_hz must be 10..1000, got {rate_hz}")
    sensor = sensor or SensorModel()
    mnt = MOUNTS[mount] if isinstance(mount, str) else mount
    fi = rate_hz * OVERSAMPLE
    dt = 1.0 / fi
    n = len(pos)
    t = np.arange(n) * dt
    total = (n - 8 * OVERSAMPLE) / fi  # the grid carries 8 output samples of padding

    f_pelvis, w_body, m = body_motion(pos, quat, dt, mnt, misalign_deg)
    acc_s = f_pelvis @ m
    gyr_s = w_body @ m

    ts, acc, gyr, nearest = sample_sensor(t, fi, acc_s, gyr_s, rate_hz, total, rng, sensor)
    return Samples(ts, acc, gyr, nearest, m)


__all__ = ["Samples", "axis_quat", "imu_from_pose", "qmul", "rotvec_quat"]
