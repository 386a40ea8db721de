"""Heel strikes, stance side and per-step pelvis measures from a lower-back sensor.

- **Candidates**: one per step, peaks of the vertical acceleration (Earth frame, so any
  mounting works) band-passed to 0.5-3 Hz; the vertical acceleration rises sharply at each
  heel strike (the pelvis is lowest and is stopped; cf. McCamley et al. 2012, who find initial
  contacts from the same signal).
- **Instant**: the forward-acceleration peak just before its steep fall in the 250 ms before
  the candidate (Zijlstra & Hof 2003: the lower trunk's forward acceleration peaks at initial
  contact). On the shared lower-back walkers this is within 10 ms of the foot sensors' heel
  strikes in median (SD ~25 ms), so no offset needs to be learned.
- **Walking**: only runs of at least 3 candidates spaced 0.3-1.3 s apart are steps.
- **Side**: after a heel strike the pelvis rolls toward the swing side (it drops while the new
  stance leg takes the load), so the roll rate in the 120 ms after a left strike is positive
  (right side going down). Feet alternate, so each step's side is the alternating pattern that
  best fits the cues of its neighbours (5 before, 2 after) in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beltline.pipeline.signals import RATE_HZ, History

MIN_STEP_S = 0.3
MAX_STEP_S = 1.3
RUN_MIN = 3
SIDE_BEFORE, SIDE_AFTER = 5, 2
_REFINE_BACK, _REFINE_FWD, _PEAK_BACK = 25, 5, 8
_CUE = 12  # samples after the strike whose roll rate tells the side
_LAG = 9  # a candidate peak comes about this many samples after its strike


@dataclass
class Step:
    """A heel strike and the single-leg stance that follows it, on the grid.

    ``i`` grid index of the strike, ``side`` the striking foot (= the stance leg of the
    step that follows), ``end_i`` the next strike (or the typical step length for the last
    step of a bout), ``drop_deg`` the swing side's peak drop during this stance relative to
    neutral (deg, + = dropped), ``tilt_deg`` mean tilt, ``turn_dps`` mean turning rate."""

    i: int
    side: str
    end_i: int
    drop_deg: float
    tilt_deg: float
    turn_dps: float
    cue: float
    range_deg: float = float("nan")  # obliquity range over the stride ending with this step
    cadence_spm: float = float("nan")  # steps per minute, from this step's duration


class StepTracker:
    """Streams candidates (grid indices) into steps. ``history`` must hold the channels
    ``aap`` (forward acceleration, low-passed), ``wx`` (roll rate), ``roll``, ``pitch`` and
    ``wz`` (turn rate) at least 3 s back."""

    def __init__(self, history: History) -> None:
        self.h = history
        self.pending: list[int] = []
        self.run: list[tuple[int, float]] = []  # (strike index, side cue)
        self.emitted = 0  # how many of the run's steps were given out
        self.weak: list[int] = []  # small candidates, for the closing step of a walk

    def reset(self) -> list[Step]:
        """Close the current run (a gap in the data or the end): returns its last steps."""
        out = self._close()
        self.pending.clear()
        return out

    def feed(self, candidates: list[int], weak: list[int] | tuple[int, ...] = ()) -> list[Step]:
        """Add candidates (and weak ones, only used for a walk's closing step) and return the
        steps that became final with the history so far."""
        self.pending.extend(candidates)
        self.weak.extend(weak)
        out: list[Step] = []
        end = self.h.end
        while self.pending and self.pending[0] + _REFINE_FWD + _CUE <= end:
            out += self._add(self._refine(self.pending.pop(0)))
        # a run that has seen no step for MAX_STEP_S is over
        if self.run and end - self.run[-1][0] > MAX_STEP_S * RATE_HZ + _REFINE_BACK \
                and not self.pending:
            self._closing_step()
            out += self._close()
        if len(self.weak) > 64:
            self.weak = self.weak[-32:]
        return out

    def _closing_step(self) -> None:
        """When a walk stops, the feet come together with one small last step, often too weak
        for the normal candidates: take the first weak candidate 0.35-1.0 s after the last
        strike, if the run was a real walk."""
        if len(self.run) < RUN_MIN:
            return
        last = self.run[-1][0]
        for c in self.weak:
            if last + int(0.35 * RATE_HZ) <= c - _LAG <= last + int(1.0 * RATE_HZ):
                i, cue = self._refine(c)
                if i - last >= MIN_STEP_S * RATE_HZ:
                    self.run.append((i, cue))
                return

    def _refine(self, c: int) -> tuple[int, float]:
        lo = c - _REFINE_BACK
        aap = self.h.get("aap", lo - 1, c + _REFINE_FWD)
        if len(aap) < _REFINE_BACK or np.isnan(aap.sum()):
            return c, 0.0
        k = int(np.argmin(np.diff(aap)))  # steepest fall: aap[k+1] - aap[k]
        j0 = max(0, k - _PEAK_BACK)
        i = lo - 1 + j0 + int(np.argmax(aap[j0: k + 1]))
        wx = self.h.get("wx", i, i + _CUE)
        return i, _mean(wx, 0.0)

    def _add(self, hs: tuple[int, float]) -> list[Step]:
        out: list[Step] = []
        if self.run:
            gap = hs[0] - self.run[-1][0]
            if gap < MIN_STEP_S * RATE_HZ:
                return out  # a second peak inside one step: keep the first
            if gap > MAX_STEP_S * RATE_HZ:
                out += self._close()
        self.run.append(hs)
        n = len(self.run)
        if n >= RUN_MIN:
            while self.emitted + SIDE_AFTER < n:
                out.append(self._step(self.emitted))
                self.emitted += 1
        return out

    def _close(self) -> list[Step]:
        out: list[Step] = []
        if len(self.run) >= RUN_MIN:
            while self.emitted < len(self.run):
                out.append(self._step(self.emitted))
                self.emitted += 1
        self.run = []
        self.emitted = 0
        return out

    def _step(self, j: int) -> Step:
        run = self.run
        lo, hi = max(0, j - SIDE_BEFORE), min(len(run), j + SIDE_AFTER + 1)
        score = sum(run[m][1] * (1 if m % 2 == 0 else -1) for m in range(lo, hi))
        even_left = score >= 0
        side = "left" if (j % 2 == 0) == even_left else "right"
        i = run[j][0]
        if j + 1 < len(run):
            end = run[j + 1][0]
        else:
            typical = int(np.median(np.diff([r[0] for r in run]))) if len(run) > 1 else 55
            end = i + typical
        n = end - i
        stride = self.h.get("roll", i - n, end)  # the stride ending with this stance
        pitch = self.h.get("pitch", i, end)
        wz = self.h.get("wz", i - n, end)  # a whole stride: the sway cancels
        nan = float("nan")
        if len(stride) == 2 * n and n > 0 and not np.isnan(stride).any():
            roll = stride[n:]  # the common case, no gap nearby: plain reductions
            drop = float(roll.max()) if side == "left" else float(-roll.min())
            rng = float(stride.max() - stride.min())
        else:
            roll = self.h.get("roll", i, end)
            ok = roll[np.isfinite(roll)]
            drop = (float(ok.max()) if side == "left" else float(-ok.min())) if len(ok) \
                else nan
            fin = stride[np.isfinite(stride)]
            rng = float(fin.max() - fin.min()) if len(fin) else nan
        return Step(i, side, end, drop, _mean(pitch, nan),
                    float(np.degrees(abs(_mean(wz, nan)))), run[j][1], rng,
                    60.0 * RATE_HZ / n if n > 0 else nan)

def _mean(x: np.ndarray, empty: float) -> float:
    if not len(x):
        return empty
    m = float(x.mean())
    if m == m:
        return m
    ok = x[np.isfinite(x)]  # only next to a gap
    return float(ok.mean()) if len(ok) else empty


def strikes_without_gyro(t: np.ndarray, acc: np.ndarray) -> list[float]:
    """Heel-strike times from an accelerometer alone (a lower-back unit without gyroscope).

    Gravity's direction comes from the accelerometer low-passed at 0.25 Hz instead of the
    attitude filter, forward from the same inverted-pendulum rule as the calibration, and the
    strikes from the same candidates and refinement as the full pipeline. What is lost without
    the gyroscope: the stance side (it comes from the roll rate), obliquity and tilt during
    walking (the accelerometer alone mixes them with the walking accelerations) and with them
    every episode. Returns strike times in ``t``'s clock.
    """
    from beltline.pipeline.calibration import forward_axis
    from beltline.pipeline.signals import DT, IIR, PeakFinder, butter2

    grid = np.arange(t[0], t[-1], DT)
    a = np.stack([np.interp(grid, t, acc[:, i]) for i in range(3)], axis=1)
    low = IIR(butter2("lowpass", 0.25), 3)(a)
    g = np.linalg.norm(low, axis=1, keepdims=True)
    up = low / g
    a_v = (a * up).sum(axis=1) - g[:, 0]
    cands = PeakFinder(drop=1.0, min_gap=int(MIN_STEP_S * RATE_HZ))(
        IIR(butter2("bandpass", (0.5, 3.0)))(a_v), 0)
    up0 = up.mean(axis=0)
    up0 /= np.linalg.norm(up0)
    fwd = forward_axis(up0, up, a)
    lin = a - g * up
    h = History(keep=len(grid) + 1)
    zeros = np.zeros(len(grid))
    h.append(0, aap=IIR(butter2("lowpass", 15.0))(lin @ fwd), wx=zeros, roll=zeros,
             pitch=zeros, wz=zeros)
    tracker = StepTracker(h)
    steps = tracker.feed(cands) + tracker.reset()
    return [float(grid[s.i]) for s in steps]
