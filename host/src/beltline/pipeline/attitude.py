"""Attitude: the "up" direction in the sensor frame, per sample.

VQF 6-D (D. Laidig, T. Seel, Information Fusion 91, 2023, doi:10.1016/j.inffus.2022.10.014)
through the authors' C++ package (PyPI ``vqf``): the algorithm the belt unit runs in
``firmware/fusion.py``, here for speed. It gives the same answer in one call or in packets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beltline.frames import up_from_quat
from beltline.pipeline.signals import DT


@dataclass(frozen=True)
class AttitudeParams:
    """``restart_gap_s`` (s, default 2.0): after a hole in the data this long the attitude starts
    afresh (the body may have turned any way meanwhile; a shorter hole keeps the state)."""

    restart_gap_s: float = 2.0


class Attitude:
    def __init__(self, params: AttitudeParams | None = None) -> None:
        from vqf import VQF  # the reference C++ implementation; imported when first needed

        self.params = params or AttitudeParams()
        self._cls = VQF
        self.restarts = 0
        self._vqf = VQF(DT)

    def update(self, acc: np.ndarray, gyr: np.ndarray) -> np.ndarray:
        """Up vectors (N×3, sensor frame) for contiguous grid samples (m/s², rad/s)."""
        q = self._vqf.updateBatch(np.ascontiguousarray(gyr), np.ascontiguousarray(acc))["quat6D"]
        return up_from_quat(q)

    def gap(self, seconds: float) -> None:
        if seconds > self.params.restart_gap_s:
            self._vqf = self._cls(DT)
            self.restarts += 1
