"""Which foot struck: several cues from how people walk, each checked against the others.

One sign read from one signal is right for some people and mirrored for others (on another
lab's daily-life recordings a single roll-rate cue named the right leg only about half the time,
DESIGN.md §6), so the side is a vote of cues whose polarity is learned from the data:

- **lat** (the anchor): the pelvis moves toward the stance foot in single stance and is caught
  by the other foot, so between a left heel strike and the next strike its lateral velocity
  changes from leftward to rightward: ``-∫ a_left dt`` over the step is positive for a left
  stance. This is the inverted pendulum of walking in the frontal plane (the centre of mass
  passes over the stance foot, MacKinnon & Winter 1993), a translation rather than a rotation:
  it holds whatever the pelvis's roll pattern, a hip drop or hike, the belt's wobble or where
  on the belt the unit sits, and it needs the strike instants only to within a quarter stride.
  Its polarity follows from the frame (left = up × forward) and is not learned; whether it
  holds in a bout is checked by its own alternation.
- **roll_rate**: the mean roll rate in the first 120 ms of the stance (the pelvis rolls toward
  the swing side as the new stance leg takes the load).
- **yaw**: the band-passed (0.5-2 Hz) rotation rate about the vertical at the strike; the pelvis
  turns with the leading leg (McCamley et al. 2012; Ullrich et al. 2021 combine it with roll).
- **roll**: the mean obliquity over the step (the swing side is lower in a normal stance).

The last three change sign between people (and a strong hip drop or a hike changes the roll
pattern), so their polarity is learned per wearer from the bouts where the anchor alternates
clearly, and per bout: a cue that contradicts the anchor in the current bout is set aside for
it. Each cue votes with its alternation over a window of neighbouring strikes (feet alternate:
the window's cues, sign-flipped every other strike, agree). A window whose anchor and learned
cues point different ways, or whose evidence is weak, gives ``unknown`` rather than a guess.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from math import isfinite

import numpy as np

log = logging.getLogger(__name__)

CUES = ("lat", "roll_rate", "yaw", "roll")
ANCHOR = 0
LEARNED = (1, 2, 3)


@dataclass(frozen=True)
class SideParams:
    """- ``before_steps``/``after_steps`` (6, 3): strikes before/after whose cues vote.
    - ``anchor_min`` (0.5): alternation of the anchor (0..1) from which a window teaches the
      other cues their polarity.
    - ``learn_min_steps`` (8) / ``learn_min_agreement`` (0.25): a cue votes once that many
      windows taught it and it agreed with the anchor by at least this much on average.
    - ``bout_min_steps`` (4): windows of the current bout after which a cue that contradicts
      the anchor there is set aside for the bout.
    - ``decide_min`` (0.3): the combined alternation below which the side is ``unknown``.
    - ``disagree_min`` (0.3): anchor and learned cues both at least this strong and opposite:
      ``unknown``."""

    before_steps: int = 6
    after_steps: int = 3
    anchor_min: float = 0.5
    learn_min_steps: int = 8
    learn_min_agreement: float = 0.25
    bout_min_steps: int = 4
    decide_min: float = 0.3
    disagree_min: float = 0.3


def alternations(cues: np.ndarray | list[list[float]], j: int) -> list[float]:
    """``alternation`` of every column of ``cues`` (strikes × cues) at once (plain Python: the
    window is a handful of numbers, for which numpy's per-call cost dominates)."""
    rows = cues.tolist() if isinstance(cues, np.ndarray) else cues
    out: list[float] = []
    if not rows:
        return out
    par = j % 2
    for col in zip(*rows, strict=True):
        vals = [v for v in col if v == v]
        cnt = len(vals)
        if cnt < 3:
            out.append(float("nan"))
            continue
        mean = sum(vals) / cnt
        num = den = 0.0
        if cnt == len(col):  # no cue missing (the usual case): no test per value
            for m, v in enumerate(col):
                x = v - mean
                num += x if m % 2 == par else -x
                den += abs(x)
        else:
            for m, v in enumerate(col):
                if v == v:
                    x = v - mean
                    num += x if m % 2 == par else -x
                    den += abs(x)
        out.append(num / den if den > 0 else 0.0)
    return out


def alternation(values: np.ndarray, j: int) -> float:
    """How consistently ``values`` (one per strike, NaN = none) alternate in sign around strike
    ``j``'s position: +1 when strike j and every second neighbour are high and the others low,
    -1 the other way round, near 0 for no pattern. The window's mean is removed first (a turn or
    a drift adds the same to every strike)."""
    ok = np.isfinite(values)
    if ok.sum() < 3:
        return float("nan")
    idx = np.flatnonzero(ok)
    x = values[idx] - values[idx].mean()
    s = np.where((idx - j) % 2 == 0, 1.0, -1.0)
    den = float(np.abs(x).sum())
    return float((s * x).sum() / den) if den > 0 else 0.0


class SideVote:
    """The wearer's learned cue polarities and the decision for one strike of a bout."""

    def __init__(self, params: SideParams | None = None) -> None:
        self.params = params or SideParams()
        # plain floats: a few numbers per step, where numpy scalars cost more than they save
        self._acc = [0.0] * len(CUES)  # sum of (cue alternation x anchor sign)
        self._n = [0.0] * len(CUES)
        self.new_bout()

    def new_bout(self) -> None:
        self._bout_acc = [0.0] * len(CUES)
        self._bout_n = [0.0] * len(CUES)
        self.bout_unknown = 0
        self.bout_steps = 0
        self.bout_reason = ""

    def polarity(self, k: int) -> tuple[float, float]:
        """(polarity +1/-1 or 0 while unlearned, weight 0..1) of cue ``k``."""
        if k == ANCHOR:
            return 1.0, 1.0
        p = self.params
        if self._n[k] < p.learn_min_steps:
            return 0.0, 0.0
        mean = self._acc[k] / self._n[k]
        if abs(mean) < p.learn_min_agreement:
            return 0.0, 0.0
        pol = 1.0 if mean > 0 else -1.0
        if self._bout_n[k] >= p.bout_min_steps and self._bout_acc[k] * pol < 0:
            return 0.0, 0.0  # this cue contradicts the anchor in this bout: set aside
        return pol, float(abs(mean))

    def decide(self, cues: np.ndarray | list[list[float]], j: int) -> tuple[str, float]:
        """Side of strike ``j`` from ``cues`` (strikes × CUES, NaN where missing) of its
        window (the caller passes the window, ``j`` indexing into it). Returns (side or
        "unknown", confidence 0..1), and learns from it."""
        p = self.params
        a = alternations(cues, j)
        anchor = a[ANCHOR]
        learned_num = learned_den = 0.0
        for k in LEARNED:
            s, w = self.polarity(k)
            if w > 0 and isfinite(a[k]):
                learned_num += w * s * a[k]
                learned_den += w
        learned = learned_num / learned_den if learned_den else float("nan")
        self.bout_steps += 1
        # learning: the anchor teaches the other cues their sign (per wearer and per bout)
        if isfinite(anchor) and abs(anchor) >= p.anchor_min:
            for k in LEARNED:
                if isfinite(a[k]):
                    v = a[k] * (1.0 if anchor > 0 else -1.0)
                    self._acc[k] += v
                    self._n[k] += 1
                    self._bout_acc[k] += v
                    self._bout_n[k] += 1
        has_anchor = isfinite(anchor)
        has_learned = learned == learned
        if has_anchor and has_learned and abs(anchor) >= p.disagree_min and \
                abs(learned) >= p.disagree_min and anchor * learned < 0:
            return self._unknown("the lateral sway and the roll/yaw cues disagree")
        num = (anchor if has_anchor else 0.0) + (learned_num if has_learned else 0.0)
        den = (1.0 if has_anchor else 0.0) + (learned_den if has_learned else 0.0)
        if den == 0:
            return self._unknown("no usable cue")
        e = num / den
        if abs(e) < p.decide_min:
            return self._unknown("the cues do not alternate clearly")
        return ("left" if e > 0 else "right"), float(min(1.0, abs(e)))

    def _unknown(self, reason: str) -> tuple[str, float]:
        self.bout_unknown += 1
        self.bout_reason = reason
        return "unknown", 0.0

    def end_bout(self, t_s: float) -> None:
        """Log a bout whose sides were (partly) left unknown, then start a new one."""
        if self.bout_unknown:
            log.info("walk at t=%.1f s: stance side unknown for %d of %d steps (%s)", t_s,
                     self.bout_unknown, self.bout_steps, self.bout_reason)
        self.new_bout()

    def learned(self) -> dict[str, float]:
        """Each cue's learned polarity (for diagnostics): +1, -1 or 0 (not yet)."""
        return {name: self.polarity(k)[0] for k, name in enumerate(CUES)}
