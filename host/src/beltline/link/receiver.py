"""Notifications in, time-ordered raw sample chunks out (for ``Pipeline.push``), with every gap,
duplicate and bad packet counted by the ``Timeline``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from beltline.link.timeline import Gap, Samples, Timeline


@dataclass
class RawChunk:
    """Time-ordered raw samples (device clock, s; m/s²; rad/s) ready for the pipeline, with
    their device ``ticks`` (int64, unwrapped); ``late``: they fill a hole the stream had
    already passed (for the store, never for the live pipeline)."""

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    ticks: np.ndarray | None = None
    late: bool = False


class Receiver:
    """Notifications in, raw sample chunks out (for ``Pipeline.push``). Packets that arrive
    after their span was already analysed (``late``) are counted, not fed: the pipeline only
    goes forward in time. Angle-only packets (an MTU too small for raw samples) carry no raw
    data and are counted in ``angles_only``.

    ``keep_late``: late packets' samples are also kept, as ``RawChunk(late=True)``, for
    ``take_late()`` (the recorder stores them in their place: nothing that arrived is lost)."""

    def __init__(self, rate_hz: float, keep_late: bool = False) -> None:
        self.rate_hz = rate_hz
        self.timeline = Timeline()
        self.late_not_analysed = 0
        self.angles_only = 0
        self.gaps: list[Gap] = []
        self.keep_late = keep_late
        self._late: list[RawChunk] = []

    def take_late(self) -> list[RawChunk]:
        """The late chunks gathered since the last call."""
        out, self._late = self._late, []
        return out

    def push(self, payload: bytes) -> Iterator[RawChunk]:
        yield from self._chunks(self.timeline.push(payload))

    def flush(self) -> Iterator[RawChunk]:
        yield from self._chunks(self.timeline.flush())

    def _chunks(self, events: list[Samples | Gap]) -> Iterator[RawChunk]:
        for e in events:
            if isinstance(e, Gap):
                self.gaps.append(e)
                continue
            v = e.batch.values
            if "ax" not in v:
                self.angles_only += e.batch.n
                continue
            if e.late:
                self.late_not_analysed += e.batch.n
                if not self.keep_late:
                    continue
            ticks = e.tick + np.arange(e.batch.n, dtype=np.int64) * e.batch.stride
            chunk = RawChunk(ticks / self.rate_hz,
                             np.column_stack([v["ax"], v["ay"], v["az"]]),
                             np.column_stack([v["gx"], v["gy"], v["gz"]]), ticks, e.late)
            if e.late:
                self._late.append(chunk)
            else:
                yield chunk
