"""Rebuild the device's sample stream from notifications: order, gaps, duplicates, bad packets.

Pure: no I/O, no clock. ``Timeline.push(packet)`` returns the events that packet releases, in
device-tick order: ``Samples`` blocks and ``Gap`` records. Nothing is interpolated and nothing is
dropped silently: every rejected packet, duplicate and missing span is counted in ``stats``, and
a packet that arrives after its span was declared a gap is still delivered (``late=True``) so the
store can fill the hole.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from beltline.errors import WireError
from beltline.link.wire import Batch, decode

_WRAP = 1 << 32


@dataclass(frozen=True)
class Samples:
    """A decoded batch whose ``tick`` is unwrapped (64-bit, monotonic across u32 wrap)."""

    tick: int
    batch: Batch
    late: bool = False


@dataclass(frozen=True)
class Gap:
    """Device ticks ``[start, end)`` for which no packet had arrived when the stream moved on."""

    start: int
    end: int
    stride: int

    @property
    def missing(self) -> int:
        return (self.end - self.start) // self.stride


@dataclass
class LinkStats:
    """Counters a person can read: what arrived, what was wrong with it, what is missing."""

    packets: int = 0
    samples: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    reordered: int = 0
    late: int = 0
    gaps: int = 0
    missing_samples: int = 0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


class Timeline:
    """Orders packets by device tick with a small reorder window, and accounts for every gap.

    ``reorder_window`` packets may be held back waiting for an earlier one; more than that and
    the earliest is released, with the hole before it reported as a ``Gap``.
    """

    def __init__(self, reorder_window: int = 4) -> None:
        if reorder_window < 0:
            raise ValueError(f"reorder_window must be >= 0, got {reorder_window}")
        self.reorder_window = reorder_window
        self.reset()

    def reset(self) -> None:
        self.stats = LinkStats()
        self.errors: list[WireError] = []  # the last few rejections, for diagnostics
        self._pending: list[tuple[int, int, Batch]] = []
        self._pending_ticks: set[int] = set()
        self._next: int | None = None  # first tick not yet released
        self._first: int | None = None  # first tick ever released
        self._last_ext: int | None = None  # unwrap reference
        self._max_seen: int | None = None
        self._open_gaps: list[list[int]] = []  # [start, end) still missing, for late packets
        self._order = 0

    def _unwrap(self, tick: int) -> int:
        if self._last_ext is None:
            return tick
        diff = (tick - self._last_ext) % _WRAP
        if diff >= _WRAP // 2:
            diff -= _WRAP
        return self._last_ext + diff

    def push(self, packet: bytes | bytearray | memoryview) -> list[Samples | Gap]:
        """Feed one notification; returns the events it releases (possibly none)."""
        try:
            batch = decode(packet)
        except WireError as exc:
            self.stats.rejected[exc.reason] = self.stats.rejected.get(exc.reason, 0) + 1
            self.errors = [*self.errors[-9:], exc]
            return []
        self.stats.packets += 1
        tick = self._unwrap(batch.tick)
        self._last_ext = tick if self._last_ext is None else max(self._last_ext, tick)
        end = tick + batch.n * batch.stride
        if self._max_seen is not None and tick < self._max_seen:
            self.stats.reordered += 1
        self._max_seen = tick if self._max_seen is None else max(self._max_seen, tick)
        if self._next is not None and tick < self._next:
            return self._behind(tick, end, batch)
        if tick in self._pending_ticks:
            self.stats.duplicates += 1
            return []
        self._pending_ticks.add(tick)
        self._order += 1
        heapq.heappush(self._pending, (tick, self._order, batch))
        return self._release(force=False)

    def flush(self) -> list[Samples | Gap]:
        """Release everything held back (end of stream or before a reconnect)."""
        return self._release(force=True)

    def _behind(self, tick: int, end: int, batch: Batch) -> list[Samples | Gap]:
        # A packet for ticks already passed: it fills (part of) a reported gap, comes from before
        # the first released sample (reordered at the very start), or it is a copy.
        if self._first is not None and end <= self._first:
            out: list[Samples | Gap] = [Samples(tick, batch, late=True)]
            if end < self._first:  # and a hole between it and what was released first
                gap = Gap(end, self._first, batch.stride)
                self.stats.gaps += 1
                self.stats.missing_samples += gap.missing
                self._open_gaps = [*self._open_gaps[-63:], [gap.start, gap.end]]
                out.append(gap)
            self._first = tick
            self.stats.late += 1
            self.stats.samples += batch.n
            return out
        for g in self._open_gaps:
            if g[0] <= tick and end <= g[1]:
                self.stats.late += 1
                self.stats.samples += batch.n
                self.stats.missing_samples -= batch.n
                if g[0] == tick:
                    g[0] = end
                elif g[1] == end:
                    g[1] = tick
                else:  # a hole in the middle: split it
                    self._open_gaps.append([end, g[1]])
                    g[1] = tick
                self._open_gaps = [x for x in self._open_gaps if x[0] < x[1]]
                return [Samples(tick, batch, late=True)]
        self.stats.duplicates += 1
        return []

    def _release(self, force: bool) -> list[Samples | Gap]:
        out: list[Samples | Gap] = []
        pending = self._pending
        while pending:
            tick, _, batch = pending[0]
            if not force and len(pending) <= self.reorder_window and tick != self._next:
                break  # wait: an earlier packet may still come (at the start: always wait)
            if self._next is None:
                self._next = self._first = tick
            heapq.heappop(pending)
            self._pending_ticks.discard(tick)
            if tick > self._next:
                gap = Gap(self._next, tick, batch.stride)
                self.stats.gaps += 1
                self.stats.missing_samples += gap.missing
                self._open_gaps = [*self._open_gaps[-63:], [gap.start, gap.end]]
                out.append(gap)
            out.append(Samples(tick, batch))
            self.stats.samples += batch.n
            self._next = tick + batch.n * batch.stride
        return out
