"""Writing a session as it comes: raw samples first, the live preview beside them.

``Recorder.start`` makes the session and takes its lock (``sessions.locks``) in one
transaction, so no other program can take a session that is being recorded for a dead one.
``raw()`` queues what arrived (in order, or late: a packet the unit replayed into a gap goes
into its place, and the gap it filled shrinks); ``write()`` queues the pipeline's results.
The raw samples and the preview's steps, episodes and gaps are committed together at least
every ``commit_s`` (of data, or of wall time when data trickle), and at once for an episode
or a gap: a recorder killed at any moment loses at most the last ``commit_s`` of what
arrived. The preview's per-sample results go in blocks of ``PREVIEW_BLOCK`` (cheaper; the
final analysis replaces them anyway).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from beltline.records import RawBlock, RawFormat, Rows, SampleBlock
from beltline.sessions.locks import SessionLock
from beltline.sessions.store import Store

COMMIT_S = 0.5
PREVIEW_BLOCK = 1000  # live-preview samples written together (10 s): they are replaced at
# the end by the final analysis, so they need not be committed as often as the raw record


class Recorder:
    """Writes one session; ``close()`` ends it (the final analysis is
    ``sessions.finish.finalise``)."""

    def __init__(self, store: Store, sid: int, commit_s: float = COMMIT_S,
                 clock: Callable[[], float] = time.monotonic,
                 lock: SessionLock | None = None) -> None:
        self.store = store
        self.sid = sid
        self.commit_s = commit_s
        self.clock = clock
        self.lock = lock
        self._raw: list[tuple[RawBlock, RawFormat]] = []
        self._raw_first: tuple[int, float] | None = None  # (tick, tick_hz) of the queue
        self._late: list[tuple[float, float]] = []
        self._rows = Rows()
        self._samples: list[SampleBlock] = []
        self._n_samples = 0
        self._arrived_unix: float | None = None
        self._last_commit = clock()
        self.raw_samples = 0  # stored so far
        self.commits = 0

    @classmethod
    def start(cls, store: Store, source: str, name: str = "", link: str = "",
              settings: dict[str, object] | None = None, commit_s: float = COMMIT_S,
              device: str = "", firmware: str = "") -> Recorder:
        """A new session, locked for this recorder before anyone else can see it."""
        with store.transaction():
            sid = store.new_session(source, name=name, device=device, firmware=firmware,
                                    settings=settings, link=link)
            lock = SessionLock(store.path, sid)
            if not lock.acquire():
                raise RuntimeError(f"cannot lock the new session {sid}")
        return cls(store, sid, commit_s, lock=lock)

    # --- queueing ---------------------------------------------------------------------------
    def raw(self, block: RawBlock, fmt: RawFormat, late: bool = False) -> None:
        """Raw samples that arrived (``late``: behind what was already given out)."""
        if not len(block):
            return
        if self._arrived_unix is None:
            self._arrived_unix = time.time()
        self._raw.append((block, fmt))
        if late:
            self._late.append((float(block.ticks[0] / fmt.tick_hz),
                               float(block.ticks[-1] / fmt.tick_hz)))
        if self._raw_first is None:
            self._raw_first = (int(block.ticks[0]), fmt.tick_hz)
        self._maybe_commit(float(block.ticks[-1] / fmt.tick_hz))

    def write(self, rows: Rows) -> None:
        """Queue results (``pipeline.Output.rows()``); at once for an episode or a gap."""
        sa = rows.samples
        if len(sa):
            self._samples.append(sa)
            self._n_samples += len(sa)
        r = self._rows
        r.steps += rows.steps
        r.episodes += rows.episodes
        r.gaps += rows.gaps
        if rows.episodes or rows.gaps:
            self.flush()
        else:
            self._maybe_commit(None)

    def _maybe_commit(self, t_last: float | None) -> None:
        due = self.clock() - self._last_commit >= self.commit_s
        if not due and t_last is not None and self._raw_first is not None:
            tick, hz = self._raw_first
            due = t_last - tick / hz >= self.commit_s
        if due:
            self.flush()

    # --- writing ----------------------------------------------------------------------------
    def flush(self, all_samples: bool = False) -> None:
        """Commit what is queued, in one transaction (the preview's per-sample results once a
        block of them has gathered, or ``all_samples``)."""
        raw, self._raw = self._raw, []
        late, self._late = self._late, []
        samples: list[SampleBlock] = []
        if all_samples or self._n_samples >= PREVIEW_BLOCK:
            samples, self._samples, self._n_samples = self._samples, [], 0
        rows, self._rows = self._rows, Rows()
        self._raw_first = None
        self._last_commit = self.clock()
        if not (raw or samples or rows.steps or rows.episodes or rows.gaps):
            return
        with self.store.transaction():
            for block, fmt in _runs(raw):
                self.raw_samples += self.store.add_raw(self.sid, block, fmt,
                                                       self._arrived_unix)
            sa = _join(samples)
            self.store.write_rows(self.sid, Rows(sa, rows.steps, rows.episodes, rows.gaps))
            for a, b in late:
                self.store.shrink_gaps(self.sid, a, b)
        self.commits += 1

    def close(self, calibration: dict[str, object] | None) -> None:
        """Commit and end the session (the live preview stays until the final analysis)."""
        self.flush(all_samples=True)
        self.store.close_session(self.sid, calibration)

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()


def _runs(raw: list[tuple[RawBlock, RawFormat]]) -> list[tuple[RawBlock, RawFormat]]:
    """Queued chunks joined into as few blocks as keep tick order (a late chunk starts a new
    one): fewer, larger blocks compress better."""
    out: list[tuple[RawBlock, RawFormat]] = []
    group: list[RawBlock] = []
    fmt: RawFormat | None = None
    for b, f in raw:
        if group and (f != fmt or b.epoch != group[-1].epoch
                      or int(b.ticks[0]) <= int(group[-1].ticks[-1])):
            out.append((_cat(group), fmt))  # type: ignore[arg-type]
            group = []
        group.append(b)
        fmt = f
    if group:
        out.append((_cat(group), fmt))  # type: ignore[arg-type]
    return out


def _cat(blocks: list[RawBlock]) -> RawBlock:
    if len(blocks) == 1:
        return blocks[0]
    return RawBlock(np.concatenate([b.ticks for b in blocks]),
                    np.concatenate([b.acc for b in blocks]),
                    np.concatenate([b.gyr for b in blocks]), blocks[0].epoch)


def _join(parts: list[SampleBlock]) -> SampleBlock:
    if not parts:
        return SampleBlock()
    if len(parts) == 1:
        return parts[0]
    return SampleBlock(np.concatenate([p.t_s for p in parts]),
                       np.concatenate([p.obliquity_deg for p in parts]),
                       np.concatenate([p.tilt_deg for p in parts]),
                       np.concatenate([p.activity for p in parts]))
