"""``beltline analyze``: a recorded raw IMU file through the pipeline, into CSV files."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from beltline.pipeline import Pipeline
from beltline.pipeline.activity import ACTIVITY_NAMES
from beltline.pipeline.episodes import Episode
from beltline.pipeline.output import Output
from beltline.pipeline.resample import Gap
from beltline.pipeline.settings import Settings
from beltline.records import SampleBlock, StepRow
from beltline.sessions import rawcsv

log = logging.getLogger(__name__)


class _Results:
    """Episodes, steps (time, side) and gaps of an analysis, read from its pipeline output."""

    out: Output

    @property
    def episodes(self) -> list[Episode]:
        return self.out.episodes

    @property
    def steps(self) -> list[tuple[float, str]]:
        return [(t, side) for t, side, _ in self.out.steps]

    @property
    def gaps(self) -> list[Gap]:
        return self.out.gaps


@dataclass
class Result(_Results):
    """Everything one analysis produced; ``samples`` at the input's own sample times."""

    raw: rawcsv.Raw
    out: Output
    pipeline: Pipeline
    obliquity_deg: np.ndarray
    tilt_deg: np.ndarray
    activity: np.ndarray

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
    o, p, c = _at(t, out.t, out.obliquity_deg, out.tilt_deg, out.activity_code)
    return o, p, _ACT[c]


_ACT = np.array(ACTIVITY_NAMES, "<U8")


def _at(t: np.ndarray, gt: np.ndarray, go: np.ndarray, gp: np.ndarray,
        gc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``at_input_times`` on grid arrays (time, obliquity, tilt, activity code)."""
    if len(gt) == 0:
        return np.full(len(t), np.nan), np.full(len(t), np.nan), np.zeros(len(t), np.int8)
    j = np.clip(np.searchsorted(gt, t), 1, len(gt) - 1)
    t0, t1 = gt[j - 1], gt[j]
    near = np.where(np.abs(t - t0) <= np.abs(t1 - t), j - 1, j)
    ok = np.abs(gt[near] - t) <= 0.011  # a grid sample within one grid step
    w = np.clip((t - t0) / np.maximum(t1 - t0, 1e-9), 0.0, 1.0)
    adjacent = (t1 - t0) < 0.0105
    def lerp(a: np.ndarray) -> np.ndarray:
        v = np.where(adjacent, a[j - 1] * (1 - w) + a[j] * w, a[near])
        return np.where(ok, v, np.nan)
    return lerp(go), lerp(gp), np.where(ok, gc[near], np.int8(0)).astype(np.int8)


SampleSink = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]


class InputTimes:
    """``at_input_times`` as the results come: input instants wait until the grid results
    reach past them, then are given out (time, obliquity, tilt, activity code) and forgotten,
    so memory holds only the pipeline's lag. Gives the same values as ``at_input_times`` over
    the whole recording (a grid sample's neighbours are the last one kept and the new ones)."""

    def __init__(self, sink: SampleSink) -> None:
        self.sink = sink
        self._wait: list[np.ndarray] = []
        self._grid = (np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, np.int8))
        self.given = 0

    def inputs(self, t: np.ndarray) -> None:
        self._wait.append(np.asarray(t, float))

    def results(self, out: Output) -> None:
        if len(out.t) == 0:
            return
        g = self._grid
        self._grid = g = tuple(np.concatenate([a[-1:], b]) for a, b in zip(  # type: ignore
            g, (out.t, out.obliquity_deg, out.tilt_deg, out.activity_code), strict=True))
        if len(g[0]) < 2 or not self._wait:
            return
        wait = np.concatenate(self._wait) if len(self._wait) > 1 else self._wait[0]
        n = int(np.searchsorted(wait, g[0][-1], side="right"))
        self._wait = [wait[n:]] if n < len(wait) else []
        if n:
            self._give(wait[:n])

    def finish(self) -> None:
        if self._wait:
            self._give(np.concatenate(self._wait))
            self._wait = []

    def _give(self, t: np.ndarray) -> None:
        o, p, c = _at(t, *self._grid)
        self.given += len(t)
        self.sink(t, o, p, c)


@dataclass
class Streamed(_Results):
    """What a streamed analysis keeps: everything but the per-sample results (given to the
    sink as they come)."""

    out: Output  # episodes and gaps, and the steps unless a step sink took them
    pipeline: Pipeline
    samples_in: int
    steps_out: int = 0  # steps given out (kept or to the sink)
    steps_unknown: int = 0  # of those, with the side unknown


def run_stream(chunks: Iterable[rawcsv.Raw], settings: Settings | None = None,
               sink: SampleSink | None = None,
               step_sink: Callable[[list[StepRow]], None] | None = None) -> Streamed:
    """``run`` over a recording given in pieces (``rawcsv.read_chunks``) with memory bounded
    by the piece size: the per-sample results at the input's instants go to ``sink`` (time,
    obliquity, tilt, activity code into ``ACTIVITY_NAMES``) in time order as they become
    final; the steps to ``step_sink`` as rows when given (a week holds ~0.5 M steps), else
    they are kept; episodes and gaps (a few per hour) are kept."""
    p = Pipeline(settings)
    kept = Output()
    times = InputTimes(sink) if sink is not None else None
    counts = [0, 0]

    def take(o: Output) -> None:
        counts[0] += len(o.steps)
        counts[1] += sum(side == "unknown" for _, side, _ in o.steps)
        if step_sink is not None:
            if o.steps:
                step_sink(o.step_rows())
        else:
            kept.steps += o.steps
        kept.episodes += o.episodes
        kept.gaps += o.gaps
        if times is not None:
            times.results(o)

    n = 0
    for raw in chunks:
        n += len(raw.t)
        if times is not None:
            times.inputs(raw.t)
        take(p.push(raw.t, raw.acc, raw.gyr))
    take(p.finish())
    if times is not None:
        times.finish()
    kept.episodes.sort(key=lambda e: e.start_s)
    return Streamed(kept, p, n, counts[0], counts[1])
