"""The rows a session is made of, as the pipeline gives them out and the store, the exports,
the dashboard and the reports read them: one shape each, from the pipeline to the page.

    SampleBlock  per-sample t_s, obliquity_deg, tilt_deg, activity (arrays)
    StepRow      a heel strike and the single-leg stance that follows it
    EpisodeRow   a sustained episode
    GapRow       a span with no data
    Rows         all of them, what one pipeline call made final or what a session holds
    RawBlock     raw IMU samples as they arrived, on the device's tick clock
    RawFormat    how a session's raw samples are kept (tick rate, quantisation)

Units and signs: DESIGN.md §3 (s, degrees; obliquity + = right side lower, tilt + =
anterior). Column names below are the CSV headers and the store's columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SAMPLE_COLUMNS = ("t_s", "obliquity_deg", "tilt_deg", "activity")
STEP_COLUMNS = ("t_s", "side", "drop_deg", "tilt_deg", "range_deg", "cadence_spm", "hike_deg")
SIDES = ("left", "right", "unknown")  # a step's side: "unknown" when the cues disagree
EPISODE_COLUMNS = ("kind", "side", "start_s", "end_s", "peak_deg", "mean_deg", "activity",
                   "steps")
GAP_COLUMNS = ("start_s", "end_s")


@dataclass(frozen=True)
class StepRow:
    """``side`` is the striking foot = the stance leg of the stance that follows ("unknown"
    when the side cues disagree: then the stance measures are NaN); ``drop_deg`` the swing
    side's peak drop in that stance below the pelvis's level at the stance's two heel strikes
    (+ = dropped), ``hike_deg`` the swing side's peak rise in mid-stance above that level (+ =
    raised: a hip hike; normally negative), ``tilt_deg`` its mean tilt, ``range_deg`` the
    obliquity range over the stride ending with it, ``cadence_spm`` steps per minute from its
    duration (NaN where unknown)."""

    t_s: float
    side: str
    drop_deg: float = math.nan
    tilt_deg: float = math.nan
    range_deg: float = math.nan
    cadence_spm: float = math.nan
    hike_deg: float = math.nan


@dataclass(frozen=True)
class EpisodeRow:
    """``side``: the stance leg (hip_drop, hip_hike), the lower side (pelvic_obliquity), empty
    for anterior_tilt. ``peak_deg``/``mean_deg`` of the evidence that showed it, ``activity``
    the main activity during it, ``steps`` the stances it spans."""

    kind: str
    side: str
    start_s: float
    end_s: float
    peak_deg: float
    mean_deg: float
    activity: str
    steps: int

    def row(self) -> list[object]:
        """As written to ``episodes.csv``."""
        return [self.kind, self.side, f"{self.start_s:.3f}", f"{self.end_s:.3f}",
                f"{self.peak_deg:.2f}", f"{self.mean_deg:.2f}", self.activity, self.steps]


@dataclass(frozen=True)
class GapRow:
    """No data from ``start_s`` to ``end_s``."""

    start_s: float
    end_s: float

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


@dataclass
class SampleBlock:
    """Per-sample rows as arrays of equal length (activity: strings, "" where unknown)."""

    t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    obliquity_deg: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tilt_deg: np.ndarray = field(default_factory=lambda: np.zeros(0))
    activity: np.ndarray = field(default_factory=lambda: np.zeros(0, "<U8"))

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass
class Rows:
    """A piece of a session, or a whole one."""

    samples: SampleBlock = field(default_factory=SampleBlock)
    steps: list[StepRow] = field(default_factory=list)
    episodes: list[EpisodeRow] = field(default_factory=list)
    gaps: list[GapRow] = field(default_factory=list)


@dataclass(frozen=True)
class RawFormat:
    """How a session's raw samples are stored: ``tick_hz`` device ticks per second (so
    ``t_s = tick / tick_hz``, the device's clock), and the quantisation of the values:
    ``acc_lsb`` m/s² and ``gyr_lsb`` rad/s per count, in ``bits``-bit integers (16 or 32).

    ``wire(rate_hz)`` is the belt unit's own format (``beltline.firmware.wire``): its int16
    counts are kept exactly as they arrived. Imports of other files use ``fine()``: 32-bit
    counts of 1e-4 m/s² and 1e-5 rad/s, far below any MEMS IMU's resolution (an LSM6DSO reads
    6e-4 m/s² and 7.6e-5 rad/s per count at its finest ranges)."""

    tick_hz: float
    acc_lsb: float
    gyr_lsb: float
    bits: int = 16

    @classmethod
    def wire(cls, rate_hz: float) -> RawFormat:
        from beltline.firmware import wire as fw

        return cls(float(rate_hz), fw.ACC_LSB, fw.GYR_LSB, 16)

    @classmethod
    def fine(cls, tick_hz: float) -> RawFormat:
        return cls(float(tick_hz), 1e-4, 1e-5, 32)


@dataclass
class RawBlock:
    """Raw samples in tick order: ``ticks`` (int64, the device's sample clock, unwrapped),
    ``acc`` (N×3, m/s², sensor frame, gravity included), ``gyr`` (N×3, rad/s). ``epoch``
    numbers the device's boots (its tick clock restarts at a reboot)."""

    ticks: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    epoch: int = 0

    def __len__(self) -> int:
        return len(self.ticks)
