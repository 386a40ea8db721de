"""Evidence for the episode detectors: one unit per single-leg stance (hip drop, hip hike) and
per whole second of posture (tilt, standing obliquity).

A stance is judged against normal as well as against the wearer (``Settings``): its swing-side
drop (measured against the pelvis's level at its own heel strikes, so it needs no neutral)
against the healthy band, against the other leg's recent stances (a drop present from the
first step: chronic, unilateral) and against the wearer's own drop in their first normal walk
(a drop that grows: fatigue); its swing-side rise in mid-stance against the hike threshold. Only
steps whose side is confident and that do not turn are evidence.

Posture is judged only against a neutral that is quiet upright standing (``Calibration.
neutral_is_standing``): a neutral found while walking or in an unclear posture raises no tilt
or obliquity episode. The walking tilt reference (the first walk's mean tilt) is needed before
posture seconds become evidence; until then they are held, then released in order.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from math import isfinite

import numpy as np

from beltline.pipeline.activity import ACTIVITY_NAMES
from beltline.pipeline.calibration import Calibration
from beltline.pipeline.episodes import Detectors, Episode
from beltline.pipeline.gait import Step, _median
from beltline.pipeline.settings import Settings
from beltline.pipeline.signals import RATE_HZ

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvidenceParams:
    """- ``min_reference_steps`` (3): first-walk stances of a side needed for its own
      reference; fewer and ``default_reference_deg`` (4.0, the middle of the healthy swing-side
      drop, Smith et al. 2002: obliquity range 7-9° per stride) is reported.
    - ``baseline_steps`` (12): straight stances per side that make the wearer's own drop
      reference (their first walking; used only if it looks healthy).
    - ``evidence_stances`` (5): a stance is judged by the median of its side's last stances
      (itself included) and compared with the median of the other leg's last ones.
    - ``other_leg_steps`` (8) / ``other_leg_min`` (3): the recent stances kept per side, and
      how many of the other leg's are needed for the comparison.
    - ``walking_tilt_limit_deg`` (10): the walking tilt reference is kept within this.
    - ``second_min_fraction`` (0.5): a second needs data for at least this share to count.
    - ``second_majority`` (0.7): a second whose activity is less uniform is "other" (a
      transition)."""

    min_reference_steps: int = 3
    default_reference_deg: float = 4.0
    baseline_steps: int = 12
    evidence_stances: int = 5
    other_leg_steps: int = 8
    other_leg_min: int = 3
    walking_tilt_limit_deg: float = 10.0
    second_min_fraction: float = 0.5
    second_majority: float = 0.7


class PostureSeconds:
    """Blocks of activity gathered into whole seconds: (start grid index, activity, mean tilt,
    mean obliquity). The blocks' activity comes as codes into ``ACTIVITY_NAMES``."""

    def __init__(self, blocks_per_s: int, params: EvidenceParams) -> None:
        self.per = blocks_per_s
        self.params = params
        self._idx: int | None = None
        self._acts: list[int] = []
        self._p: list[float] = []
        self._r: list[float] = []

    def add(self, b0: int, act: np.ndarray, pm: np.ndarray, rm: np.ndarray,
            valid: np.ndarray) -> list[tuple[int, str, float, float]]:
        out = []
        acts, ps, rs, oks = act.tolist(), pm.tolist(), rm.tolist(), valid.tolist()
        n, per = len(acts), self.per
        j = 0
        while j < n:  # one pass per second, not per block
            sec = (b0 + j) // per
            if sec != self._idx:
                if self._idx is not None:
                    out += self.flush()
                self._idx = sec
            e = min(n, (sec + 1) * per - b0)
            if all(oks[j:e]):
                self._acts += acts[j:e]
                self._p += ps[j:e]
                self._r += rs[j:e]
            else:
                for m in range(j, e):
                    if oks[m]:
                        self._acts.append(acts[m])
                        self._p.append(ps[m])
                        self._r.append(rs[m])
            j = e
        return out

    def flush(self) -> list[tuple[int, str, float, float]]:
        sec, acts, ps, rs = self._idx, self._acts, self._p, self._r
        self._acts, self._p, self._r = [], [], []
        if sec is None or len(acts) < self.params.second_min_fraction * self.per:
            return []  # too little data: no evidence either way
        # (a tie never reaches the majority, so which of two equal counts wins never matters)
        act = max(set(acts), key=acts.count)
        name = ACTIVITY_NAMES[act]
        if acts.count(act) < self.params.second_majority * len(acts):
            name = "other"  # a transition inside this second
        return [(sec * int(RATE_HZ), name, sum(ps) / len(ps), sum(rs) / len(rs))]


class Evidence:
    """Steps and posture seconds into the detectors."""

    def __init__(self, settings: Settings, detectors: Detectors,
                 params: EvidenceParams | None = None) -> None:
        self.settings = settings
        self.detectors = detectors
        self.params = params or EvidenceParams()
        self.refs_set = False
        self._steps: list[Step] = []
        self._seconds: list[tuple[float, str, float, float]] = []
        p = self.params
        # per side: (peak drop, mid-stance drop, hike) of the recent stances; (peak, mid) of the
        # first ones
        self._recent = {s: deque[tuple[float, float, float]](maxlen=p.other_leg_steps)
                        for s in ("left", "right")}
        self._first = {s: list[tuple[float, float]]() for s in ("left", "right")}
        # the wearer's own ((peak left, right), (mid-stance left, right)) from the first walks
        self.baseline: tuple[tuple[float, float], tuple[float, float]] | None = None

    def reset(self) -> None:
        """A new calibration: the walking references are found again."""
        self.refs_set = False

    def references(self, cal: Calibration, walk: tuple[int, int]) -> Calibration:
        """``cal`` with the wearer's first-walk references from the held steps of the
        calibration walk (grid indices ``walk``); the held seconds become evidence."""
        s, p = self.settings, self.params
        in_walk = [x for x in self._steps if walk[0] <= x.i <= walk[1] and x.confident
                   and x.turn_dps < s.turn_rate_dps]
        drops = []
        for side in ("left", "right"):
            d = [x.drop_deg for x in in_walk if x.side == side and np.isfinite(x.drop_deg)]
            drops.append(float(np.median(d)) if len(d) >= p.min_reference_steps
                         else p.default_reference_deg)
        tilts = [x.tilt_deg for x in self._steps if walk[0] <= x.i <= walk[1]
                 and np.isfinite(x.tilt_deg) and x.turn_dps < s.turn_rate_dps]
        lim = p.walking_tilt_limit_deg
        self.refs_set = True
        return replace(cal, walk_drop_deg=(drops[0], drops[1]),
                       walk_tilt_deg=float(np.clip(np.median(tilts), -lim, lim)) if tilts
                       else 0.0)

    def held_seconds(self, cal: Calibration) -> list[Episode]:
        held, self._seconds = self._seconds, []
        out: list[Episode] = []
        for args in held:
            out += self.posture(cal, *args)
        return out

    def hold_steps(self, steps: list[Step]) -> None:
        self._steps += steps

    def stances(self, cal: Calibration, t_of: Callable[[int], float]) -> list[Episode]:
        """The held steps as hip-drop and hip-hike evidence."""
        out: list[Episode] = []
        s = self.settings
        for x in self._steps:
            if not x.confident or not isfinite(x.drop_deg) or x.turn_dps >= s.turn_rate_dps:
                continue
            t0, t1 = t_of(x.i), t_of(x.end_i)
            self._learn(x)
            out += self.detectors.stance("hip_drop", x.side, t0, t1, x.drop_deg,
                                         self._drop_hit(x))
            if isfinite(x.hike_deg):
                out += self.detectors.stance("hip_hike", x.side, t0, t1, x.hike_deg,
                                             x.hike_deg >= s.hip_hike_deg)
        self._steps = []
        return out

    def _drop_hit(self, x: Step) -> bool:
        """Whether this side's recent stances (their median, so one odd step decides
        nothing) drop beyond normal, beyond the other leg's or beyond the wearer's own first
        walk (DESIGN.md §4), at the peak (the loading response) or over mid-stance (single
        support, where a Trendelenburg sign is held)."""
        s = self.settings
        return self._beyond(x, 0, s.hip_drop_floor_deg, s.hip_drop_normal_max_deg,
                            s.hip_drop_asymmetry_deg, s.hip_drop_deg) or \
            self._beyond(x, 1, s.hip_drop_mid_floor_deg, s.hip_drop_mid_normal_max_deg,
                         s.hip_drop_mid_asymmetry_deg, s.hip_drop_mid_asymmetry_deg)

    def _beyond(self, x: Step, m: int, floor: float, normal_max: float, asym: float,
                own: float) -> bool:
        p = self.params
        mine = [v[m] for v in self._recent[x.side]][-p.evidence_stances:]
        d = _median(mine) if mine else float("nan")
        if not d >= floor:
            return False
        if d >= normal_max:
            return True
        recent = list(self._recent["right" if x.side == "left" else "left"])[-p.evidence_stances:]
        other = [v[m] for v in recent]
        # the other leg is the yardstick only while it drops normally itself (a hike there
        # would make a normal drop on this side look large)
        hiking = len(recent) and _median([v[2] for v in recent]) >= self.settings.hip_hike_deg
        if len(other) >= p.other_leg_min and not hiking and d - _median(other) >= asym:
            return True
        if self.baseline is not None:
            ref = self.baseline[m][0 if x.side == "left" else 1]
            if d - ref >= own:
                return True
        return False

    def _learn(self, x: Step) -> None:
        """The other leg's recent stances, and the wearer's own reference from their first
        stances, kept only if they look healthy (within the reference range, no asymmetry)."""
        s, p = self.settings, self.params
        mid = x.mid_drop_deg if isfinite(x.mid_drop_deg) else x.drop_deg
        hike = x.hike_deg if isfinite(x.hike_deg) else 0.0
        self._recent[x.side].append((x.drop_deg, mid, hike))
        if self.baseline is not None:
            return
        first = self._first[x.side]
        if len(first) < p.baseline_steps:
            first.append((x.drop_deg, mid))
        lf, rf = self._first["left"], self._first["right"]
        if len(lf) >= p.baseline_steps and len(rf) >= p.baseline_steps:
            pl, pr = (float(np.median([v[0] for v in f])) for f in (lf, rf))
            ml, mr = (float(np.median([v[1] for v in f])) for f in (lf, rf))
            lo, hi = s.hip_drop_reference_min_deg, s.hip_drop_reference_max_deg
            if lo <= pl <= hi and lo <= pr <= hi and abs(pl - pr) < s.hip_drop_asymmetry_deg \
                    and abs(ml - mr) < s.hip_drop_mid_asymmetry_deg:
                self.baseline = ((pl, pr), (ml, mr))
                log.info("the wearer's own swing-side drop: %.1f deg in left stance, %.1f deg "
                         "in right stance", pl, pr)
            else:
                # not healthy from the start: keep judging against normal and the other leg
                inf = float("inf")
                self.baseline = ((inf, inf), (inf, inf))
                log.info("first walking not within the healthy band (drop %.1f / %.1f deg): "
                         "judged against normal and the other leg only", pl, pr)

    def second(self, cal: Calibration | None, t: float, act: str, tilt: float,
               obliquity: float) -> list[Episode]:
        if not self.refs_set or cal is None:
            # the walking tilt reference comes from the calibration walk's steps
            self._seconds.append((t, act, tilt, obliquity))
            return []
        return self.posture(cal, t, act, tilt, obliquity)

    def posture(self, cal: Calibration, t: float, act: str, tilt: float,
                obliquity: float) -> list[Episode]:
        if not cal.neutral_is_standing:
            return []  # posture is judged only against a standing neutral
        ref = cal.walk_tilt_deg if act == "walking" else 0.0
        return self.detectors.second(t, act, tilt - ref, tilt, obliquity)
