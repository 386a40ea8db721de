"""Notifications in, time-ordered raw sample chunks out (for ``Pipeline.push``), with every gap,
duplicate and bad packet counted by the ``Timeline``.

Epochs: a unit that rebooted counts its ticks from 0 again, so its packets would read as old
copies. Each connection's time sync names the boot (``ClockPoint.boot_id``); a new boot starts
a new epoch: what the old timeline still held is released, a fresh ``Timeline`` takes over, and
the new ticks are placed after the old ones on the session's time axis by the wall clock of
both boots (never before the last sample already given out).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

import numpy as np

from beltline.link.base import ClockPoint
from beltline.link.timeline import Gap, LinkStats, Samples, Timeline


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
        self.gaps: list[Gap] = []  # of the current epoch (device ticks of this boot)
        self.epochs = 0  # boots seen after the first
        self.boot_id: int | None = None
        self.offset_s = 0.0  # session seconds of tick 0 of the current epoch
        self.offset_ticks = 0  # the same in ticks (ticks on the session's axis)
        self.delivered = 0  # samples given out
        self.redelivered = 0  # samples given out at or before one already given (must be 0)
        self._origin_unix: float | None = None  # wall time of tick 0 of the first epoch
        self._last_t = -np.inf
        self._past = LinkStats()  # the counters of earlier epochs
        self.keep_late = keep_late
        self._late: list[RawChunk] = []

    @property
    def stats(self) -> LinkStats:
        """The timeline's counters, summed over every epoch."""
        now = self.timeline.stats
        out = LinkStats()
        for f in fields(LinkStats):
            a, b = getattr(self._past, f.name), getattr(now, f.name)
            if isinstance(a, dict):
                setattr(out, f.name, {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}})
            else:
                setattr(out, f.name, a + b)
        return out

    def on_connected(self, clock: ClockPoint | None) -> Iterator[RawChunk]:
        """A connection's time sync: a new boot starts a new epoch (and releases what the
        old timeline held)."""
        if clock is None:
            return
        if self.boot_id is None:
            self.boot_id = clock.boot_id
            self._origin_unix = clock.boot_unix
            return
        if clock.boot_id == self.boot_id:
            return
        yield from self.flush()
        self._past = self.stats
        self.timeline = Timeline(self.timeline.reorder_window)
        self.gaps = []
        self.epochs += 1
        self.boot_id = clock.boot_id
        assert self._origin_unix is not None
        after = self._last_t + 1.0 / self.rate_hz if np.isfinite(self._last_t) else 0.0
        # whole ticks, so the stored raw record's ticks stay one increasing axis per session
        self.offset_ticks = round(max(clock.boot_unix - self._origin_unix, after)
                                  * self.rate_hz)
        self.offset_s = self.offset_ticks / self.rate_hz

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
            ticks = (e.tick + np.arange(e.batch.n, dtype=np.int64) * e.batch.stride
                     + self.offset_ticks)
            t = ticks / self.rate_hz
            acc = np.column_stack([v["ax"], v["ay"], v["az"]])
            gyr = np.column_stack([v["gx"], v["gy"], v["gz"]])
            if e.late:
                self.late_not_analysed += e.batch.n
                if self.keep_late:
                    self._late.append(RawChunk(t, acc, gyr, ticks, True))
                continue
            if t[0] <= self._last_t:
                self.redelivered += int(np.count_nonzero(t <= self._last_t))
            self._last_t = float(t[-1])
            self.delivered += e.batch.n
            yield RawChunk(t, acc, gyr, ticks)
