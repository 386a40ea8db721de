"""The rows of a test or an exercise session, as the analysis gives them out and the files (and,
later, the store, the report and the page) read them: one shape each.

    TestLeg      one leg of the single-leg stance (Trendelenburg) test, named by the STANCE leg
    TestResult   both legs, the criteria used and how the frame was found
    RepRow       one repetition of an exercise (the columns of ``--reps REPS.csv``)
    SetSummary   a set of one exercise on one side

Units and signs: DESIGN.md §3 (s in the recording's own clock, degrees). A test's drop is the
swing side's drop below level (+ = dropped, - = raised). A rep's ``obliquity_change_deg`` is
+ when the working leg's side of the pelvis rises (a hike); for a two-leg exercise (side
``both``) + = the left side rises (the right side lower, DESIGN.md's obliquity sign).
``tilt_change_deg`` + = anterior; ``rotation_deg`` is the range of rotation within the rep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

VERDICTS = ("positive", "negative", "incomplete")
FLAGS = ("ok", "compensated")
REASONS = ("hike", "drop", "tilt", "rotation")
REASON_SEP = "+"  # several reasons of one rep: "hike+rotation"
REP_COLUMNS = ("rep", "start_s", "end_s", "side", "flag", "reason", "obliquity_change_deg",
               "tilt_change_deg", "rotation_deg")
REP_SIDES = ("left", "right", "both", "")


def _r(x: float, nd: int) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


@dataclass(frozen=True)
class TestLeg:
    """One stance leg. ``verdict`` positive (the swing side's drop beyond the threshold, held),
    negative (level for the whole hold), incomplete (the foot came down too early to judge, or
    no single-leg stance on this leg was found). ``drop_deg`` the mean swing-side drop over the
    hold, ``peak_drop_deg`` its largest 0.5-s value, ``hold_s`` from the foot lifting to its
    first coming down, ``time_to_drop_s`` from the lift to the first held drop beyond the
    threshold (NaN: none), ``sway_deg`` the RMS of the obliquity about its 2-s trend during
    the hold, ``start_s``/``end_s`` the stance found (NaN: none), ``touchdowns`` how often the
    foot touched down before the stance ended."""

    __test__ = False  # a row, not a pytest class
    leg: str
    verdict: str
    drop_deg: float = math.nan
    peak_drop_deg: float = math.nan
    hold_s: float = 0.0
    time_to_drop_s: float = math.nan
    sway_deg: float = math.nan
    start_s: float = math.nan
    end_s: float = math.nan
    touchdowns: int = 0
    words: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"drop_deg": _r(self.drop_deg, 2), "peak_drop_deg": _r(self.peak_drop_deg, 2),
                "hold_s": _r(self.hold_s, 2), "verdict": self.verdict,
                "time_to_drop_s": _r(self.time_to_drop_s, 2), "sway_deg": _r(self.sway_deg, 2),
                "start_s": _r(self.start_s, 3), "end_s": _r(self.end_s, 3),
                "touchdowns": self.touchdowns, "words": self.words}


@dataclass(frozen=True)
class TestResult:
    """Both legs (keys "left", "right") and what they were judged against."""

    __test__ = False

    legs: dict[str, TestLeg]
    threshold_deg: float
    dwell_s: float
    hold_required_s: float
    hold_tolerance_s: float
    threshold_source: str
    frame: str  # how forward and left were found (walk, mounting, motion)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"legs": {k: v.as_dict() for k, v in self.legs.items()},
                "threshold_deg": self.threshold_deg, "dwell_s": self.dwell_s,
                "hold_required_s": self.hold_required_s,
                "hold_tolerance_s": self.hold_tolerance_s,
                "threshold_source": self.threshold_source, "frame": self.frame,
                "notes": list(self.notes)}


@dataclass(frozen=True)
class RepRow:
    """One repetition; ``reason`` the compensations joined by ``REASON_SEP`` ("" when ok)."""

    rep: int
    start_s: float
    end_s: float
    side: str
    flag: str
    reason: str
    obliquity_change_deg: float
    tilt_change_deg: float
    rotation_deg: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(r for r in self.reason.split(REASON_SEP) if r)

    def row(self) -> list[object]:
        """As written to ``REPS.csv``."""
        return [self.rep, f"{self.start_s:.3f}", f"{self.end_s:.3f}", self.side, self.flag,
                self.reason, f"{self.obliquity_change_deg:.2f}", f"{self.tilt_change_deg:.2f}",
                f"{self.rotation_deg:.2f}"]


@dataclass(frozen=True)
class SetSummary:
    """A set: the exercise, the working side, its reps and what was flagged, in words too."""

    exercise: str
    side: str
    reps: int
    compensated: int
    reasons: dict[str, int]
    start_s: float
    end_s: float
    mean_duration_s: float
    words: str

    def as_dict(self) -> dict[str, object]:
        return {"exercise": self.exercise, "side": self.side, "reps": self.reps,
                "compensated": self.compensated, "reasons": dict(self.reasons),
                "start_s": _r(self.start_s, 3), "end_s": _r(self.end_s, 3),
                "mean_duration_s": _r(self.mean_duration_s, 2), "words": self.words}


__all__ = ["FLAGS", "REASONS", "REASON_SEP", "REP_COLUMNS", "REP_SIDES", "VERDICTS", "RepRow",
           "SetSummary", "TestLeg", "TestResult"]
