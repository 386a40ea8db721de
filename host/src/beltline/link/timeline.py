"""Rebuild the device's sample stream from notifications: order, gaps, duplicates, bad packets.

Pure: no I/O, no clock. ``Timeline.push(packet)`` returns the events that packet releases, in
device-tick order: ``Samples`` blocks and ``Gap`` records. Nothing is interpolated and nothing is
dropped silently: every rejected packet, duplicate and missing span is counted in ``stats``.

- A packet that arrives after its span was declared a gap (the unit's logbook replaying it
  after a disconnect) is still delivered, ``late=True``, so the store can fill the hole; any
  number of holes stays open for it (``max_open_gaps``).
- Every sample is delivered at most once: a packet that overlaps what was already delivered
  gives only its new samples (a packet straddling the next expected tick keeps the part after
  it; a replay that covers a hole and its edges gives just the hole).
- A CRC-valid packet whose tick is implausibly far from the stream (more than
  ``max_jump_ticks`` ahead, or behind where nothing is missing) is refused and counted
  (``rejected["clock_jump"]``): one corrupted header must not move the clock by 2^31 ticks. A
  jump ahead that ``confirm_packets`` packets in a row continue is the unit's real clock (the
  host was away for hours): it is taken, as a gap.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field

import numpy as np

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
    """Counters a person can read: what arrived, what was wrong with it, what is missing.
    ``overlap_samples``: samples of partly new packets already delivered (dropped);
    ``clock_jumps``: jumps of the unit's clock that were confirmed and taken."""

    packets: int = 0
    samples: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    reordered: int = 0
    late: int = 0
    gaps: int = 0
    missing_samples: int = 0
    overlap_samples: int = 0
    clock_jumps: int = 0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


def _slice(b: Batch, i0: int, i1: int) -> Batch:
    """Samples ``i0:i1`` of a batch (its raw u32 tick moved to the first of them)."""
    if i0 == 0 and i1 == b.n:
        return b
    return Batch(b.seq, (b.tick + i0 * b.stride) & 0xFFFFFFFF, b.kind, b.stride,
                 {k: v[i0:i1] for k, v in b.values.items()}, b.saturated[i0:i1])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where ``mask`` is true."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(),
                    strict=True))


class Timeline:
    """Orders packets by device tick with a small reorder window, and accounts for every gap.

    ``reorder_window`` packets may be held back waiting for an earlier one; more than that and
    the earliest is released, with the hole before it reported as a ``Gap``.
    ``max_jump_ticks`` (default 2^22: 11.6 h at 100 Hz) and ``confirm_packets`` (3): see the
    module docstring. ``max_open_gaps`` holes are kept for late packets (the oldest go first).
    """

    def __init__(self, reorder_window: int = 4, max_jump_ticks: int = 1 << 22,
                 confirm_packets: int = 3, max_open_gaps: int = 100_000) -> None:
        if reorder_window < 0:
            raise ValueError(f"reorder_window must be >= 0, got {reorder_window}")
        if max_jump_ticks < 1 or confirm_packets < 1 or max_open_gaps < 1:
            raise ValueError("max_jump_ticks, confirm_packets and max_open_gaps must be >= 1")
        self.reorder_window = reorder_window
        self.max_jump_ticks = max_jump_ticks
        self.confirm_packets = confirm_packets
        self.max_open_gaps = max_open_gaps
        self.reset()

    def reset(self) -> None:
        self.stats = LinkStats()
        self.errors: list[WireError] = []  # the last few rejections, for diagnostics
        self._pending: list[tuple[int, int, Batch]] = []
        self._pending_ends: dict[int, int] = {}  # first tick -> furthest end held for it
        self._next: int | None = None  # first tick not yet released
        self._first: int | None = None  # first tick ever released
        self._last_ext: int | None = None  # unwrap reference
        self._max_seen: int | None = None
        self._holes: list[list[int]] = []  # [start, end) still missing, sorted, for late packets
        self._jump: list[tuple[int, Batch]] = []  # a jump ahead waiting for confirmation
        self._order = 0

    @property
    def open_gaps(self) -> list[tuple[int, int]]:
        """The holes a late packet can still fill (unwrapped ticks)."""
        return [(a, b) for a, b in self._holes]

    def _unwrap(self, tick: int, ref: int | None) -> int:
        if ref is None:
            return tick
        diff = (tick - ref) % _WRAP
        if diff >= _WRAP // 2:
            diff -= _WRAP
        return ref + diff

    def push(self, packet: bytes | bytearray | memoryview) -> list[Samples | Gap]:
        """Feed one notification; returns the events it releases (possibly none)."""
        try:
            batch = decode(packet)
        except WireError as exc:
            self._reject(exc.reason)
            self.errors = [*self.errors[-9:], exc]
            return []
        if batch.n == 0:  # a logbook transfer's end marker: no samples
            return []
        self.stats.packets += 1
        tick = self._unwrap(batch.tick, self._last_ext)
        if self._last_ext is not None:
            ahead = tick - self._last_ext
            lo = self._first if self._first is not None else self._pending[0][0] \
                if self._pending else self._last_ext
            if ahead > self.max_jump_ticks:
                return self._jumped(batch)
            if tick + batch.n * batch.stride < lo - self.max_jump_ticks:
                self._reject("clock_jump")
                return []
        if self._jump:  # the stream went on where it was: the jump was not the clock
            for _ in self._jump:
                self._reject("clock_jump")
            self._jump = []
        return self._accept(tick, batch)

    def _reject(self, reason: str) -> None:
        self.stats.rejected[reason] = self.stats.rejected.get(reason, 0) + 1

    def _jumped(self, batch: Batch) -> list[Samples | Gap]:
        # far ahead of the stream: held until `confirm_packets` packets continue it
        if self._jump:
            ref = self._jump[-1][0]
            tick = self._unwrap(batch.tick, ref)
            last = self._jump[-1]
            end = last[0] + last[1].n * last[1].stride
            if 0 <= tick - end <= 64 * batch.n * batch.stride:
                self._jump.append((tick, batch))
            else:
                for _ in self._jump:
                    self._reject("clock_jump")
                self._jump = [(self._unwrap(batch.tick, self._last_ext), batch)]
        else:
            self._jump = [(self._unwrap(batch.tick, self._last_ext), batch)]
        if len(self._jump) < self.confirm_packets:
            return []
        held, self._jump = self._jump, []
        self.stats.clock_jumps += 1
        out: list[Samples | Gap] = []
        for tick, b in held:
            out += self._accept(tick, b)
        return out

    def _accept(self, tick: int, batch: Batch) -> list[Samples | Gap]:
        self._last_ext = tick if self._last_ext is None else max(self._last_ext, tick)
        if self._max_seen is not None and tick < self._max_seen:
            self.stats.reordered += 1
        self._max_seen = tick if self._max_seen is None else max(self._max_seen, tick)
        if self._next is not None and tick < self._next:
            return self._behind(tick, batch)
        end = tick + batch.n * batch.stride
        if self._pending_ends.get(tick, tick) >= end:  # a copy of one held back
            self.stats.duplicates += 1
            return []
        self._hold(tick, batch)
        return self._release(force=False)

    def _hold(self, tick: int, batch: Batch) -> None:
        end = tick + batch.n * batch.stride
        self._pending_ends[tick] = max(self._pending_ends.get(tick, end), end)
        self._order += 1
        heapq.heappush(self._pending, (tick, self._order, batch))

    def flush(self) -> list[Samples | Gap]:
        """Release everything held back (end of stream or before a reconnect)."""
        for _ in self._jump:
            self._reject("clock_jump")
        self._jump = []
        return self._release(force=True)

    def _behind(self, tick: int, batch: Batch) -> list[Samples | Gap]:
        # Behind the stream's front: its samples in an open hole or before the first released
        # one are late data; those at or after the front go on as usual; the rest are copies.
        assert self._next is not None
        assert self._first is not None
        ticks = tick + np.arange(batch.n, dtype=np.int64) * batch.stride
        ahead = ticks >= self._next
        before = ticks < self._first
        in_hole = np.zeros(batch.n, bool)
        if self._holes:
            starts = np.array([h[0] for h in self._holes], np.int64)
            ends = np.array([h[1] for h in self._holes], np.int64)
            j = np.searchsorted(starts, ticks, side="right") - 1
            in_hole = (j >= 0) & (ticks < ends[np.maximum(j, 0)])
        out: list[Samples | Gap] = []
        late = before | in_hole
        delivered = 0
        for i0, i1 in _runs(before):
            out.append(Samples(int(ticks[i0]), _slice(batch, i0, i1), late=True))
        if before.any():
            # a hole between the last of these and what was released first stays open
            end = int(ticks[np.flatnonzero(before)[-1]]) + batch.stride
            if end < self._first:
                gap = Gap(end, self._first, batch.stride)
                self.stats.gaps += 1
                self.stats.missing_samples += gap.missing
                self._add_hole(gap.start, gap.end)
                out.append(gap)
            self._first = int(ticks[0])
        for i0, i1 in _runs(in_hole):
            out.append(Samples(int(ticks[i0]), _slice(batch, i0, i1), late=True))
            self._fill(int(ticks[i0]), int(ticks[i1 - 1]) + batch.stride)
            self.stats.missing_samples -= i1 - i0
        delivered = int(late.sum())
        if delivered:
            self.stats.late += 1
            self.stats.samples += delivered
        copies = int((~late & ~ahead).sum())
        if ahead.any():
            i0 = int(np.flatnonzero(ahead)[0])
            self._hold(int(ticks[i0]), _slice(batch, i0, batch.n))
            out += self._release(force=False)
        if copies and (delivered or ahead.any()):
            self.stats.overlap_samples += copies
        elif copies:
            self.stats.duplicates += 1
        return out

    def _add_hole(self, start: int, end: int) -> None:
        bisect.insort(self._holes, [start, end])
        if len(self._holes) > self.max_open_gaps:
            del self._holes[0]  # the oldest: no logbook keeps data that long

    def _fill(self, a: int, b: int) -> None:
        """Ticks [a, b) arrived: the holes they were in shrink or split."""
        i = bisect.bisect_right(self._holes, [a, float("inf")]) - 1
        i = max(i, 0)
        while i < len(self._holes) and self._holes[i][0] < b:
            s, e = self._holes[i]
            if e <= a:
                i += 1
                continue
            pieces = [x for x in ([s, a], [b, e]) if x[0] < x[1]]
            self._holes[i: i + 1] = pieces
            i += len(pieces)

    def _release(self, force: bool) -> list[Samples | Gap]:
        out: list[Samples | Gap] = []
        pending = self._pending
        while pending:
            tick, _, batch = pending[0]
            if not force and len(pending) <= self.reorder_window and \
                    (self._next is None or tick > self._next):
                break  # wait: an earlier packet may still come (at the start: always wait)
            heapq.heappop(pending)
            if not any(p[0] == tick for p in pending[:1]):
                self._pending_ends.pop(tick, None)
            if self._next is None:
                self._next = self._first = tick
            if tick < self._next:  # overlaps what an earlier held packet gave: keep the rest
                skip = -(-(self._next - tick) // batch.stride)
                if skip >= batch.n:
                    self.stats.duplicates += 1
                    continue
                self.stats.overlap_samples += skip
                batch = _slice(batch, skip, batch.n)
                tick += skip * batch.stride
            if tick > self._next:
                gap = Gap(self._next, tick, batch.stride)
                self.stats.gaps += 1
                self.stats.missing_samples += gap.missing
                self._add_hole(gap.start, gap.end)
                out.append(gap)
            out.append(Samples(tick, batch))
            self.stats.samples += batch.n
            self._next = tick + batch.n * batch.stride
        return out
