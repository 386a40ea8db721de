"""Evidence for the episode detectors: one unit per single-leg stance (hip drop) and per whole
second of posture (tilt, standing obliquity), measured against the wearer's own references.

The references come from the calibration walk: each side's typical swing-side drop (kept
inside the healthy range, ``Settings.hip_drop_reference_*``) and the mean walking tilt. Until
that walk's steps are all in, evidence is held, then released in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from beltline.pipeline.calibration import Calibration
from beltline.pipeline.episodes import Detectors, Episode
from beltline.pipeline.gait import Step
from beltline.pipeline.settings import Settings
from beltline.pipeline.signals import RATE_HZ


@dataclass(frozen=True)
class EvidenceParams:
    """- ``min_reference_steps`` (3): calibration-walk stances of a side needed for its own
      reference; fewer and ``default_reference_deg`` (4.0, the middle of the healthy swing-side
      drop, Smith et al. 2002: obliquity range 7-9° per stride) is used.
    - ``walking_tilt_limit_deg`` (10): the walking tilt reference is kept within this.
    - ``second_min_fraction`` (0.5): a second needs data for at least this share to count.
    - ``second_majority`` (0.7): a second whose activity is less uniform is "other" (a
      transition)."""

    min_reference_steps: int = 3
    default_reference_deg: float = 4.0
    walking_tilt_limit_deg: float = 10.0
    second_min_fraction: float = 0.5
    second_majority: float = 0.7


class PostureSeconds:
    """Blocks of activity gathered into whole seconds: (start grid index, activity, mean tilt,
    mean obliquity)."""

    def __init__(self, blocks_per_s: int, params: EvidenceParams) -> None:
        self.per = blocks_per_s
        self.params = params
        self._idx: int | None = None
        self._acts: list[str] = []
        self._p: list[float] = []
        self._r: list[float] = []

    def add(self, b0: int, act: np.ndarray, pm: np.ndarray, rm: np.ndarray,
            valid: np.ndarray) -> list[tuple[int, str, float, float]]:
        out = []
        acts, ps, rs, oks = act.tolist(), pm.tolist(), rm.tolist(), valid.tolist()
        for j in range(len(acts)):
            sec = (b0 + j) // self.per
            if sec != self._idx:
                if self._idx is not None:
                    out += self.flush()
                self._idx = sec
            if oks[j]:
                self._acts.append(acts[j])
                self._p.append(ps[j])
                self._r.append(rs[j])
        return out

    def flush(self) -> list[tuple[int, str, float, float]]:
        sec, acts, ps, rs = self._idx, self._acts, self._p, self._r
        self._acts, self._p, self._r = [], [], []
        if sec is None or len(acts) < self.params.second_min_fraction * self.per:
            return []  # too little data: no evidence either way
        act = max(set(acts), key=acts.count)
        if acts.count(act) < self.params.second_majority * len(acts):
            act = "other"  # a transition inside this second
        return [(sec * int(RATE_HZ), act, sum(ps) / len(ps), sum(rs) / len(rs))]


class Evidence:
    """Steps and posture seconds into the detectors, once the references are set."""

    def __init__(self, settings: Settings, detectors: Detectors,
                 params: EvidenceParams | None = None) -> None:
        self.settings = settings
        self.detectors = detectors
        self.params = params or EvidenceParams()
        self.refs_set = False
        self._steps: list[Step] = []
        self._seconds: list[tuple[float, str, float, float]] = []

    def reset(self) -> None:
        """A new calibration: the references are found again."""
        self.refs_set = False

    def references(self, cal: Calibration, walk: tuple[int, int]) -> Calibration:
        """``cal`` with the wearer's references from the held steps of the calibration walk
        (grid indices ``walk``); the held seconds become evidence."""
        s, p = self.settings, self.params
        in_walk = [x for x in self._steps if walk[0] <= x.i <= walk[1]
                   and x.turn_dps < s.turn_rate_dps and np.isfinite(x.drop_deg)]
        drops = []
        for side in ("left", "right"):
            d = [x.drop_deg for x in in_walk if x.side == side]
            drops.append(float(np.median(d)) if len(d) >= p.min_reference_steps
                         else p.default_reference_deg)
        lo, hi = s.hip_drop_reference_min_deg, s.hip_drop_reference_max_deg
        tilts = [x.tilt_deg for x in in_walk if np.isfinite(x.tilt_deg)]
        lim = p.walking_tilt_limit_deg
        self.refs_set = True
        return replace(cal, walk_drop_deg=(float(np.clip(drops[0], lo, hi)),
                                           float(np.clip(drops[1], lo, hi))),
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
        """The held steps as hip-drop evidence (turning steps are not evidence)."""
        out: list[Episode] = []
        ref = cal.walk_drop_deg
        turn = self.settings.turn_rate_dps
        for x in self._steps:
            if not np.isfinite(x.drop_deg) or x.turn_dps >= turn:
                continue
            r = ref[0] if x.side == "left" else ref[1]
            out += self.detectors.stance(x.side, t_of(x.i), t_of(x.end_i), x.drop_deg - r,
                                         x.drop_deg)
        self._steps = []
        return out

    def second(self, cal: Calibration | None, t: float, act: str, tilt: float,
               obliquity: float) -> list[Episode]:
        if not self.refs_set or cal is None:
            # the walking tilt reference comes from the calibration walk's steps
            self._seconds.append((t, act, tilt, obliquity))
            return []
        return self.posture(cal, t, act, tilt, obliquity)

    def posture(self, cal: Calibration, t: float, act: str, tilt: float,
                obliquity: float) -> list[Episode]:
        ref = cal.walk_tilt_deg if act == "walking" else 0.0
        return self.detectors.second(t, act, tilt - ref, tilt, obliquity)
