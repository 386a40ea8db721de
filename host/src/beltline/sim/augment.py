"""A hip drop added to a real recording, physically consistently.

The measured signals are those of the sensor's true motion; the drop is an extra rotation of
the sensor about the pelvis's forward axis ``f`` (sensor frame), ``theta(t)``, during every
stance of one leg: ``theta = A sin^2(pi tau)`` over the stance (tau from its heel strike, 0, to
the other foot's next strike, 1), so the swing side sinks by up to ``A`` at mid-stance and is
level again at the strikes (smooth: the rotation rate is continuous). A left stance drops the
right side (+ roll about forward), a right stance the left (-).

With the sensor's orientation ``R_new = R E(t)``, ``E`` the rotation by ``theta`` about ``f``
(fixed in the sensor frame) and the sensor's path unchanged (the rotation is about the sensor
itself, so no lever-arm acceleration is added):

- accelerometer (specific force in the sensor frame): ``a_new = E^T a``;
- gyroscope (body rate of ``R E``): ``w_new = E^T w + theta' f``.

Gravity is therefore seen tilted by the drop, and the attitude filter, the roll rate and the
obliquity all see the same rotation, as with a real drop. (A real pelvis rotates about the
stance hip, which also moves the sensor up and down by about 1 cm; that translation is not
added.)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np


def drop_pattern(t: np.ndarray, strikes: Sequence[tuple[float, str]], leg: str,
                 amplitude_deg: float, max_step_s: float = 1.3) -> np.ndarray:
    """The added roll (rad, + = right side lower) at times ``t`` for a drop of
    ``amplitude_deg`` in every stance of ``leg`` between consecutive ``strikes`` (t, foot)."""
    theta = np.zeros(len(t))
    sign = 1.0 if leg == "left" else -1.0
    amp = np.radians(amplitude_deg)
    for (a, foot), (b, _) in itertools.pairwise(strikes):
        if foot != leg or not 0.2 < b - a <= max_step_s:
            continue
        m = (t >= a) & (t < b)
        tau = (t[m] - a) / (b - a)
        theta[m] += sign * amp * np.sin(np.pi * tau) ** 2
    return theta


def add_drop(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, forward: np.ndarray,
             theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``acc``/``gyr`` (N×3, sensor frame) of the sensor rotated by ``theta`` (rad, per
    sample) about the unit axis ``forward`` (sensor frame); see the module docstring."""
    f = np.asarray(forward, float)
    f = f / np.linalg.norm(f)
    rate = np.gradient(theta, t)

    def rotate_back(v: np.ndarray) -> np.ndarray:  # E^T v: Rodrigues with -theta about f
        c, s = np.cos(-theta)[:, None], np.sin(-theta)[:, None]
        return v * c + np.cross(f, v) * s + np.outer(v @ f, f) * (1 - c)

    return rotate_back(acc), rotate_back(gyr) + rate[:, None] * f
