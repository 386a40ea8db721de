"""What the pipeline gives out: per-sample angles and activity, steps, episodes, gaps."""

from __future__ import annotations

import numpy as np

from beltline.pipeline.activity import ACTIVITY_NAMES
from beltline.pipeline.episodes import Episode
from beltline.pipeline.gait import Step
from beltline.pipeline.resample import Gap
from beltline.records import Rows, SampleBlock, StepRow

_SAMPLE_FIELDS = ("t", "obliquity_deg", "tilt_deg", "activity_code")
_NAMES = np.array(ACTIVITY_NAMES, "<U8")


def codes(names: np.ndarray) -> np.ndarray:
    """Activity names as int8 codes into ``ACTIVITY_NAMES`` (a name it does not know is an
    error, never a silent "")."""
    names = np.asarray(names).astype(str)
    out = np.zeros(len(names), np.int8)
    for i, a in enumerate(ACTIVITY_NAMES[1:], start=1):
        out[names == a] = i
    unknown = (out == 0) & (names != "")
    if unknown.any():
        raise ValueError(f"unknown activity {names[unknown][0]!r}; expected one of "
                         f"{', '.join(ACTIVITY_NAMES[1:])} or empty")
    return out


class Output:
    """What one ``push`` made final. ``t``/``obliquity_deg``/``tilt_deg``/``activity`` are per
    grid sample (100 Hz, the input's clock); ``steps`` are ``(t_s, side, Step)`` heel strikes.
    Sample arrays are gathered in pieces and joined once, when first read. The activity is
    kept as ``activity_code`` (int8, an index into ``ACTIVITY_NAMES``: 1 byte a sample instead
    of 32 for a ``<U8`` string); ``activity`` gives the names."""

    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {k: [] for k in _SAMPLE_FIELDS}
        self.steps: list[tuple[float, str, Step]] = []
        self.episodes: list[Episode] = []
        self.gaps: list[Gap] = []
        # live only: (t, obliquity, tilt) arrays as soon as computed, before the activity
        self.now: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add_samples(self, t: np.ndarray, obliquity_deg: np.ndarray, tilt_deg: np.ndarray,
                    activity_code: np.ndarray) -> None:
        """``activity_code``: int8 codes, or the names themselves (turned into codes)."""
        activity_code = np.asarray(activity_code)
        if activity_code.dtype.kind in "USO":
            activity_code = codes(activity_code)
        for k, v in zip(_SAMPLE_FIELDS, (t, obliquity_deg, tilt_deg, activity_code),
                        strict=True):
            self._parts[k].append(v)

    def _joined(self, k: str) -> np.ndarray:
        parts = self._parts[k]
        if len(parts) != 1:
            empty = np.zeros(0, dtype=np.int8 if k == "activity_code" else float)
            parts[:] = [np.concatenate(parts) if parts else empty]
        return parts[0]

    @property
    def t(self) -> np.ndarray:
        return self._joined("t")

    @property
    def obliquity_deg(self) -> np.ndarray:
        return self._joined("obliquity_deg")

    @property
    def tilt_deg(self) -> np.ndarray:
        return self._joined("tilt_deg")

    @property
    def activity_code(self) -> np.ndarray:
        return self._joined("activity_code")

    @property
    def activity(self) -> np.ndarray:
        """The activity's names (``activity_code`` decoded)."""
        return _NAMES[self.activity_code]

    def extend(self, other: Output) -> None:
        for k in _SAMPLE_FIELDS:
            self._parts[k] += other._parts[k]
        self.steps += other.steps
        self.episodes += other.episodes
        self.gaps += other.gaps
        self.now += other.now

    def rows(self) -> Rows:
        """What this output made final, as the store and the exports take it."""
        return Rows(SampleBlock(self.t, self.obliquity_deg, self.tilt_deg, self.activity),
                    self.step_rows(), list(self.episodes), list(self.gaps))

    def step_rows(self) -> list[StepRow]:
        return [StepRow(t, side, s.drop_deg, s.tilt_deg, s.range_deg, s.cadence_spm,
                        s.hike_deg) for t, side, s in self.steps]
