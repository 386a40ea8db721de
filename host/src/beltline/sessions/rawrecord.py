"""The raw record of a session in the store: every raw sample that arrived, as the device's
integer counts and ticks in compact blocks (``sessions.codec``), in tick order whatever order
it came in, each sample once."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from beltline.errors import DataError
from beltline.records import RawBlock, RawFormat
from beltline.sessions import codec
from beltline.sessions.storedb import StoreDB

RAW_BLOCK_MAX = 65536  # raw samples per stored block
RAW_SPAN_S = 60.0  # and the ticks of one block span less than a minute


class RawRecord(StoreDB):
    """The raw-record half of ``Store``."""

    # --- raw record -------------------------------------------------------------------------
    def raw_format(self, sid: int) -> RawFormat | None:
        """The session's raw format, ``None`` if it holds no raw samples."""
        row = self._q("SELECT tick_hz FROM sessions WHERE id=?", (sid,))
        if not row or row[0][0] is None:
            return None
        lsb = self._q("SELECT acc_lsb, gyr_lsb, bits FROM raw_blocks WHERE session_id=? "
                      "LIMIT 1", (sid,))
        if not lsb:
            return None
        a, g, b = lsb[0]
        return RawFormat(float(row[0][0]), float(a), float(g), int(b))  # type: ignore

    def add_raw(self, sid: int, block: RawBlock, fmt: RawFormat,
                arrived_unix: float | None = None) -> int:
        """Store raw samples (any order against what is stored: a late packet goes into its
        place). Samples whose tick the session already holds are dropped, so storing the same
        data twice (a replay, a second sync) adds nothing. Returns how many were stored."""
        n = len(block)
        if n == 0:
            return 0
        ticks = np.asarray(block.ticks, np.int64)
        values = np.column_stack([block.acc, block.gyr])
        if n > 1 and (ticks[1:] <= ticks[:-1]).any():  # out of order or repeated: sort, once
            order = np.argsort(ticks, kind="stable")
            ticks = ticks[order]
            keep = np.concatenate([[True], ticks[1:] > ticks[:-1]])
            ticks, values = ticks[keep], values[order][keep]
        counts = _counts(values, fmt)
        span = min(max(1, int(RAW_SPAN_S * fmt.tick_hz)), codec.MAX_TICK_STEP)  # see _rows
        with self.transaction() as db:
            self._set_tick_hz(sid, fmt.tick_hz, arrived_unix, int(ticks[0]))
            # blocks that may hold some of these ticks start at most `span` before them (the
            # primary key's range: appending at the end looks at the last minute's rows only)
            have = db.execute(
                "SELECT tick, data FROM raw_blocks WHERE session_id=? AND epoch=? AND "
                "tick BETWEEN ? AND ? AND last_tick >= ?",
                (sid, block.epoch, int(ticks[0]) - span, int(ticks[-1]),
                 int(ticks[0]))).fetchall()
            if have:
                old = np.concatenate([codec.decode_raw(d, t)[0] for t, d in have])
                new = ~np.isin(ticks, old)
                ticks, counts = ticks[new], counts[new]
            stored = len(ticks)
            if stored == 0:
                return 0
            db.executemany("INSERT INTO raw_blocks VALUES (?,?,?,?,?,?,?,?,?)",
                           _rows(sid, block.epoch, ticks, counts, fmt))
            db.execute("UPDATE sessions SET raw_n = raw_n + ?, "
                       "raw_first = MIN(COALESCE(raw_first, ?), ?), "
                       "raw_last = MAX(COALESCE(raw_last, ?), ?) WHERE id=?",
                       (stored, int(ticks[0]), int(ticks[0]), int(ticks[-1]), int(ticks[-1]),
                        sid))
        return stored

    def compact_raw(self, sid: int) -> bool:
        """Rewrite a session's raw record in one-minute blocks (a live session writes one
        every half second: ~10 % larger and slower to read). Lossless: the same ticks and
        counts. The record is read outside the transaction and rewritten only if nothing was
        added meanwhile, so a recorder writing to the same store is never held up long.
        Returns whether it was rewritten."""
        row = self._q("SELECT COUNT(*), COALESCE(SUM(n), 0), MAX(last_tick) FROM raw_blocks "
                      "WHERE session_id=?", (sid,))[0]
        blocks, n, last = int(row[0]), int(row[1]), row[2]  # type: ignore[call-overload]
        fmt = self.raw_format(sid)
        if fmt is None or blocks <= 1 or n / blocks >= 0.5 * RAW_SPAN_S * fmt.tick_hz:
            return False
        epoch = int(self._q("SELECT MIN(epoch) FROM raw_blocks WHERE session_id=?",  # type: ignore
                            (sid,))[0][0])
        rows = [r for p in self.iter_raw(sid) for r in  # packed at once: ~7 B a sample
                _rows(sid, epoch, p.ticks, _counts(np.column_stack([p.acc, p.gyr]), fmt), fmt)]
        with self.transaction() as db:
            now = db.execute("SELECT COUNT(*), COALESCE(SUM(n), 0), MAX(last_tick) FROM "
                             "raw_blocks WHERE session_id=?", (sid,)).fetchone()
            if tuple(now) != (blocks, n, last):
                return False  # it changed meanwhile: leave it as it is
            stored = sum(int(r[4]) for r in rows)  # type: ignore[call-overload]
            if stored != n:
                raise DataError(f"session {sid}: rewriting the raw record gave {stored} "
                                f"samples, not {n}; nothing was changed")
            db.execute("DELETE FROM raw_blocks WHERE session_id=?", (sid,))
            db.executemany("INSERT INTO raw_blocks VALUES (?,?,?,?,?,?,?,?,?)", rows)
        return True

    def _set_tick_hz(self, sid: int, tick_hz: float, arrived_unix: float | None,
                     tick: int) -> None:
        if self._tick_hz.get(sid) == tick_hz:
            return
        row = self.db.execute("SELECT tick_hz FROM sessions WHERE id=?", (sid,)).fetchone()
        if row is None:
            raise DataError(f"no session {sid} in {self.path}")
        if row[0] is None:
            self.db.execute("UPDATE sessions SET tick_hz=?, raw_unix=?, raw_unix_tick=? "
                            "WHERE id=?", (tick_hz, arrived_unix, tick, sid))
        elif abs(float(row[0]) - tick_hz) > 1e-9 * tick_hz:
            raise DataError(f"session {sid} keeps its raw samples at {row[0]} ticks/s, not "
                            f"{tick_hz}")
        self._tick_hz[sid] = tick_hz

    def iter_raw(self, sid: int, piece: int = 60000) -> Iterator[RawBlock]:
        """The raw record in tick order, in pieces of about ``piece`` samples (memory stays
        bounded however long the session). Values in SI (m/s², rad/s)."""
        fmt = self.raw_format(sid)
        if fmt is None:
            return
        epochs = [int(r[0]) for r in self._q(  # type: ignore[call-overload]
            "SELECT DISTINCT epoch FROM raw_blocks WHERE session_id=? ORDER BY epoch", (sid,))]
        if len(epochs) > 1:
            raise DataError(f"session {sid} spans {len(epochs)} boots of the unit; joining "
                            "their clocks needs the time sync (not in this version)")
        held_t: list[np.ndarray] = []
        held_v: list[np.ndarray] = []
        held = 0
        with self._errors("read"):
            cur = self.db.execute(
                "SELECT tick, acc_lsb, gyr_lsb, data FROM raw_blocks WHERE session_id=? "
                "ORDER BY epoch, tick", (sid,))
            for tick, acc_lsb, gyr_lsb, data in cur:
                ticks, counts = codec.decode_raw(data, tick)
                if held >= piece:
                    # everything before this block's first tick is complete (later blocks
                    # start later): give it out
                    yield from self._release(held_t, held_v, int(ticks[0]), fmt)
                    held = sum(len(t) for t in held_t)
                held_t.append(ticks)
                held_v.append(counts * np.array([acc_lsb] * 3 + [gyr_lsb] * 3))
                held += len(ticks)
        yield from self._release(held_t, held_v, None, fmt)

    @staticmethod
    def _release(held_t: list[np.ndarray], held_v: list[np.ndarray], before: int | None,
                 fmt: RawFormat) -> Iterator[RawBlock]:
        if not held_t:
            return
        t = np.concatenate(held_t)
        v = np.concatenate(held_v)
        if (np.diff(t) <= 0).any():  # a late block inside an earlier one's span
            order = np.argsort(t, kind="stable")
            t, v = t[order], v[order]
            keep = np.concatenate([[True], np.diff(t) > 0])
            t, v = t[keep], v[keep]
        cut = len(t) if before is None else int(np.searchsorted(t, before))
        held_t[:] = [t[cut:]] if cut < len(t) else []
        held_v[:] = [v[cut:]] if cut < len(t) else []
        if cut:
            yield RawBlock(t[:cut], v[:cut, :3], v[:cut, 3:])

    def raw(self, sid: int) -> RawBlock:
        """The whole raw record at once (``iter_raw`` for long sessions)."""
        parts = list(self.iter_raw(sid))
        if not parts:
            return RawBlock(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)))
        return RawBlock(np.concatenate([p.ticks for p in parts]),
                        np.concatenate([p.acc for p in parts]),
                        np.concatenate([p.gyr for p in parts]))

    def clock(self, sid: int) -> list[dict[str, object]]:
        """Device tick <-> host wall clock points of the session: each connection's time sync
        (``epoch``: the unit's boot id), else the wall clock when its first raw sample
        arrived."""
        synced = self._q("SELECT boot_id, tick, wall_unix, rate_hz FROM clock WHERE "
                         "session_id=? ORDER BY wall_unix", (sid,))
        if synced:
            return [{"host_unix": w, "device_tick": t, "epoch": b, "rate_hz": r}
                    for b, t, w, r in synced]
        row = self._q("SELECT raw_unix, raw_unix_tick FROM sessions WHERE id=?", (sid,))
        if not row or row[0][0] is None:
            return []
        return [{"host_unix": row[0][0], "device_tick": row[0][1], "epoch": 0}]


def _counts(x: np.ndarray, fmt: RawFormat) -> np.ndarray:
    lsb = np.array([fmt.acc_lsb] * 3 + [fmt.gyr_lsb] * 3)
    c = np.rint(np.asarray(x, float) / lsb)
    lim = 32767 if fmt.bits == 16 else 2**31 - 1
    if not np.isfinite(c).all() or np.abs(c).max(initial=0) > lim:
        raise DataError(f"raw values outside what {fmt.bits}-bit counts of "
                        f"{fmt.acc_lsb} m/s² and {fmt.gyr_lsb} rad/s can hold")
    return c.astype(np.int64)




def _rows(sid: int, epoch: int, ticks: np.ndarray, counts: np.ndarray,
          fmt: RawFormat) -> list[tuple[object, ...]]:
    """``raw_blocks`` rows for ticks in order: blocks of at most ``RAW_BLOCK_MAX`` samples,
    each within one window of ``RAW_SPAN_S`` (so also no step beyond the codec's int32 tick
    deltas, and a block that may hold a tick starts at most a window before it)."""
    if not len(ticks):
        return []
    span = min(max(1, int(RAW_SPAN_S * fmt.tick_hz)), codec.MAX_TICK_STEP)
    window = (ticks - ticks[0]) // span
    cuts = np.flatnonzero(window[1:] != window[:-1]) + 1
    bounds = [0, *cuts.tolist(), len(ticks)]
    rows: list[tuple[object, ...]] = []
    for a, b in itertools.pairwise(bounds):
        for i in range(a, b, RAW_BLOCK_MAX):
            j = min(i + RAW_BLOCK_MAX, b)
            rows.append((sid, epoch, int(ticks[i]), int(ticks[j - 1]), j - i, fmt.acc_lsb,
                         fmt.gyr_lsb, fmt.bits,
                         codec.encode_raw(ticks[i:j], counts[i:j], fmt.bits)))
    return rows
