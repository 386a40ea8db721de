"""Notifications in, time-ordered raw sample chunks out (for ``Pipeline.push``), with every gap,
duplicate and bad packet counted by the ``Timeline``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from beltline.link.timeline import Gap, Samples, Timeline


@dataclass
class RawChunk:
    """Time-ordered raw samples (device clock, s; m/s²; rad/s) ready for the pipeline."""

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray


class Receiver:
    """Notifications in, raw sample chunks out (for ``Pipeline.push``). Packets that arrive
    after their span was already analysed (``late``) are counted, not fed: the pipeline only
    goes forward in time. Angle-only packets (an MTU too small for raw samples) carry no raw
    data and are counted in ``angles_only``."""

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self.timeline = Timeline()
        self.late_not_analysed = 0
        self.angles_only = 0
        self.gaps: list[Gap] = []

    def push(self, payload: bytes) -> Iterator[RawChunk]:
        yield from self._chunks(self.timeline.push(payload))

    def flush(self) -> Iterator[RawChunk]:
        yield from self._chunks(self.timeline.flush())

    def _chunks(self, events: list[Samples | Gap]) -> Iterator[RawChunk]:
        for e in events:
            if isinstance(e, Gap):
                self.gaps.append(e)
                continue
            if e.late:
                self.late_not_analysed += e.batch.n
                continue
            v = e.batch.values
            if "ax" not in v:
                self.angles_only += e.batch.n
                continue
            ticks = e.tick + np.arange(e.batch.n) * e.batch.stride
            yield RawChunk(ticks / self.rate_hz,
                           np.column_stack([v["ax"], v["ay"], v["az"]]),
                           np.column_stack([v["gx"], v["gy"], v["gz"]]))
