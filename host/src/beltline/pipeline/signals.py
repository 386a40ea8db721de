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
    """Second-order Butterworth coefficients at ``RATE_HZ`` (bilinear transform, pre-warped):
    the analog prototype's poles, the low-pass or band-pass transformation, then the bilinear
    map z = (2fs + s) / (2fs - s) (Oppenheim & Schafer, Discrete-Time Signal Processing, 3rd
    ed., 7.1-7.2; the same steps as ``scipy.signal.butter``, computed here so the pipeline never
    imports ``scipy.signal``, which takes ~1 s). ``kind``: "lowpass" (one cutoff) or
    "bandpass" (a pair; the band-pass design has four poles)."""
    fs = 2.0  # frequencies normalised to Nyquist, as scipy does
    nyq = RATE_HZ / 2.0
    cut = np.atleast_1d(np.asarray(cutoff_hz, float)) / nyq
    if not ((cut > 0) & (cut < 1)).all():
        raise ValueError(f"cutoff {cutoff_hz!r} Hz must lie between 0 and {nyq} Hz")
    warped = 2.0 * fs * np.tan(np.pi * cut / fs)
    proto = -np.exp(1j * np.pi * np.array([-1.0, 1.0]) / 4.0)  # 2nd-order prototype, wc = 1
    if kind == "lowpass" and len(warped) == 1:
        p = proto * warped[0]
        z = np.zeros(0, complex)
        k = float(warped[0]) ** 2
    elif kind == "bandpass" and len(warped) == 2:
        wo = float(np.sqrt(warped[0] * warped[1]))
        bw = float(warped[1] - warped[0])
        lp = proto * bw / 2.0
        root = np.sqrt(lp ** 2 - wo ** 2)
        p = np.concatenate([lp + root, lp - root])
        z = np.zeros(2, complex)
        k = bw ** 2
    else:
        raise ValueError(f"butter2: {kind!r} with cutoff {cutoff_hz!r}: expected 'lowpass' "
                         "with one frequency or 'bandpass' with two")
    fs2 = 2.0 * fs
    zz = np.concatenate([(fs2 + z) / (fs2 - z), -np.ones(len(p) - len(z))])
    pz = (fs2 + p) / (fs2 - p)
    kz = k * float(np.real(np.prod(fs2 - z) / np.prod(fs2 - p)))
    return np.real(kz * np.poly(zz)).astype(float), np.real(np.poly(pz)).astype(float)


_SPAN_GAIN = 1e3  # a block spans pole^-L <= this: rounding grows at most this much (~1e-13)
_NEGLIGIBLE = 1e-17  # block-to-block terms below this (relative) are below double rounding
_SMALL = 64  # values (samples x channels) up to which the plain recursion is cheaper


class IIR:
    """A causal IIR filter over one or more channels with carried state: the transposed
    direct form II of ``scipy.signal.lfilter`` (same result to rounding, ~1e-13 relative),
    computed without per-sample Python and without importing scipy. The state-space filter is
    split into its modes (the poles p; a conjugate pair is one complex mode), and each mode's
    first-order recursion w[n+1] = p w[n] + beta x[n] is evaluated in blocks of L samples by a
    scaled cumulative sum, w[k] = p^k sum_{j<k} p^(-j-1) beta x[j] (L chosen so p^-L stays
    below ``_SPAN_GAIN``); the blocks' start states follow from the previous blocks' end states
    through the block gain q = p^L, a few terms until q^K is negligible. This is the modal
    (parallel) realisation with block processing (Burrus, "Block realization of digital
    filters", IEEE Trans. Audio Electroacoust. 20(4), 1972; Blelloch, "Prefix sums and their
    applications", CMU-CS-90-190, 1990, for first-order recurrences as scans)."""

    def __init__(self, ba: tuple[np.ndarray, np.ndarray], channels: int = 1) -> None:
        b, a = (np.asarray(v, float) for v in ba)
        b, a = b / a[0], a / a[0]
        m = len(a) - 1
        if len(b) < m + 1:
            b = np.concatenate([b, np.zeros(m + 1 - len(b))])
        self.b, self.a = b, a
        self.channels = channels
        # transposed direct form II as a state space: s' = A s + B x, y = s[0] + b0 x
        A = np.zeros((m, m))
        A[:, 0] = -a[1:]
        A[np.arange(m - 1), np.arange(1, m)] = 1.0
        B = b[1:] - a[1:] * b[0]
        poles, V = np.linalg.eig(A)
        Vinv = np.linalg.inv(V)
        # one mode per real pole or conjugate pair (the pair's other half is its conjugate)
        keep = poles.imag >= -1e-12 * np.abs(poles)
        self._poles = poles[keep]
        self._weight = np.where(np.abs(poles[keep].imag) > 1e-12 * np.abs(poles[keep]), 2.0, 1.0)
        self._gamma = V[0, keep]  # output weight of each mode
        self._beta = (Vinv @ B)[keep]  # input weight of each mode
        self._to_modes = Vinv[keep]  # a real state to the modes' states
        self._from_modes = V[:, keep] * self._weight[None, :]  # and back (real part)
        self._bl, self._al = b.tolist(), a.tolist()
        self._zi_step = np.linalg.solve(np.eye(m) - A, B)  # steady state for a unit step
        mag = np.abs(self._poles)
        if (mag >= 1.0).any():
            raise ValueError(f"IIR: unstable filter (pole magnitude {mag.max():.4f})")
        self._L = [int(np.clip(np.floor(np.log(_SPAN_GAIN) / -np.log(max(r, 1e-300))), 1, 4096))
                   for r in mag]
        # per mode: p^k (k = 0..L) and beta p^(-k-1) (k = 0..L-1), computed once
        self._pw = [p ** np.arange(L + 1) for p, L in zip(self._poles, self._L, strict=True)]
        self._ipw = [bt * p ** (-np.arange(L) - 1.0)
                     for p, bt, L in zip(self._poles, self._beta, self._L, strict=True)]
        self.reset()

    def reset(self) -> None:
        self.zi: np.ndarray | None = None  # the transposed direct form II state (m x channels)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        if len(x) == 0:
            return x.copy()
        X = x.reshape(len(x), -1)
        if self.zi is None:
            # start from steady state on the first value: no start-up transient
            self.zi = self._zi_step[:, None] * X[0][None, :]
        if X.size <= _SMALL:
            y = self._direct(X)
        else:
            y = self.b[0] * X
            w0 = self._to_modes @ self.zi
            states = np.empty_like(w0)
            for i in range(len(self._poles)):
                w, states[i] = _mode(X, self._pw[i], self._ipw[i], w0[i])
                y += (self._weight[i] * self._gamma[i] * w).real
            self.zi = (self._from_modes @ states).real
        return y.reshape(x.shape)

    def _direct(self, X: np.ndarray) -> np.ndarray:
        """A few samples (a live packet): the recursion itself, sample by sample, as
        ``lfilter`` does it (a handful of numpy calls per mode would cost more)."""
        assert self.zi is not None
        b, a = self._bl, self._al
        m = len(a) - 1
        b0 = b[0]
        y = np.empty(X.shape)
        zi = self.zi.copy()
        for ch in range(X.shape[1]):
            z = zi[:, ch].tolist()
            out = []
            for v in X[:, ch].tolist():
                yv = b0 * v + z[0]
                for i in range(m - 1):
                    z[i] = b[i + 1] * v + z[i + 1] - a[i + 1] * yv
                z[m - 1] = b[m] * v - a[m] * yv
                out.append(yv)
            y[:, ch] = out
            zi[:, ch] = z
        self.zi = zi
        return y


def _mode(X: np.ndarray, pw_all: np.ndarray, ipw_all: np.ndarray,
          w0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One mode w[n+1] = p w[n] + beta x[n] over ``X`` (n x channels) from ``w0``, given
    ``pw_all`` = p^k and ``ipw_all`` = beta p^(-k-1): the state before each sample, and after
    the last."""
    n, c = X.shape
    L = min(len(ipw_all), n)
    nb = -(-n // L)
    if nb * L == n:
        Xb = X
    else:
        Xb = np.zeros((nb * L, c))
        Xb[:n] = X
    pw = pw_all[:L, None]
    v = Xb.reshape(nb, L, c) * ipw_all[:L, None]
    inc = np.cumsum(v, axis=1)
    local = (inc - v) * pw  # from a zero state at each block's start
    q = pw_all[L]
    ends = inc[:, -1] * q  # each block's end state from a zero start (nb x c)
    if nb == 1:
        w = (local[0] + pw * w0[None, :])
        return w[:n], (ends[0] + q * w0 if n == L else w[n])
    # the blocks' start states: W[b] = q^b w0 + sum_t q^(t-1) ends[b-t], q = p^L
    W = np.empty((nb + 1, c), complex)
    W[0] = w0
    W[1:] = ends
    qm = abs(q)
    taps = nb if qm == 0 else min(nb, int(np.ceil(np.log(_NEGLIGIBLE) / np.log(qm))) + 1
                                   if qm < 1 else nb)
    acc = W[1:].copy()
    g = 1.0 + 0j
    for t in range(2, taps + 1):
        g *= q
        acc[t - 1:] += g * ends[: nb - t + 1]
    W[1:] = acc + (q ** np.arange(1, nb + 1))[:, None] * w0[None, :]
    w = (local + pw[None] * W[:-1, None, :]).reshape(nb * L, c)
    after = W[nb] if n == nb * L else w[n]
    return w[:n], after


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
    """The last ``keep`` samples of named per-sample channels, addressed by absolute index.

    Each channel lives in a buffer with room to grow: an append writes after the held samples
    and dropping old ones only moves the start, so a piece costs its own copy, not the whole
    history's (the buffer is repacked, into a new array, only when its room is used up).
    Samples once written never change in place, so an array ``get`` gave out stays valid."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.start = 0
        self.data: dict[str, np.ndarray] = {}  # the held samples (views into the buffers)
        self.end = 0
        self._buf: dict[str, np.ndarray] = {}
        self._off = 0  # buffer index of ``start``

    def append(self, start: int, **channels: np.ndarray) -> None:
        n = len(next(iter(channels.values())))
        if not self.data:
            self.start = start
            self._off = 0
            self._buf = {}
            # room for the pieces to come, unless this is the whole history at once
            size = max(3 * self.keep, 2 * n) if 2 * n <= self.keep else n
            for k, v in channels.items():
                v = np.asarray(v)
                buf = np.empty(size, v.dtype)
                buf[:n] = v
                self._buf[k] = buf
        else:
            if start != self.end:
                raise ValueError(f"history is contiguous: expected index {self.end}, got {start}")
            held = self.end - self.start
            stop = self._off + held
            cap = len(next(iter(self._buf.values())))
            if stop + n > cap:  # no room left: the held samples into a new buffer
                size = max(3 * self.keep, 2 * (held + n))
                for k, buf in self._buf.items():
                    new = np.empty(size, buf.dtype)
                    new[:held] = buf[self._off: stop]
                    self._buf[k] = new
                self._off, stop = 0, held
            for k, buf in self._buf.items():
                buf[stop: stop + n] = channels[k]
        self.end = start + n
        cut = (self.end - self.start) - 2 * self.keep
        if cut > 0:  # trim in big steps (as before: what is held does not depend on storage)
            drop = (self.end - self.start) - self.keep
            self.start += drop
            self._off += drop
        held = self.end - self.start
        self.data = {k: buf[self._off: self._off + held] for k, buf in self._buf.items()}

    def get(self, name: str, i0: int, i1: int) -> np.ndarray:
        """Samples ``i0 <= i < i1`` of ``name`` (clipped to what is held)."""
        a = max(i0, self.start) - self.start
        b = max(min(i1, self.end) - self.start, a)
        return self.data[name][a:b]

    def clear(self) -> None:
        self.data = {}
        self._buf = {}
        self.start = self.end = 0
