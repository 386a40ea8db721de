"""Heel strikes, stance side and per-step pelvis measures from a lower-back sensor.

Why this module is large: a walk run's logic (candidates, holes filled from weak candidates,
missed steps, the closing step, per-stance measures) works on the same per-run state, live and
in batch; split, that state would have to be passed around piecemeal.

- **Candidates**: one per step, peaks of the vertical acceleration (Earth frame, so any
  mounting works) band-passed to 0.5-3 Hz; the vertical acceleration rises sharply at each
  heel strike (the pelvis is lowest and is stopped; cf. McCamley et al. 2012, who find initial
  contacts from the same signal). Weaker peaks are kept too: the small steps of a turn, of
  starting and of stopping.
- **Instant**: the forward-acceleration peak just before its steep fall in the 250 ms before
  the candidate (Zijlstra & Hof 2003: the lower trunk's forward acceleration peaks at initial
  contact). On the shared lower-back walkers this is within 10 ms of the foot sensors' heel
  strikes in median (SD ~25 ms).
- **Walking**: runs of at least 3 candidates spaced 0.3-1.3 s apart. Inside a run, an interval
  much longer than the run's own step (a shuffling turn, a dropped packet) is filled from the
  weak candidates, or, when it is about a whole number of steps with no candidate, counted as
  missed steps so the feet still alternate; a short break in the data does not end a walk. A
  walk's closing step (the feet coming together) is looked for among the weak candidates just
  after the run. (The same before the run finds the first swing's toe-off, not a strike, on the
  shared walkers: the first step is left to the normal candidates.)
- **Side**: ``beltline.pipeline.side``: a vote of cues with learned polarities, ``unknown``
  when they disagree.
- **Measures** (only for strikes with a side): the swing side's peak drop in the stance and
  its peak rise in mid-stance (a hike), both against the pelvis's level at the stance's own two
  heel strikes (double support), so they do not depend on how well the neutral was found; the
  tilt, the stride's obliquity range, the turning rate and the cadence.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from math import degrees, isnan
from typing import Any

import numpy as np

from beltline.pipeline.side import CUES, SideParams, SideVote
from beltline.pipeline.signals import IIR, RATE_HZ, History, butter2


@dataclass(frozen=True)
class GaitParams:
    """Step finding. Times in s, accelerations in m/s²; defaults tuned on half of the shared
    lower-back walkers (Voisard et al. 2023, subjects 1-5; 6-10 held out) and checked on the
    virtual wearer.

    - ``min_step_s``/``max_step_s`` (0.3, 1.3): plausible step durations (cadence 46-200/min).
    - ``run_min_steps`` (3): candidates in a row before they count as walking.
    - ``band_hz`` (0.5-3.0): band of the vertical acceleration that carries one peak per step.
    - ``strike_drop_ms2`` (1.0) / ``weak_drop_ms2`` (0.3): peak hysteresis of a candidate (at
      most) / of the weaker candidates looked at for a walk's edges and its holes.
    - ``strike_min_ms2`` (0.6) / ``strike_rel`` (0.3): a candidate's hysteresis follows the
      wearer's steps: this share of the rise of their larger recent peaks, not below this.
    - ``refine_back_s``/``refine_fwd_s``/``peak_back_s`` (0.25, 0.05, 0.08): where the strike
      instant is searched in the forward acceleration around a candidate.
    - ``side_cue_s`` (0.12): roll rate after the strike (a side cue).
    - ``candidate_lag_s`` (0.09): a candidate peak comes about this long after its strike.
    - ``closing_min_s``/``closing_max_s`` (0.35, 1.0): where a walk's closing step may follow
      its last strike.
    - ``hole_ratio`` (1.6): an interval this many times the run's median step is a hole to fill.
    - ``max_missed_steps`` (2): steps a hole may be counted as (with no candidate to fill it).
    - ``forward_lowpass_hz`` (15): low-pass of the forward acceleration before refining.
    - ``typical_step_s`` (0.55): the last step's length when a run has only one step.
    - ``hike_window`` (0.25-0.6): the part of a step that is mid-stance (the other foot
      leaves the ground at about a quarter of the step, terminal stance begins at about 60 %:
      Perry & Burnfield 2010, 10-30 % of the gait cycle).
    - ``side``: the cue vote (``SideParams``).
    """

    min_step_s: float = 0.3
    max_step_s: float = 1.3
    run_min_steps: int = 3
    band_hz: tuple[float, float] = (0.5, 3.0)
    strike_drop_ms2: float = 1.0
    weak_drop_ms2: float = 0.3
    strike_min_ms2: float = 0.6
    strike_rel: float = 0.3
    refine_back_s: float = 0.25
    refine_fwd_s: float = 0.05
    peak_back_s: float = 0.08
    side_cue_s: float = 0.12
    candidate_lag_s: float = 0.09
    closing_min_s: float = 0.35
    closing_max_s: float = 1.0
    hole_ratio: float = 1.6
    max_missed_steps: int = 2
    forward_lowpass_hz: float = 15.0
    typical_step_s: float = 0.55
    hike_window: tuple[float, float] = (0.25, 0.6)
    side: SideParams = field(default_factory=SideParams)

    def n(self, seconds: float) -> int:
        """A duration in grid samples."""
        return round(seconds * RATE_HZ)


GAIT = GaitParams()
MIN_STEP_S = GAIT.min_step_s
MAX_STEP_S = GAIT.max_step_s


class StepCandidates:
    """One candidate per step: peaks of the band-passed vertical acceleration (Earth frame), and
    weaker peaks kept to look for the small steps at a walk's edges and in its turns.

    A peak counts once the signal has fallen a hysteresis below it (and rose as much from the
    valley before). The weak peaks use a fixed ``weak_drop_ms2``; the candidates a hysteresis
    that follows the wearer's own steps: ``strike_rel`` of the rise of the larger recent weak
    peaks (their 75th percentile over the last dozen), kept within ``strike_min_ms2``-
    ``strike_drop_ms2``, so slow or shuffling walkers, whose pelvis rises and falls little,
    still give one candidate per step while brisk walkers keep the full hysteresis against the
    small peaks between steps. The hysteresis changes only at a confirmed weak peak, in time
    order, so the candidates do not depend on how the stream is chunked."""

    def __init__(self, params: GaitParams = GAIT) -> None:
        self.params = params
        self._band = IIR(butter2("bandpass", params.band_hz))
        self._gap = int(params.min_step_s * RATE_HZ)
        self.reset()

    def reset(self) -> None:
        self._band.reset()
        p = self.params
        # per finder: armed, best, best index, low (valley), rise at arming, last peak index
        self._st: list[list[Any]] = [[False, -np.inf, -1, np.inf, 0.0, -(10**12)]
                                     for _ in range(2)]
        self._rises: list[float] = []
        self.strong_drop = p.strike_drop_ms2
        self._carry = np.zeros(0)
        self._carry_start = 0

    def update(self, a_v: np.ndarray, k0: int) -> tuple[list[int], list[int]]:
        """Vertical acceleration (gravity removed) from grid index ``k0``: (candidates, weak)."""
        band = self._band(a_v)
        if len(self._carry):
            y = np.concatenate([self._carry, band])
            y0 = self._carry_start
        else:
            y, y0 = band, k0
        if len(y) < 3:
            self._carry, self._carry_start = y, y0
            return [], []
        d = np.diff(y)
        up, dn = d[:-1], d[1:]
        is_max = (up > 0) & (dn <= 0)
        is_min = (up < 0) & (dn >= 0)
        idx = np.flatnonzero(is_max | is_min) + 1
        # the two finders' state in locals for the loop (a few extrema per step, but this
        # loop runs over every one of them); the weak finder goes first at each extremum:
        # what it confirms sets the candidates' hysteresis
        cands: list[int] = []
        weak: list[int] = []
        wd, gap, inf = self.params.weak_drop_ms2, self._gap, np.inf
        w_armed, w_best, w_i, w_low, w_rise, w_last = self._st[1]
        s_armed, s_best, s_i, s_low, s_rise, s_last = self._st[0]
        for j, mx, v in zip(idx.tolist(), is_max[idx - 1].tolist(), y[idx].tolist(),
                            strict=True):
            if mx:
                if w_armed:
                    if v > w_best:
                        w_best, w_i = v, y0 + j
                elif v > w_low + wd:
                    w_armed, w_best, w_i, w_rise = True, v, y0 + j, v - w_low
            elif w_armed and v < w_best - wd:
                if w_i - w_last >= gap:
                    weak.append(w_i)
                    w_last = w_i
                    self._learn(w_best - w_low if w_low < inf else w_rise)
                w_armed, w_low = False, v
            elif not w_armed and v < w_low:
                w_low = v
            sd = self.strong_drop
            if mx:
                if s_armed:
                    if v > s_best:
                        s_best, s_i = v, y0 + j
                elif v > s_low + sd:
                    s_armed, s_best, s_i, s_rise = True, v, y0 + j, v - s_low
            elif s_armed and v < s_best - sd:
                if s_i - s_last >= gap:
                    cands.append(s_i)
                    s_last = s_i
                s_armed, s_low = False, v
            elif not s_armed and v < s_low:
                s_low = v
        self._st[1] = [w_armed, w_best, w_i, w_low, w_rise, w_last]
        self._st[0] = [s_armed, s_best, s_i, s_low, s_rise, s_last]
        self._carry, self._carry_start = y[-2:].copy(), y0 + len(y) - 2
        return cands, weak

    def _learn(self, rise: float) -> None:
        p = self.params
        self._rises.append(rise)
        if len(self._rises) > 12:
            del self._rises[0]
        if len(self._rises) >= 6:
            r = sorted(self._rises)
            x = 0.75 * (len(r) - 1)  # the 75th percentile, linear between neighbours
            lo = int(x)
            big = r[lo] + (r[min(lo + 1, len(r) - 1)] - r[lo]) * (x - lo)
            # (= np.clip, whose wrapper costs more than the rest of this per strike)
            self.strong_drop = float(min(max(p.strike_rel * big, p.strike_min_ms2),
                                         p.strike_drop_ms2))


@dataclass
class Step:
    """A heel strike and the single-leg stance that follows it, on the grid.

    ``i`` grid index of the strike, ``side`` the striking foot (= the stance leg of the
    step that follows; "unknown" when the cues do not tell), ``end_i`` the next strike (or the
    typical step length for the last step of a bout), ``drop_deg`` the swing side's peak drop
    during this stance below the pelvis's level at its two heel strikes (deg, + = dropped),
    ``hike_deg`` the swing side's peak rise in mid-stance above that level (+ = raised: a hike;
    normally negative), ``tilt_deg`` mean tilt, ``turn_dps`` mean turning rate, ``confidence``
    of the side (0..1). Measures are NaN when the side is unknown."""

    i: int
    side: str
    end_i: int
    drop_deg: float
    tilt_deg: float
    turn_dps: float
    cue: float
    range_deg: float = float("nan")  # obliquity range over the stride ending with this step
    cadence_spm: float = float("nan")  # steps per minute, from this step's duration
    hike_deg: float = float("nan")
    confidence: float = 0.0
    bout: int = 0  # which walk (run of steps) it belongs to, counted from 0
    mid_drop_deg: float = float("nan")  # the swing side's mean drop over mid-stance

    @property
    def confident(self) -> bool:
        return self.side in ("left", "right")


@dataclass
class _Strike:
    i: int
    phantom: bool = False  # a step counted but not seen (a hole in a run or in the data)
    cues: list[float] = field(default_factory=lambda: [float("nan")] * len(CUES))


class StepTracker:
    """Streams candidates (grid indices) into steps. ``history`` must hold the channels
    ``aap`` (forward acceleration, low-passed), ``wx`` (roll rate), ``roll``, ``pitch``,
    ``wz`` (turn rate), ``wzb`` (turn rate band-passed) and ``alat`` (lateral acceleration) at
    least 5 s back.

    ``feed`` gives the steps whose side is decided (a few steps late); ``take_spans`` the
    walking spans (strike, next strike) as soon as the strikes are known (for the activity,
    which cannot wait for the side);
    ``reset`` marks a break in the data (a walk survives a short one); ``close`` ends the
    current walk (the end of the recording)."""

    def __init__(self, history: History, params: GaitParams = GAIT,
                 vote: SideVote | None = None) -> None:
        self.h = history
        self.params = p = params
        self.vote = vote or SideVote(p.side)
        self._refine_back, self._refine_fwd = p.n(p.refine_back_s), p.n(p.refine_fwd_s)
        self._peak_back, self._cue, self._lag = p.n(p.peak_back_s), p.n(p.side_cue_s), \
            p.n(p.candidate_lag_s)
        self._min = p.min_step_s * RATE_HZ
        self._max = p.max_step_s * RATE_HZ
        self.pending: list[int] = []
        self.run: list[_Strike] = []
        self.real = 0  # strikes of the run that were seen (not counted as missed)
        self.emitted = 0  # how many of the run's strikes were given out (or skipped)
        self.spanned = 0  # how many of the run's strikes gave their walking span
        self.weak: list[int] = []  # small candidates, for a walk's edges and holes
        self.spans: list[tuple[int, int]] = []  # walking spans not yet taken
        self.bouts = 0

    # --- public ---------------------------------------------------------------------------
    def reset(self) -> list[Step]:
        """A break in the data. The walk goes on if the data resume within a step or two (the
        next strike decides); candidates not yet refined are dropped."""
        self.pending.clear()
        return []

    def close(self) -> list[Step]:
        """End the current walk (the end of the recording): returns its last steps."""
        self.pending.clear()
        if self.run:
            self._closing_step()
        return self._close()

    def take_spans(self) -> list[tuple[int, int]]:
        out, self.spans = self.spans, []
        return out

    def feed(self, candidates: list[int], weak: list[int] | tuple[int, ...] = ()) -> list[Step]:
        """Add candidates (and weak ones) and return the steps that became final."""
        self.pending.extend(candidates)
        self.weak.extend(weak)
        out: list[Step] = []
        end = self.h.end
        while self.pending and self.pending[0] + self._refine_fwd + self._cue <= end:
            out += self._add(self._refine(self.pending.pop(0)))
        # a run that has seen no step for a while is over
        p = self.params
        if self.run and not self.pending:
            quiet = end - self.run[-1].i
            if quiet > self._max * (1 + p.max_missed_steps) + self._refine_back or (
                    quiet > self._max + self._refine_back and not self._may_resume(end)):
                self._closing_step()
                out += self._close()
        if len(self.weak) > 64:
            self.weak = self.weak[-32:]
        return out

    # --- strikes ------------------------------------------------------------------------
    def _may_resume(self, end: int) -> bool:
        """Whether a hole in the data may still hide steps of this walk: the history holds no
        data (NaN) after the last strike."""
        last = self.run[-1].i
        x = self.h.get("aap", last, end)
        return bool(len(x)) and bool(np.isnan(x).any())

    def _refine(self, c: int) -> int:
        lo = c - self._refine_back
        aap = self.h.get("aap", lo - 1, c + self._refine_fwd)
        if len(aap) < self._refine_back:
            return max(c - self._lag, self.h.start)
        # a few dozen numbers: plain Python (numpy's per-call cost is most of the work here)
        x = aap.tolist()
        if isnan(sum(x)):
            return max(c - self._lag, self.h.start)
        d = [b - a for a, b in itertools.pairwise(x)]
        k = d.index(min(d))  # steepest fall: x[k+1] - x[k] (the first, as argmin)
        j0 = max(0, k - self._peak_back)
        seg = x[j0: k + 1]
        return lo - 1 + j0 + seg.index(max(seg))

    def _median_step(self) -> float | None:
        real = [s.i for s in self.run[-9:]]
        if len(real) < 3:
            return None
        return _median([b - a for a, b in itertools.pairwise(real)])

    def _weak_between(self, a: int, b: int) -> list[int]:
        """Refined strikes of the weak candidates whose strike lies in (a, b)."""
        out = []
        for w in self.weak:
            s = w - self._lag
            if a + self._min <= s <= b - self._min:
                out.append(self._refine(w))
        return sorted({s for s in out if a + self._min <= s <= b - self._min})

    def _fill(self, a: int, b: int, med: float) -> list[_Strike]:
        """Strikes inside the hole (a, b) of a run whose median step is ``med``: weak
        candidates splitting it into plausible steps, else missed steps if the hole is about a
        whole number of steps."""
        found: list[int] = []
        lo = a
        while b - lo > self.params.hole_ratio * med:
            nxt = [s for s in self._weak_between(lo, b) if s - lo <= 1.5 * med]
            if not nxt:
                break
            best = min(nxt, key=lambda s: abs(s - lo - med))
            found.append(best)
            lo = best
        if found:
            return [_Strike(s) for s in found]
        ratio = (b - a) / med
        missed = round(ratio) - 1
        if 1 <= missed <= self.params.max_missed_steps and abs(ratio - round(ratio)) < 0.3:
            return [_Strike(round(a + (b - a) * (m + 1) / (missed + 1)), phantom=True)
                    for m in range(missed)]
        return []

    def _add(self, i: int) -> list[Step]:
        out: list[Step] = []
        p = self.params
        if self.run:
            last = self.run[-1].i
            gap = i - last
            if gap < self._min:
                return out  # a second peak inside one step: keep the first
            med = self._median_step()
            if med is not None and gap > p.hole_ratio * med:
                filled = self._fill(last, i, med)
                if filled:
                    for s in filled:
                        self._append(s)
                elif gap > self._max:
                    out += self._close()
            elif gap > self._max:
                out += self._close()
        self._append(_Strike(i))
        if self.real >= p.run_min_steps:
            self._give_spans()
            while self.emitted + p.side.after_steps < len(self.run):
                out += self._emit(self.emitted)
                self.emitted += 1
        return out

    def _append(self, s: _Strike) -> None:
        run = self.run
        run.append(s)
        self.real += not s.phantom
        j = len(run) - 1
        if j == 0 or s.phantom:
            self._cues_start(s)
            return
        self._cues_start(s)
        self._cues_step(j - 1)

    def _closing_step(self) -> None:
        """When a walk stops, the feet come together with one small last step, often too weak
        for the normal candidates: take the first weak candidate 0.35-1.0 s after the last
        strike, if the run was a real walk."""
        p = self.params
        if self.real < p.run_min_steps:
            return
        last = self.run[-1].i
        lo, hi = int(p.closing_min_s * RATE_HZ), int(p.closing_max_s * RATE_HZ)
        for c in self.weak:
            if last + lo <= c - self._lag <= last + hi:
                i = self._refine(c)
                if i - last >= self._min:
                    self._append(_Strike(i))
                    self._give_spans()
                return

    def _give_spans(self) -> None:
        run = self.run
        while self.spanned < len(run) - 1:
            self.spans.append((run[self.spanned].i, run[self.spanned + 1].i))
            self.spanned += 1

    def _close(self) -> list[Step]:
        out: list[Step] = []
        p = self.params
        if self.real >= p.run_min_steps:
            if self.run:
                last = self.run[-1].i
                self.spans.append((last, last + self._typical()))
            while self.emitted < len(self.run):
                out += self._emit(self.emitted)
                self.emitted += 1
            self.vote.end_bout(self.run[0].i / RATE_HZ)
            self.bouts += 1
        self.run = []
        self.real = 0
        self.emitted = 0
        self.spanned = 0
        return out

    def _typical(self) -> int:
        real = [s.i for s in self.run]
        # (the median of whole numbers: as numpy's, without its cost)
        return int(_median([b - a for a, b in itertools.pairwise(real)])) if len(real) > 1 \
            else self.params.n(self.params.typical_step_s)

    # --- cues ---------------------------------------------------------------------------
    def _cues_start(self, s: _Strike) -> None:
        """The cues known at the strike itself: roll rate after it, band-passed yaw rate."""
        if s.phantom:
            return
        wx = self.h.get("wx", s.i, s.i + self._cue)
        s.cues[1] = _mean(wx, float("nan"))
        wzb = self.h.get("wzb", s.i, s.i + 1)
        s.cues[2] = float(wzb[0]) if len(wzb) else float("nan")

    def _cues_step(self, j: int) -> None:
        """The cues of strike ``j`` that need the step to its successor: the lateral velocity
        change and the mean obliquity over the step."""
        s = self.run[j]
        if s.phantom:
            return
        end = self.run[j + 1].i if j + 1 < len(self.run) else s.i + self._typical()
        if j + 1 < len(self.run) and self.run[j + 1].phantom:
            return
        lat = self.h.get("alat", s.i, end)
        if len(lat) == end - s.i and len(lat):
            total = float(_add(lat))
            if total != total and np.isfinite(lat).mean() > 0.9:  # next to a gap
                total = float(np.nansum(lat))
            if total == total:
                s.cues[0] = -total / RATE_HZ
        roll = self.h.get("roll", s.i, end)
        s.cues[3] = _mean(roll, float("nan"))

    # --- steps ----------------------------------------------------------------------------
    def _emit(self, j: int) -> list[Step]:
        run = self.run
        s = run[j]
        if s.phantom:
            return []
        sp = self.params.side
        lo, hi = max(0, j - sp.before_steps), min(len(run), j + sp.after_steps + 1)
        side, conf = self.vote.decide([r.cues for r in run[lo:hi]], j - lo)
        # the side of a strike inside a window follows the parity of the run
        return [self._step(j, side, conf)]

    def _step(self, j: int, side: str, conf: float) -> Step:
        run = self.run
        p = self.params
        i = run[j].i
        nan = float("nan")
        if j + 1 < len(run):
            end = run[j + 1].i
            exact = not run[j + 1].phantom
        else:
            end = i + self._typical()
            exact = False
        n = end - i
        pitch = self.h.get("pitch", i, end)
        wz = self.h.get("wz", i - n, end)  # a whole stride: the sway cancels
        drop = hike = rng = middle = nan
        if side in ("left", "right") and exact and n > 0:
            stride = self.h.get("roll", i - n, end + 3)
            if len(stride) == 2 * n + 3:
                # a few sums and extremes of one short slice, in plain Python (this runs once
                # per step, live too; numpy's per-call cost would be most of it)
                a, b = p.hike_window
                m0, m1 = n + int(a * n), n + max(int(b * n), int(a * n) + 1)
                x = stride.tolist()
                cs = list(itertools.accumulate(x, initial=0.0))  # = np.cumsum, in order
                # the pelvis at double support: around the two strikes
                level = 0.1 * (cs[n + 3] - cs[n - 2] + cs[2 * n + 3] - cs[2 * n - 2])
                mid_mean = (cs[m1] - cs[m0]) / (m1 - m0)
                if level == level and mid_mean == mid_mean:
                    # no NaN in the slice here (the level's sums run over all of it)
                    roll, mid = x[n: 2 * n], x[m0:m1]
                    if side == "left":  # right side is the swing side: + roll = right lower
                        drop, hike = max(roll) - level, level - min(mid)
                        middle = mid_mean - level
                    else:
                        drop, hike = level - min(roll), max(mid) - level
                        middle = level - mid_mean
                    head = x[: 2 * n]
                    rng = max(head) - min(head)
        return Step(i, side, end, drop, _mean(pitch, nan), degrees(abs(_mean(wz, nan))),
                    float(run[j].cues[0]), rng, 60.0 * RATE_HZ / n if n > 0 else nan, hike,
                    conf, self.bouts, middle)


def _median(v: list[float] | list[int]) -> float:
    """The median of a short list (numpy's costs more than it saves for a handful)."""
    s = sorted(v)
    n = len(s)
    return float(s[n // 2]) if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


_add = np.add.reduce  # = ndarray.sum, without its Python wrapper


def _mean(x: np.ndarray, empty: float) -> float:
    if not len(x):
        return empty
    m = float(_add(x)) / len(x)  # = x.mean(), without its per-call overhead
    if m == m:
        return m
    ok = x[np.isfinite(x)]  # only next to a gap
    return float(ok.mean()) if len(ok) else empty


def strikes_without_gyro(t: np.ndarray, acc: np.ndarray) -> list[float]:
    """Heel-strike times from an accelerometer alone (a lower-back unit without gyroscope).

    Gravity's direction comes from the accelerometer low-passed at 0.25 Hz instead of the
    attitude filter, forward from the same inverted-pendulum rule as the calibration, and the
    strikes from the same candidates and refinement as the full pipeline. What is lost without
    the gyroscope: obliquity and tilt during walking (the accelerometer alone mixes them with
    the walking accelerations) and with them every episode; the side comes from the lateral
    sway alone. Returns strike times in ``t``'s clock.
    """
    from beltline.pipeline.calibration import forward_axis
    from beltline.pipeline.signals import DT

    grid = np.arange(t[0], t[-1], DT)
    a = np.stack([np.interp(grid, t, acc[:, i]) for i in range(3)], axis=1)
    low = IIR(butter2("lowpass", 0.25), 3)(a)
    g = np.linalg.norm(low, axis=1, keepdims=True)
    up = low / g
    a_v = (a * up).sum(axis=1) - g[:, 0]
    cands, weak = StepCandidates().update(a_v, 0)
    up0 = up.mean(axis=0)
    up0 /= np.linalg.norm(up0)
    fwd = forward_axis(up0, up, a)
    lin = a - g * up
    h = History(keep=len(grid) + 1)
    zeros = np.zeros(len(grid))
    h.append(0, aap=IIR(butter2("lowpass", GAIT.forward_lowpass_hz))(lin @ fwd), wx=zeros,
             roll=zeros, pitch=zeros, wz=zeros, wzb=zeros, alat=lin @ np.cross(up0, fwd))
    tracker = StepTracker(h)
    steps = tracker.feed(cands, weak) + tracker.close()
    return [float(grid[s.i]) for s in steps]
