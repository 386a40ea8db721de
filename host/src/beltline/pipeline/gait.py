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

from beltline.pipeline.signals import IIR, RATE_HZ, History, PeakFinder, butter2


@dataclass(frozen=True)
class GaitParams:
    """Step finding. Times in s, accelerations in m/s²; defaults tuned on the shared lower-back
    walkers (Voisard et al. 2023) and checked on the virtual wearer.

    - ``min_step_s``/``max_step_s`` (0.3, 1.3): plausible step durations (cadence 46-200/min).
    - ``run_min_steps`` (3): candidates in a row before they count as walking.
    - ``side_before_steps``/``side_after_steps`` (5, 2): neighbours whose side cues vote.
    - ``band_hz`` (0.5-3.0): band of the vertical acceleration that carries one peak per step.
    - ``strike_drop_ms2`` (1.0) / ``weak_drop_ms2`` (0.3): peak hysteresis of a candidate / of the
      weaker candidates looked at only for a walk's closing step.
    - ``refine_back_s``/``refine_fwd_s``/``peak_back_s`` (0.25, 0.05, 0.08): where the strike
      instant is searched in the forward acceleration around a candidate.
    - ``side_cue_s`` (0.12): roll rate after the strike that tells the side.
    - ``candidate_lag_s`` (0.09): a candidate peak comes about this long after its strike.
    - ``closing_min_s``/``closing_max_s`` (0.35, 1.0): where a walk's closing step may follow.
    - ``forward_lowpass_hz`` (15): low-pass of the forward acceleration before refining.
    """

    min_step_s: float = 0.3
    max_step_s: float = 1.3
    run_min_steps: int = 3
    side_before_steps: int = 5
    side_after_steps: int = 2
    band_hz: tuple[float, float] = (0.5, 3.0)
    strike_drop_ms2: float = 1.0
    weak_drop_ms2: float = 0.3
    refine_back_s: float = 0.25
    refine_fwd_s: float = 0.05
    peak_back_s: float = 0.08
    side_cue_s: float = 0.12
    candidate_lag_s: float = 0.09
    closing_min_s: float = 0.35
    closing_max_s: float = 1.0
    forward_lowpass_hz: float = 15.0
    typical_step_s: float = 0.55  # the last step's length when a run has only one step

    def n(self, seconds: float) -> int:
        """A duration in grid samples."""
        return round(seconds * RATE_HZ)


GAIT = GaitParams()
MIN_STEP_S = GAIT.min_step_s
MAX_STEP_S = GAIT.max_step_s


class StepCandidates:
    """One candidate per step: peaks of the band-passed vertical acceleration (Earth frame), and
    weaker peaks kept to look for a walk's small closing step (feet coming together)."""

    def __init__(self, params: GaitParams = GAIT) -> None:
        self.params = params
        gap = int(params.min_step_s * RATE_HZ)
        self._band = IIR(butter2("bandpass", params.band_hz))
        self._peaks = PeakFinder(drop=params.strike_drop_ms2, min_gap=gap)
        self._weak = PeakFinder(drop=params.weak_drop_ms2, min_gap=gap)

    def update(self, a_v: np.ndarray, k0: int) -> tuple[list[int], list[int]]:
        """Vertical acceleration (gravity removed) from grid index ``k0``: (candidates, weak)."""
        band = self._band(a_v)
        return self._peaks(band, k0), self._weak(band, k0)

    def reset(self) -> None:
        self._band.reset()
        self._peaks.reset()
        self._weak.reset()


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

    def __init__(self, history: History, params: GaitParams = GAIT) -> None:
        self.h = history
        self.params = p = params
        self._refine_back, self._refine_fwd = p.n(p.refine_back_s), p.n(p.refine_fwd_s)
        self._peak_back, self._cue, self._lag = p.n(p.peak_back_s), p.n(p.side_cue_s), \
            p.n(p.candidate_lag_s)
        self._min = p.min_step_s * RATE_HZ
        self._max = p.max_step_s * RATE_HZ
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
        while self.pending and self.pending[0] + self._refine_fwd + self._cue <= end:
            out += self._add(self._refine(self.pending.pop(0)))
        # a run that has seen no step for MAX_STEP_S is over
        if self.run and end - self.run[-1][0] > self._max + self._refine_back \
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
        p = self.params
        if len(self.run) < p.run_min_steps:
            return
        last = self.run[-1][0]
        lo, hi = int(p.closing_min_s * RATE_HZ), int(p.closing_max_s * RATE_HZ)
        for c in self.weak:
            if last + lo <= c - self._lag <= last + hi:
                i, cue = self._refine(c)
                if i - last >= self._min:
                    self.run.append((i, cue))
                return

    def _refine(self, c: int) -> tuple[int, float]:
        lo = c - self._refine_back
        aap = self.h.get("aap", lo - 1, c + self._refine_fwd)
        if len(aap) < self._refine_back or np.isnan(aap.sum()):
            return c, 0.0
        k = int(np.argmin(np.diff(aap)))  # steepest fall: aap[k+1] - aap[k]
        j0 = max(0, k - self._peak_back)
        i = lo - 1 + j0 + int(np.argmax(aap[j0: k + 1]))
        wx = self.h.get("wx", i, i + self._cue)
        return i, _mean(wx, 0.0)

    def _add(self, hs: tuple[int, float]) -> list[Step]:
        out: list[Step] = []
        if self.run:
            gap = hs[0] - self.run[-1][0]
            if gap < self._min:
                return out  # a second peak inside one step: keep the first
            if gap > self._max:
                out += self._close()
        self.run.append(hs)
        n = len(self.run)
        if n >= self.params.run_min_steps:
            while self.emitted + self.params.side_after_steps < n:
                out.append(self._step(self.emitted))
                self.emitted += 1
        return out

    def _close(self) -> list[Step]:
        out: list[Step] = []
        if len(self.run) >= self.params.run_min_steps:
            while self.emitted < len(self.run):
                out.append(self._step(self.emitted))
                self.emitted += 1
        self.run = []
        self.emitted = 0
        return out

    def _step(self, j: int) -> Step:
        run = self.run
        p = self.params
        lo, hi = max(0, j - p.side_before_steps), min(len(run), j + p.side_after_steps + 1)
        score = sum(run[m][1] * (1 if m % 2 == 0 else -1) for m in range(lo, hi))
        even_left = score >= 0
        side = "left" if (j % 2 == 0) == even_left else "right"
        i = run[j][0]
        if j + 1 < len(run):
            end = run[j + 1][0]
        else:
            typical = int(np.median(np.diff([r[0] for r in run]))) if len(run) > 1 \
                else p.n(p.typical_step_s)
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
    from beltline.pipeline.signals import DT

    grid = np.arange(t[0], t[-1], DT)
    a = np.stack([np.interp(grid, t, acc[:, i]) for i in range(3)], axis=1)
    low = IIR(butter2("lowpass", 0.25), 3)(a)
    g = np.linalg.norm(low, axis=1, keepdims=True)
    up = low / g
    a_v = (a * up).sum(axis=1) - g[:, 0]
    cands, _ = StepCandidates().update(a_v, 0)
    up0 = up.mean(axis=0)
    up0 /= np.linalg.norm(up0)
    fwd = forward_axis(up0, up, a)
    lin = a - g * up
    h = History(keep=len(grid) + 1)
    zeros = np.zeros(len(grid))
    h.append(0, aap=IIR(butter2("lowpass", GAIT.forward_lowpass_hz))(lin @ fwd), wx=zeros,
             roll=zeros, pitch=zeros, wz=zeros)
    tracker = StepTracker(h)
    steps = tracker.feed(cands) + tracker.reset()
    return [float(grid[s.i]) for s in steps]
