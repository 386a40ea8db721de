"""Shared physical definitions (DESIGN.md §3): gravity and the "up" direction of an orientation.

Pelvis frame: x forward, y left, z up. Sensor data in SI (m/s² with gravity, rad/s).
"""

from __future__ import annotations

import numpy as np

GRAVITY_MS2 = 9.80665  # standard gravity (CGPM 1901): the unit "g" and the pipeline's vertical


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (N x 3 x 3) of unit quaternions (N x 4, w x y z)."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], axis=1)


def up_from_quat(q: np.ndarray) -> np.ndarray:
    """Earth's up axis in the body frame (N×3 unit vectors) for body-to-Earth quaternions
    (N×4, w x y z): the third row of the rotation matrix."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=1)
