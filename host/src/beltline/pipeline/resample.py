"""Resampling: irregular raw samples onto the pipeline's 100 Hz grid, gaps found and counted."""

from __future__ import annotations

import numpy as np

from beltline.errors import DataError
from beltline.pipeline.signals import DT, RATE_HZ
from beltline.records import GapRow as Gap

__all__ = ["BRIDGE_MAX_S", "Gap", "Resampler"]

BRIDGE_MAX_S = 0.1  # shorter holes in the input are bridged (and counted), longer are gaps


class Resampler:
    """Irregular samples onto the 100 Hz grid ``t0 + k/100`` by linear interpolation between
    neighbours; holes up to ``BRIDGE_MAX_S`` are bridged and counted, longer ones are gaps (no
    grid samples are made inside them)."""

    def __init__(self) -> None:
        self.t0: float | None = None
        self.last: tuple[float, np.ndarray] | None = None
        self.next_k = 0
        self.bridged = 0
        self.bridged_s = 0.0

    def push(self, t: np.ndarray, x: np.ndarray) -> list[tuple[int, np.ndarray] | Gap]:
        """``x`` (N×6: acc, gyr). Returns contiguous grid chunks ``(k0, values)`` and gaps."""
        if len(t) == 0:
            return []
        if self.t0 is None:
            self.t0 = float(t[0])
        if self.last is not None:
            t = np.concatenate([[self.last[0]], t])
            x = np.vstack([self.last[1][None, :], x])
        dt = np.diff(t)
        if len(dt) and (dt <= 0).any():
            i = int(np.flatnonzero(dt <= 0)[0])
            raise DataError(f"time must increase: t={float(t[i]):.6f} s then "
                            f"{float(t[i + 1]):.6f} s")
        out: list[tuple[int, np.ndarray] | Gap] = []
        breaks = np.flatnonzero(dt > BRIDGE_MAX_S)
        small = (dt > 1.5 / RATE_HZ) & (dt <= BRIDGE_MAX_S)
        self.bridged += int(small.sum())
        self.bridged_s += float((dt[small] - 1.0 / RATE_HZ).sum())
        lo = 0
        for b in [*breaks.tolist(), len(t) - 1]:
            seg_t, seg_x = t[lo: b + 1], x[lo: b + 1]
            chunk = self._grid(seg_t, seg_x)
            if chunk is not None:
                out.append(chunk)
            if b < len(t) - 1:
                out.append(Gap(float(t[b]), float(t[b + 1])))
                # the grid resumes at the first grid instant at or after the next sample
                self.next_k = int(np.ceil((t[b + 1] - self.t0) * RATE_HZ - 1e-9))
            lo = b + 1
        self.last = (float(t[-1]), x[-1].copy())
        return out

    def _grid(self, t: np.ndarray, x: np.ndarray) -> tuple[int, np.ndarray] | None:
        assert self.t0 is not None
        k_end = int(np.floor((t[-1] - self.t0) * RATE_HZ + 1e-9))  # last grid point covered
        if k_end < self.next_k:
            return None
        k = np.arange(self.next_k, k_end + 1)
        tk = self.t0 + k * DT
        vals = np.empty((len(k), x.shape[1]))
        for c in range(x.shape[1]):
            vals[:, c] = np.interp(tk, t, x[:, c])
        k0 = self.next_k
        self.next_k = k_end + 1
        return k0, vals
