"""Calibration: the wearer's neutral and the pelvis axes, from whatever the recording holds.

Why this module is large: the calibrator's decisions (quiet spells, walk runs, forward and
neutral, their confidences, re-estimation when better evidence arrives) share one bounded
buffer of per-second sums; split, each part would reach into the others' state.

- **Forward** (pelvis x) comes from walking, with its sign, from the inverted pendulum of
  walking: the pelvis is lowest and fastest at double support and highest and slowest in
  mid-stance, so forward velocity is in phase with vertical acceleration, i.e. forward
  acceleration correlates with the rate of change of vertical acceleration. The horizontal
  direction ``sum(a_h * d(a_v)/dt)`` is forward. Checked on the shared lower-back walkers: all
  58 trials agree with the sensor's true forward axis within ~15 deg, none reversed. A walk of
  at least ``walk_min_steps`` is used when there is one; otherwise every short walk together.
- **Up** (pelvis z) is the mean "up" direction in the sensor frame over quiet *upright*
  standing: that posture is the wearer's neutral, so obliquity and tilt are zero there (Bugané
  et al. 2014: a sensor's tilt carries a constant offset from how it sits; calibrate a standing
  zero). A recording may start seated, lying, bending or walking, so a quiet spell counts as
  standing only when (a) its posture is within ``stand_tilt_max_deg`` (tilt) and
  ``stand_obliquity_max_deg`` of the walking posture (sitting tilts the pelvis back by 10-30
  deg, lying by ~90; a hip hitched to one side is not a neutral) and (b) it is next to walking
  (within ``adjacent_s``) with no rise or fall of the pelvis in between (a chair seat is
  ~0.45 m below the standing pelvis; Najafi et al. 2002 find postural transitions from the
  trunk's vertical acceleration the same way). Without such standing the neutral is the mean
  posture while walking, with a low confidence, and no posture episode is raised from it.
- **Left** = up x forward (pelvis y), so the frame is right-handed whichever way up the unit is.

The samples wait in the buffer until a good calibration (a long enough walk with quiet upright
standing next to it) is found, or the recording ends, or ``buffer_max_s`` has passed: then the
best there is is taken and everything buffered is analysed with it. Each decision uses only
the data up to the instant it could first be made, so live and batch agree.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass, field

import numpy as np

from beltline.errors import DataError
from beltline.frames import GRAVITY_MS2
from beltline.pipeline.gait import GAIT, GaitParams
from beltline.pipeline.signals import DT, IIR, RATE_HZ, butter2

log = logging.getLogger(__name__)

SEC = int(RATE_HZ)


class CalibrationError(DataError):
    """The data do not allow a calibration (never walked...)."""


@dataclass(frozen=True)
class Calibration:
    """``R`` rotates sensor-frame vectors into the pelvis frame (rows: x forward, y left, z up).
    ``walk_drop_deg`` is the wearer's own swing-side drop (left stance, right stance) in their
    first walk, ``walk_tilt_deg`` their mean tilt while walking; ``stand``/``walk`` the spans
    used (grid seconds). ``neutral_confidence`` (0..1): 1 for quiet upright standing next to a
    walk, lower for a short or lone spell, 0.2 for the walking posture (no standing found);
    ``axes_confidence`` (0..1) how well the walk fixed forward (its length and how the halves
    of it agree); ``neutral_source`` says which."""

    R: np.ndarray
    stand: tuple[float, float] | None
    walk: tuple[float, float]
    walk_drop_deg: tuple[float, float] = (4.0, 4.0)
    walk_tilt_deg: float = 0.0
    note: str = ""
    neutral_confidence: float = 1.0
    axes_confidence: float = 1.0
    neutral_source: str = "standing next to a walk"
    walk_steps: int = 0

    @property
    def neutral_is_standing(self) -> bool:
        """Whether posture episodes may be judged against this neutral."""
        return self.neutral_confidence >= 0.6

    def as_dict(self) -> dict[str, object]:
        return {"R": self.R.round(6).tolist(), "stand_s": self.stand, "walk_s": self.walk,
                "walk_drop_deg": [round(x, 3) for x in self.walk_drop_deg],
                "walk_tilt_deg": round(self.walk_tilt_deg, 3), "note": self.note,
                "neutral_confidence": round(self.neutral_confidence, 2),
                "axes_confidence": round(self.axes_confidence, 2),
                "neutral_source": self.neutral_source, "walk_steps": self.walk_steps}


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if not n > 0:
        raise CalibrationError("degenerate direction while finding the pelvis axes")
    return v / n


def _forward_sum(up0: np.ndarray, up: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """The (unnormalised) inverted-pendulum correlation of one walking stretch."""
    ok = np.isfinite(up).all(axis=1) & np.isfinite(acc).all(axis=1)  # gaps are NaN rows
    up, acc = up[ok], acc[ok]
    if len(up) < RATE_HZ:
        return np.zeros(3)
    g = float(np.median(np.linalg.norm(acc, axis=1)))
    lin = acc - g * up
    a_v = (lin * up).sum(axis=1)
    horiz = lin - np.outer(lin @ up0, up0)
    band = butter2("bandpass", (0.5, 4.0))
    hv = IIR(band)(a_v)
    hh = IIR(band, 3)(horiz)
    c = (hh * np.gradient(hv, 1.0 / RATE_HZ)[:, None]).sum(axis=0)
    return np.asarray(c - up0 * (c @ up0))


def forward_axis(up0: np.ndarray, up: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Forward (unit, sensor frame, horizontal w.r.t. ``up0``) from a walking bout."""
    if np.isfinite(up).all(axis=1).sum() < RATE_HZ:
        raise CalibrationError("too little walking data to find forward")
    return _unit(_forward_sum(up0, up, acc))


def frame(up0: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Rows x (forward), y (left) = z × x, z (up) in sensor coordinates."""
    z = _unit(up0)
    x = _unit(forward - z * (forward @ z))
    y = np.cross(z, x)
    return np.stack([x, y, z])


def angles_deg(R: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Obliquity (roll, + = right side lower) and tilt (pitch, + = anterior) in degrees of the
    sensor-frame up vectors ``up`` (N×3) for the pelvis frame ``R`` (DESIGN.md §3)."""
    u = up @ R.T
    roll = np.degrees(np.arctan2(u[:, 1], u[:, 2]))
    pitch = np.degrees(-np.arcsin(np.clip(u[:, 0], -1.0, 1.0)))
    return roll, pitch


@dataclass(frozen=True)
class CalibrationParams:
    """How the neutral and the axes are found (DESIGN.md §4: quiet upright standing, walking).

    - ``quiet_gyro_rads`` (0.15) / ``quiet_acc_std_ms2`` (0.3): a second is quiet when the mean
      rotation rate and the accelerometer magnitude's spread stay below these.
    - ``stand_min_s`` (2): quiet seconds in a row that may be a standing neutral;
      ``stand_good_s`` (5): enough for full confidence; ``stand_use_s`` (10): the most of a
      spell that is averaged (the part nearest the walk).
    - ``walk_min_steps`` / ``walk_max_steps`` (10, 40): a walk this long finds forward well
      (its first ``walk_max_steps`` are used); ``walk_any_steps`` (3): the shortest walk used
      when there is no longer one.
    - ``adjacent_s`` (4): standing this close to a walk's first or last strike is "next to" it.
    - ``stand_tilt_max_deg`` (10) / ``stand_obliquity_max_deg`` (3): standing's tilt is within
      this of the walk's mean tilt, its obliquity within this of the pelvis's level at the
      walk's heel strikes (double support, where a stance drop has not begun; on the shared
      walkers the walking obliquity is within 0.7 +- 0.9 deg of standing's).
    - ``seat_drop_m`` (0.2): a rise or fall of the pelvis this large between the walk and the
      spell means a sit-down or stand-up in between (a seat is ~0.45 m lower).
    - ``buffer_max_s`` (1800): how long the samples wait for a good calibration.
    - ``guide_stand_s`` (10): how long the guidance asks a person to stand still (the
      protocol's 10 s: more quiet seconds make a steadier neutral than the minimum).
    - ``progress_window_s`` (15): the guidance looks back this far at most (bounded cost).
    """

    quiet_gyro_rads: float = 0.15
    quiet_acc_std_ms2: float = 0.3
    stand_min_s: int = 2
    stand_good_s: int = 5
    stand_use_s: int = 10
    walk_min_steps: int = 10
    walk_max_steps: int = 40
    walk_any_steps: int = 3
    adjacent_s: float = 4.0
    stand_tilt_max_deg: float = 10.0
    stand_obliquity_max_deg: float = 3.0
    seat_drop_m: float = 0.2
    buffer_max_s: float = 1800.0
    guide_stand_s: float = 10.0
    progress_window_s: float = 15.0


@dataclass(frozen=True)
class CalibrationProgress:
    """Where the calibration stands, for a person to read: ``state`` "stand" (keep still:
    ``quiet_s`` of ``quiet_needed_s``), "walk" (walk normally: ``steps`` of ``steps_needed``)
    or "done" (``done_s``: the end of the calibration walk, in the input's clock;
    ``neutral_confidence``/``axes_confidence`` 0..1, ``neutral_source``: where the neutral
    came from)."""

    state: str
    quiet_s: float = 0.0
    quiet_needed_s: float = 10.0
    steps: int = 0
    steps_needed: int = 0
    neutral_confidence: float = 0.0
    axes_confidence: float = 0.0
    neutral_source: str = ""
    done_s: float | None = None


@dataclass
class _Second:
    """Running sums of one second of samples."""

    n: int = 0
    up: np.ndarray = field(default_factory=lambda: np.zeros(3))
    gn: float = 0.0
    an: float = 0.0
    an2: float = 0.0


@dataclass(frozen=True)
class _Spell:
    """Quiet seconds in a row: ``s0`` first second, ``s1`` one past the last."""

    s0: int
    s1: int


class Calibrator:
    """Buffers grid samples until a calibration can be made, then gives the ``Calibration`` and
    the buffered samples back to be analysed with it."""

    def __init__(self, params: CalibrationParams | None = None, gait: GaitParams = GAIT) -> None:
        self.params = params or CalibrationParams()
        self.gait = gait
        self.walk_span = (0, 0)  # grid indices of the calibration walk's first and last strike
        self.decided_at = 0  # grid index from which the last calibration found could be made
        self.reset()

    def reset(self) -> None:
        self._buf: list[tuple[int, np.ndarray, list[int], list[int]]] = []
        self._k0s: list[int] = []
        self._buf_n = 0
        self._secs: dict[int, _Second] = {}
        self._cands: list[int] = []
        self._runs: list[list[int]] = []  # the candidates grouped into runs, as they come
        self._checked: tuple[int, int] = (-1, -1)
        self._pruned = -(10**12)  # samples before this grid index were dropped (watching)
        self._memo: dict[object, Calibration | None] = {}

    @property
    def buffered_s(self) -> float:
        return self._buf_n * DT

    def collect(self, k0: int, up: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
                cands: list[int], weak: list[int]) -> None:
        self._buf.append((k0, np.column_stack([up, acc, gyr]), weak, cands))
        self._k0s.append(k0)
        self._buf_n += len(up)
        self._cands += cands
        lo, hi = self.gait.min_step_s * RATE_HZ, self.gait.max_step_s * RATE_HZ
        for c in cands:
            if self._runs and lo <= c - self._runs[-1][-1] <= hi:
                self._runs[-1].append(c)
            elif not self._runs or c - self._runs[-1][-1] >= lo:
                self._runs.append([c])
        an = np.linalg.norm(acc, axis=1)
        gn = np.linalg.norm(gyr, axis=1)
        sec = (k0 + np.arange(len(up))) // SEC
        cuts = np.flatnonzero(np.diff(sec)) + 1
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(sec)], strict=True):
            s = self._secs.setdefault(int(sec[a]), _Second())
            s.n += b - a
            s.up = s.up + up[a:b].sum(axis=0)
            s.gn += float(gn[a:b].sum())
            s.an += float(an[a:b].sum())
            s.an2 += float((an[a:b] ** 2).sum())

    # --- what the buffer holds -------------------------------------------------------------
    def _quiet(self, s: int) -> bool:
        x = self._secs.get(s)
        if x is None or x.n < 0.9 * RATE_HZ:
            return False
        p = self.params
        var = max(0.0, x.an2 / x.n - (x.an / x.n) ** 2)
        return x.gn / x.n < p.quiet_gyro_rads and var ** 0.5 < p.quiet_acc_std_ms2

    def _spells(self, before: int) -> list[tuple[_Spell, bool]]:
        """Runs of at least ``stand_min_s`` quiet seconds among the seconds before ``before``
        (all complete), each with whether it is known to have ended."""
        out: list[tuple[_Spell, bool]] = []
        start = None
        for s in range(min(self._secs, default=before), before):
            q = self._quiet(s)
            if q and start is None:
                start = s
            elif not q and start is not None:
                if s - start >= self.params.stand_min_s:
                    out.append((_Spell(start, s), True))
                start = None
        if start is not None and before - start >= self.params.stand_min_s:
            out.append((_Spell(start, before), False))
        return out

    def _up_of(self, s0: int, s1: int) -> np.ndarray:
        v = sum((self._secs[s].up for s in range(s0, s1)), np.zeros(3))
        return _unit(np.asarray(v))

    def progress(self) -> CalibrationProgress:
        """For the person being calibrated (cheap: looks at the last seconds only)."""
        p = self.params
        runs = self._runs
        steps = len(runs[-1]) if runs and self._buf and \
            self._last_k() - runs[-1][-1] <= self.gait.max_step_s * RATE_HZ else 0
        run = 0
        if self._secs:
            s = max(self._secs)
            if not self._quiet(s):
                s -= 1  # the current second may be incomplete
            while run < p.progress_window_s and self._quiet(s):
                run += 1
                s -= 1
        # walking now, or stood long enough: walk next (any quiet upright standing next to
        # the walk may be the neutral, so the order is only the guidance's)
        state = "walk" if steps or run >= p.guide_stand_s else "stand"
        return CalibrationProgress(state, float(run), p.guide_stand_s, steps, p.walk_min_steps)

    # --- deciding ----------------------------------------------------------------------------
    def find(self, final: bool) -> Calibration | None:
        """The calibration, once the data allow it (``final``: from whatever there is)."""
        if not self._buf:
            if final:
                raise CalibrationError("no data to calibrate from")
            return None
        p = self.params
        horizon = self._buf[0][0] + int(p.buffer_max_s * RATE_HZ)
        end = self._last_k()
        key = (end // SEC, len(self._cands))
        if not final and key == self._checked and end < horizon:
            return None  # nothing new since the last look: no new second, no new candidate
        self._checked = key
        found = self._earliest(min(end, horizon))
        good = None
        if found is not None:
            self.walk_span = found[2]
            self.decided_at, good = found[0], found[1]
        if good is not None:
            log.info("calibrated from %s (walk of %d steps)", good.neutral_source,
                     good.walk_steps)
            return good
        if final or end >= horizon:
            self.decided_at = min(end, horizon)
            cal = self._best(min(end, horizon))
            log.info("calibrated from %s (%d steps of walking); neutral confidence %.1f",
                     cal.neutral_source, cal.walk_steps, cal.neutral_confidence)
            return cal
        return None

    def _walks(self, end: int) -> list[list[int]]:
        """Runs of strong candidates (the walks), as complete as the data up to ``end`` tell:
        each cut at ``walk_max_steps``; a run still going on is included as it is. While
        watching, only the runs whose samples are still held."""
        out = []
        for r in self._runs:
            if r[-1] < self._pruned:
                continue
            r = [c for c in r[: self.params.walk_max_steps] if c < end]
            if r and r[0] >= self._pruned:
                out.append(r)
        return out

    def _full(self, walk: list[int], end: int) -> list[int]:
        """The whole run a (cut) walk comes from, as far as the data up to ``end`` go: the
        standing next to it is next to the run's ends."""
        for r in self._runs:
            if r[0] == walk[0]:
                return [c for c in r if c < end]
        return walk

    def _complete_at(self, walk: list[int]) -> int:
        """The grid index from which a walk is known whole: its last step plus a step's
        silence, or its ``walk_max_steps``-th strike."""
        if len(walk) >= self.params.walk_max_steps:
            return walk[-1]
        return walk[-1] + int(self.gait.max_step_s * RATE_HZ)

    def _earliest(self, end: int) -> tuple[int, Calibration, tuple[int, int]] | None:
        """The (walk, standing next to it) pair that could be decided earliest, if one can be
        decided with the data before ``end`` (the decision uses only what was known then):
        (decision index, calibration, walk span)."""
        p = self.params
        best: tuple[int, Calibration, tuple[int, int]] | None = None
        walks = [w for w in self._walks(end) if len(w) >= p.walk_min_steps]
        spells = self._spells(end // SEC)
        for w in walks:
            done = self._complete_at(w)
            if done > end:
                continue
            run = self._full(w, end)
            for (sp, ended), side in self._next_to(run, spells):
                if side == "after":
                    if sp.s1 - sp.s0 >= p.stand_good_s:
                        use = _Spell(sp.s0, sp.s0 + p.stand_good_s)
                        ready = use.s1 * SEC
                    elif ended:
                        use, ready = sp, (sp.s1 + 1) * SEC
                    else:
                        continue  # still standing, not long enough yet
                else:
                    use, ready = _Spell(max(sp.s0, sp.s1 - p.stand_use_s), sp.s1), done
                at = max(done, ready)
                if at > end or (best is not None and at >= best[0]):
                    continue
                cal = self._make([w], use, side, run)
                if cal is not None and cal.neutral_confidence >= 0.6:
                    best = (at, cal, (w[0], w[-1]))
        return best

    def _next_to(self, walk: list[int], spells: list[tuple[_Spell, bool]]
                 ) -> list[tuple[tuple[_Spell, bool], str]]:
        gap = int(self.params.adjacent_s * RATE_HZ)
        out = []
        for item in spells:
            sp = item[0]
            if 0 <= walk[0] - sp.s1 * SEC <= gap:
                out.append((item, "before"))
            elif 0 <= sp.s0 * SEC - walk[-1] <= gap:
                out.append((item, "after"))
        return out

    def _best(self, end: int) -> Calibration:
        """Whatever there is: the walks found (a long one, else the short ones together) and
        the most convincing standing."""
        p = self.params
        walks = [w for w in self._walks(end) if len(w) >= p.walk_any_steps]
        if not walks:
            raise CalibrationError(
                f"cannot calibrate: no walking found (at least {p.walk_any_steps} steps in a "
                "row are needed to find forward and left); walk a few steps with the unit on")
        long = [w for w in walks if len(w) >= p.walk_min_steps]
        if long:
            use = [long[0]]
        else:  # the short walks together, up to walk_max_steps steps
            use, n = [], 0
            for w in walks:
                use.append(w)
                n += len(w)
                if n >= p.walk_max_steps:
                    break
        spells = self._spells(end // SEC)
        found: list[Calibration] = []
        for w in walks:
            run = self._full(w, end)
            for (sp, _), side in self._next_to(run, spells):
                part = _Spell(sp.s0, min(sp.s1, sp.s0 + p.stand_use_s)) if side == "after" \
                    else _Spell(max(sp.s0, sp.s1 - p.stand_use_s), sp.s1)
                cal = self._make(use, part, side, run)
                if cal is not None:
                    found.append(cal)
        for sp, _ in spells:  # standing anywhere, judged by its posture alone
            cal = self._make(use, _Spell(sp.s0, min(sp.s1, sp.s0 + p.stand_use_s)), "alone")
            if cal is not None:
                found.append(cal)
        self.walk_span = (use[0][0], use[0][-1])
        if found:
            return max(found, key=lambda c: (c.neutral_confidence,
                                             (c.stand[1] - c.stand[0]) if c.stand else 0.0))
        cal = self._make(use, None, "")
        if cal is None:
            raise CalibrationError("cannot calibrate: the walking found is too short or too "
                                   "broken by gaps to find forward")
        log.warning("calibration: %s", cal.note)
        return cal

    def _make(self, walks: list[list[int]], spell: _Spell | None, side: str,
              near: list[int] | None = None) -> Calibration | None:
        """A calibration from ``walks`` (strike lists) and a standing spell found ``side``
        ("before"/"after" the walk ``near``, or "alone"); None if the spell is not upright
        standing."""
        p = self.params
        memo = (tuple(tuple(w) for w in walks), spell, side, tuple(near or ()))
        if memo in self._memo:
            return self._memo[memo]
        ups, accs = [], []
        for w in walks:
            seg = self._range(w[0], w[-1])
            ups.append(seg[:, 0:3])
            accs.append(seg[:, 3:6])
        up_w = np.vstack(ups)
        ok = np.isfinite(up_w).all(axis=1)
        if ok.sum() < RATE_HZ:
            return None
        walk_up = _unit(up_w[ok].mean(axis=0))
        steps = sum(len(w) for w in walks)
        conf = 0.2
        source = "the walking posture (no quiet upright standing found)"
        stand_span: tuple[float, float] | None = None
        up0 = walk_up
        if spell is not None:
            up_s = self._up_of(spell.s0, spell.s1)
            # the spell's posture in the walking frame: upright standing is close to the
            # walking posture in tilt and closer still in obliquity (walking is symmetric)
            cw = sum((_forward_sum(walk_up, u, a) for u, a in zip(ups, accs, strict=True)),
                     np.zeros(3))
            if not float(np.linalg.norm(cw)) > 0:
                return None
            # obliquity against the pelvis's level at the heel strikes (double support: a
            # drop in one leg's stance does not move it), tilt against the walk's mean
            lag = self.gait.n(self.gait.candidate_lag_s)
            at_strikes = np.vstack([self._range(c - lag, c - lag + 1)[:, 0:3]
                                    for w in walks for c in w])
            at_strikes = at_strikes[np.isfinite(at_strikes).all(axis=1)]
            wf = frame(walk_up, cw)
            roll, pitch = angles_deg(wf, up_s[None, :])
            level = float(angles_deg(wf, _unit(at_strikes.mean(axis=0))[None, :])[0][0]) \
                if len(at_strikes) else 0.0
            if abs(float(pitch[0])) > p.stand_tilt_max_deg or \
                    abs(float(roll[0]) - level) > p.stand_obliquity_max_deg:
                self._memo[memo] = None
                return None  # sitting, lying, bending, leaning: not the neutral
            if side in ("before", "after") and near is not None:
                a, b = (spell.s1 * SEC, near[0]) if side == "before" else \
                    (near[-1], spell.s0 * SEC)
                if abs(self._rise(self._range(a, b))) > p.seat_drop_m:
                    self._memo[memo] = None
                    return None  # a sit-down or stand-up between them
                conf = 1.0 if spell.s1 - spell.s0 >= p.stand_good_s else 0.7
                if len(near) < p.walk_min_steps:
                    conf = min(conf, 0.8)
                source = f"quiet standing {side} a walk"
            else:
                conf = 0.4
                source = "a quiet upright spell away from walking"
            up0 = up_s
            stand_span = (float(spell.s0), float(spell.s1))
        c = sum((_forward_sum(up0, u, a) for u, a in zip(ups, accs, strict=True)), np.zeros(3))
        if not float(np.linalg.norm(c)) > 0:
            return None
        R = frame(up0, c)
        axes = self._axes_confidence(up0, ups, accs, steps)
        w0, w1 = walks[0][0], walks[-1][-1]
        note = "" if conf >= 0.6 else ("no quiet standing found that is upright and next to "
                                       "walking: the neutral is " + (
                                           "the mean posture while walking"
                                                        if spell is None else
                                                        "a quiet upright spell") +
                                       "; no posture episodes are judged from it")
        cal = Calibration(R, stand_span, (float(w0 * DT), float(w1 * DT)), note=note,
                          neutral_confidence=conf, axes_confidence=axes,
                          neutral_source=source, walk_steps=steps)
        self._memo[memo] = cal
        return cal

    def _axes_confidence(self, up0: np.ndarray, ups: list[np.ndarray], accs: list[np.ndarray],
                         steps: int) -> float:
        """How well forward is fixed: the walk's length, and whether its two halves agree."""
        p = self.params
        up_all, acc_all = np.vstack(ups), np.vstack(accs)
        half = len(up_all) // 2
        a = _forward_sum(up0, up_all[:half], acc_all[:half])
        b = _forward_sum(up0, up_all[half:], acc_all[half:])
        na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
        agree = float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0
        return round(float(np.clip(min(1.0, steps / p.walk_min_steps) * max(agree, 0.0), 0, 1)),
                     2)

    @staticmethod
    def _rise(seg: np.ndarray) -> float:
        """How far the pelvis rose (m) over the samples ``seg`` ([up acc gyr] rows; still or
        at a heel strike at both ends: the vertical velocity taken as zero there)."""
        if len(seg) < 2 or not np.isfinite(seg[:, :6]).all():
            return 0.0
        up, acc = seg[:, 0:3], seg[:, 3:6]
        a = (acc * up).sum(axis=1) - GRAVITY_MS2
        v = np.cumsum(a) * DT
        v -= np.linspace(0.0, v[-1], len(v))
        return float(v.sum() * DT)

    def _range(self, a: int, b: int) -> np.ndarray:
        """The buffered samples of grid indices [a, b) (NaN rows where there are none)."""
        out = np.full((max(b - a, 0), 9), np.nan)
        j = max(0, bisect.bisect_right(self._k0s, a) - 1)
        for k0, arr, _, _ in self._buf[j:]:
            if k0 >= b:
                break
            lo, hi = max(a, k0), min(b, k0 + len(arr))
            if lo < hi:
                out[lo - a: hi - a] = arr[lo - k0: hi - k0]
        return out

    # --- watching for better evidence once calibrated ------------------------------------
    def better(self, current: Calibration) -> tuple[int, Calibration] | None:
        """While watching (after the calibration): a calibration from a walk with quiet
        upright standing next to it found since, if it is more confident than ``current``,
        and the grid index from which it applies (the next whole second after it could first
        be decided, so live and batch switch at the same sample)."""
        if not self._buf:
            return None
        end = self._last_k()
        key = (end // SEC, len(self._cands))
        if key == self._checked:
            return None
        self._checked = key
        found = self._earliest(end)
        if found is None:
            return None
        at, cal, _ = found
        gain = cal.neutral_confidence - current.neutral_confidence
        if gain < 0.05 and not (cal.axes_confidence >= current.axes_confidence + 0.2
                                and gain >= 0):
            return None
        switch = -(-at // SEC) * SEC
        self.prune(switch, forget=True)
        self._checked = (-1, -1)  # look again at once: what is left may be better still
        self.decided_at = switch
        return switch, cal

    def prune(self, before: int, forget: bool = False) -> None:
        """Drop the samples (and quiet seconds) before grid index ``before``, and with them the
        walks that began before it (``forget``: their evidence has been used)."""
        keep = [i for i, (k0, arr, _, _) in enumerate(self._buf) if k0 + len(arr) > before]
        if keep and keep[0] > 0:
            self._buf = self._buf[keep[0]:]
            self._k0s = self._k0s[keep[0]:]
        elif not keep:
            self._buf, self._k0s = [], []
        self._buf_n = sum(len(a) for _, a, _, _ in self._buf)
        for sec in [x for x in self._secs if x * SEC < before - SEC]:
            del self._secs[sec]
        self._pruned = max(self._pruned, before)
        self._memo = {k: v for k, v in self._memo.items()
                      if not (isinstance(k, tuple) and k[0] and k[0][0][0] < self._pruned)}

    def drain(self) -> list[tuple[int, np.ndarray, list[int], list[int]]]:
        """The buffered chunks ``(k0, [up acc gyr], weak, candidates)``, oldest first."""
        buf = self._buf
        self.reset()
        return buf

    def _last_k(self) -> int:
        k0, arr, _, _ = self._buf[-1]
        return k0 + len(arr)

def _runs(cands: list[int], gait: GaitParams) -> list[list[int]]:
    """Candidates grouped into runs of plausible steps."""
    lo, hi = gait.min_step_s * RATE_HZ, gait.max_step_s * RATE_HZ
    runs: list[list[int]] = []
    for c in cands:
        if runs and lo <= c - runs[-1][-1] <= hi:
            runs[-1].append(c)
        elif runs and c - runs[-1][-1] < lo:
            continue
        else:
            runs.append([c])
    return runs


class PelvisSignals:
    """Per-sample signals in the calibrated pelvis frame: obliquity and tilt (deg) and the
    channels the gait and activity stages read (forward acceleration low-passed, roll rate,
    turning rate and its 0.5-2 Hz band, lateral acceleration, rotation magnitude, vertical
    linear acceleration)."""

    def __init__(self, gait: GaitParams = GAIT) -> None:
        self._aap_lp = IIR(butter2("lowpass", gait.forward_lowpass_hz))
        self._wz_bp = IIR(butter2("bandpass", (0.5, 2.0)))  # McCamley et al. 2012's yaw band

    def reset(self) -> None:
        self._aap_lp.reset()
        self._wz_bp.reset()

    def __call__(self, R: np.ndarray, up: np.ndarray, acc: np.ndarray,
                 gyr: np.ndarray) -> dict[str, np.ndarray]:
        roll, pitch = angles_deg(R, up)
        lin = acc - GRAVITY_MS2 * up
        wz = (gyr * up).sum(axis=1)
        return {"roll": roll, "pitch": pitch, "aap": self._aap_lp(lin @ R[0]), "wx": gyr @ R[0],
                "wz": wz, "wzb": self._wz_bp(wz), "alat": lin @ R[1],
                "gn": np.sqrt(np.add.reduce(gyr * gyr, axis=1)),  # = np.linalg.norm's steps
                "av": (lin * up).sum(axis=1)}
