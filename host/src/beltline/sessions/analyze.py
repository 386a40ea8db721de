"""``beltline analyze``: a recorded raw IMU file through the pipeline, into CSV files."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from beltline.pipeline import Pipeline
from beltline.pipeline.episodes import Episode
from beltline.pipeline.output import Output
from beltline.pipeline.resample import Gap
from beltline.pipeline.settings import Settings
from beltline.records import SampleBlock
from beltline.sessions import rawcsv

log = logging.getLogger(__name__)


@dataclass
class Result:
    """Everything one analysis produced; ``samples`` at the input's own sample times."""

    raw: rawcsv.Raw
    out: Output
    pipeline: Pipeline
    obliquity_deg: np.ndarray
    tilt_deg: np.ndarray
    activity: np.ndarray

    @property
    def episodes(self) -> list[Episode]:
        return self.out.episodes

    @property
    def steps(self) -> list[tuple[float, str]]:
        return [(t, side) for t, side, _ in self.out.steps]

    @property
    def gaps(self) -> list[Gap]:
        return self.out.gaps

    @property
    def samples(self) -> SampleBlock:
        """Per input sample (the file's own instants)."""
        return SampleBlock(self.raw.t, self.obliquity_deg, self.tilt_deg, self.activity)


def run(raw: rawcsv.Raw, settings: Settings | None = None, chunk: int | None = None) -> Result:
    """Analyse a whole recording. ``chunk`` feeds it in pieces of that many samples, as a live
    stream would (the result is the same)."""
    p = Pipeline(settings)
    out = Output()
    n = len(raw.t)
    step = chunk or n
    for i in range(0, n, step):
        out.extend(p.push(raw.t[i: i + step], raw.acc[i: i + step], raw.gyr[i: i + step]))
    out.extend(p.finish())
    obl, tilt, act = at_input_times(raw.t, out)
    return Result(raw, out, p, obl, tilt, act)


def at_input_times(t: np.ndarray, out: Output) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 100 Hz grid results at the input's sample instants (angles interpolated between
    the two neighbouring grid samples, activity from the nearest; NaN and empty where the
    input lies in a gap)."""
    if len(out.t) == 0:
        return np.full(len(t), np.nan), np.full(len(t), np.nan), np.full(len(t), "", "<U8")
    j = np.clip(np.searchsorted(out.t, t), 1, len(out.t) - 1)
    t0, t1 = out.t[j - 1], out.t[j]
    near = np.where(np.abs(t - t0) <= np.abs(t1 - t), j - 1, j)
    ok = np.abs(out.t[near] - t) <= 0.011  # a grid sample within one grid step
    w = np.clip((t - t0) / np.maximum(t1 - t0, 1e-9), 0.0, 1.0)
    adjacent = (t1 - t0) < 0.0105
    def lerp(a: np.ndarray) -> np.ndarray:
        v = np.where(adjacent, a[j - 1] * (1 - w) + a[j] * w, a[near])
        return np.where(ok, v, np.nan)
    return lerp(out.obliquity_deg), lerp(out.tilt_deg), np.where(ok, out.activity[near], "")
