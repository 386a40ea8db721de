"""Streaming signal blocks shared by the pipeline stages.

Every block keeps its state between calls, so feeding a recording in one piece or in any
number of chunks gives bit-identical output: that is what makes the live pipeline (packets of a
few samples) and the batch analysis (a whole file) agree exactly.
"""

from __future__ import annotations

import numpy as np

RATE_HZ = 100.0  # the pipeline's internal grid (input at 50-200 Hz is resampled onto it)
DT = 1.0 / RATE_HZ


def butter2(kind: str, cutoff_hz: float | tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Second-order Butterworth coefficients at ``RATE_HZ`` (bilinear transform, pre-warped)."""
    from scipy.signal import butter  # scipy is heavy to import; only the pipeline needs it

    nyq = RATE_HZ / 2.0
    wn = (cutoff_hz[0] / nyq, cutoff_hz[1] / nyq) if isinstance(cutoff_hz, tuple) \
        else cutoff_hz / nyq
    b, a = butter(2, wn, btype=kind)
    return np.asarray(b, float), np.asarray(a, float)


class IIR:
    """A causal IIR filter over one or more channels with carried state."""

    def __init__(self, ba: tuple[np.ndarray, np.ndarray], channels: int = 1) -> None:
        self.b, self.a = ba
        self.channels = channels
        self.reset()

    def reset(self) -> None:
        self.zi: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        from scipy.signal import lfilter, lfilter_zi

        if len(x) == 0:
            return x.copy()
        if self.zi is None:
            # start from steady state on the first value: no start-up transient
            z0 = lfilter_zi(self.b, self.a)
            first = x[0] if x.ndim == 1 else x[0][None, :]
            self.zi = z0[:, None] * first if x.ndim > 1 else z0 * first
        y, self.zi = lfilter(self.b, self.a, x, axis=0, zi=self.zi)
        return y


class PeakFinder:
    """Causal peak picking with hysteresis: a maximum counts once the signal has fallen
    ``drop`` below it (it is given out at the next minimum), and the next one needs the signal
    to rise ``drop`` above the valley in between. Peaks closer than ``min_gap`` samples to the
    previous one are ignored. Only the local extrema go through the Python state machine (a
    few per step), so it costs little per sample."""

    def __init__(self, drop: float, min_gap: int) -> None:
        self.drop = drop
        self.min_gap = min_gap
        self.reset()

    def reset(self) -> None:
        self.armed = False
        self.best = -np.inf
        self.best_i = -1
        self.low = np.inf
        self.last = -(10**12)
        self.carry = np.zeros(0)  # the last samples, not yet classifiable
        self.carry_start = 0

    def __call__(self, x: np.ndarray, start: int) -> list[int]:
        """Feed samples ``x`` whose first has absolute index ``start``; returns confirmed peak
        indices (absolute)."""
        if len(self.carry):
            y = np.concatenate([self.carry, x])
            y0 = self.carry_start
        else:
            y, y0 = np.asarray(x, float), start
        if len(y) < 3:
            self.carry, self.carry_start = y, y0
            return []
        d = np.diff(y)
        inner_up, inner_dn = d[:-1], d[1:]
        is_max = (inner_up > 0) & (inner_dn <= 0)
        is_min = (inner_up < 0) & (inner_dn >= 0)
        idx = np.flatnonzero(is_max | is_min) + 1
        kinds = is_max[idx - 1].tolist()
        vals = y[idx].tolist()
        out: list[int] = []
        drop = self.drop
        armed, best, best_i, low = self.armed, self.best, self.best_i, self.low
        for j, mx, v in zip(idx.tolist(), kinds, vals, strict=True):
            if mx:
                if armed:
                    if v > best:
                        best, best_i = v, y0 + j
                elif v > low + drop:
                    armed, best, best_i = True, v, y0 + j
            else:
                if armed and v < best - drop:
                    if best_i - self.last >= self.min_gap:
                        out.append(best_i)
                        self.last = best_i
                    armed, low = False, v
                elif not armed and v < low:
                    low = v
        self.armed, self.best, self.best_i, self.low = armed, best, best_i, low
        self.carry, self.carry_start = y[-2:].copy(), y0 + len(y) - 2
        return out


class History:
    """The last ``keep`` samples of named per-sample channels, addressed by absolute index."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.start = 0
        self.data: dict[str, np.ndarray] = {}
        self.end = 0

    def append(self, start: int, **channels: np.ndarray) -> None:
        n = len(next(iter(channels.values())))
        if not self.data:
            self.start = start
            self.data = {k: np.asarray(v) for k, v in channels.items()}
        else:
            if start != self.end:
                raise ValueError(f"history is contiguous: expected index {self.end}, got {start}")
            self.data = {k: np.concatenate([self.data[k], np.asarray(channels[k])])
                         for k in self.data}
        self.end = start + n
        cut = (self.end - self.start) - 2 * self.keep
        if cut > 0:  # trim in big steps so appending stays cheap
            drop = (self.end - self.start) - self.keep
            self.data = {k: v[drop:] for k, v in self.data.items()}
            self.start += drop

    def get(self, name: str, i0: int, i1: int) -> np.ndarray:
        """Samples ``i0 <= i < i1`` of ``name`` (clipped to what is held)."""
        a = max(i0, self.start) - self.start
        b = max(min(i1, self.end) - self.start, a)
        return self.data[name][a:b]

    def clear(self) -> None:
        self.data = {}
        self.start = self.end = 0
