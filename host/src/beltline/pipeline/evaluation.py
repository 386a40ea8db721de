"""Scoring the pipeline against labelled data (used by the tests and the benchmarks).

Heel strikes follow gaitmap's evaluation practice (Küderle et al., gaitmap): a detected event
matches a reference event of the same kind within an explicit tolerance, one to one, and
precision, recall and F1 are reported per tolerance. The stance side is scored over the matched
strikes that were given a side (``unknown`` is counted apart, as the share left undecided).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from beltline.pipeline.episodes import Episode

TOLERANCE_S = 0.1  # a detected heel strike matches a reference one this close
TOLERANCES_S = (0.05, 0.1, 0.15)


def match_episodes(found: list[Episode], labels: list[tuple[str, str, float, float]],
                   kind: str) -> tuple[int, int, int, list[float]]:
    """(tp, fp, fn, onset errors) for one kind: a label is found by an overlapping detection
    of the same kind and side; each detection counts once."""
    dets = [e for e in found if e.kind == kind]
    labs = [lab for lab in labels if lab[0] == kind]
    used: set[int] = set()
    tp, onsets = 0, []
    for _, side, a, b in labs:
        hit = [i for i, e in enumerate(dets) if e.side == side and e.start_s < b
               and e.end_s > a]
        if hit:
            tp += 1
            onsets.append(dets[hit[0]].start_s - a)
            used.update(hit)
    return tp, len(dets) - len(used), len(labs) - tp, onsets


def match_strikes(det: Sequence[float], truth: Sequence[float],
                  tolerance_s: float) -> list[tuple[int, int]]:
    """One-to-one matches (index in ``truth``, index in ``det``): every pair closer than the
    tolerance, closest first."""
    d = np.asarray(det, float)
    pairs = []
    for i, h in enumerate(truth):
        if not len(d):
            break
        lo, hi = np.searchsorted(d, [h - tolerance_s, h + tolerance_s + 1e-12])
        for j in range(int(lo), int(hi)):
            pairs.append((abs(float(d[j]) - h), i, j))
    pairs.sort()
    used_t: set[int] = set()
    used_d: set[int] = set()
    out = []
    for _, i, j in pairs:
        if i not in used_t and j not in used_d:
            used_t.add(i)
            used_d.add(j)
            out.append((i, j))
    return sorted(out)


@dataclass
class StrikeScore:
    """Heel-strike scores over any number of recordings (``add`` one at a time)."""

    tolerances_s: tuple[float, ...] = TOLERANCES_S
    n_truth: int = 0
    n_det: int = 0
    tp: dict[float, int] = field(default_factory=dict)
    side_right: int = 0
    side_wrong: int = 0
    side_unknown: int = 0
    offsets_s: list[float] = field(default_factory=list)
    where_n: dict[str, int] = field(default_factory=dict)
    where_hit: dict[str, int] = field(default_factory=dict)
    trials: int = 0

    def add(self, det: Sequence[tuple[float, str]], truth: Sequence[tuple[float, str]],
            where: Sequence[str] | None = None) -> None:
        """``det``/``truth``: (t, side) sorted by time; ``where`` a tag per truth strike
        ("turn", "edge", "straight") for the recall by place (at ``TOLERANCE_S``)."""
        self.trials += 1
        dt = [t for t, _ in det]
        tt = [t for t, _ in truth]
        self.n_truth += len(tt)
        self.n_det += len(dt)
        for tol in self.tolerances_s:
            self.tp[tol] = self.tp.get(tol, 0) + len(match_strikes(dt, tt, tol))
        pairs = match_strikes(dt, tt, TOLERANCE_S)
        hit = {i for i, _ in pairs}
        for i, j in pairs:
            self.offsets_s.append(dt[j] - tt[i])
            side = det[j][1]
            if side not in ("left", "right"):
                self.side_unknown += 1
            elif side == truth[i][1]:
                self.side_right += 1
            else:
                self.side_wrong += 1
        for i, tag in enumerate(where or []):
            self.where_n[tag] = self.where_n.get(tag, 0) + 1
            self.where_hit[tag] = self.where_hit.get(tag, 0) + (i in hit)

    def prf(self, tol: float) -> tuple[float, float, float]:
        tp = self.tp.get(tol, 0)
        p = tp / self.n_det if self.n_det else 1.0
        r = tp / self.n_truth if self.n_truth else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"trials": self.trials, "heel_strikes": self.n_truth,
                                  "detected": self.n_det}
        for tol in self.tolerances_s:
            p, r, f = self.prf(tol)
            ms = round(tol * 1000)
            out[f"precision_{ms}ms"], out[f"recall_{ms}ms"], out[f"f1_{ms}ms"] = (
                round(p, 3), round(r, 3), round(f, 3))
        given = self.side_right + self.side_wrong
        matched = given + self.side_unknown
        out["side_accuracy"] = round(self.side_right / given, 3) if given else None
        out["side_given_share"] = round(given / matched, 3) if matched else None
        out["side_unknown_share"] = round(self.side_unknown / matched, 3) if matched else None
        out["offset_ms_median"] = round(1000 * statistics.median(self.offsets_s), 1) \
            if self.offsets_s else None
        for tag in sorted(self.where_n):
            out[f"recall_{tag}"] = round(self.where_hit[tag] / self.where_n[tag], 3)
        return out
