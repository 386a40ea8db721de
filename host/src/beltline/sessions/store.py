"""The session store: one SQLite file in the user's data folder, in WAL mode.

**The raw record is the session** (DESIGN.md §1). ``raw_blocks`` keeps every raw sample that
arrived, as the device's integer counts and ticks (``beltline.sessions.codec``: ~2.5 MB per
hour at 100 Hz); ``sample_blocks`` (per-sample obliquity, tilt, activity), ``steps``,
``episodes`` and ``gaps`` are what the pipeline made of it. While a session records they are
the live pipeline's preview; when it closes (or ``beltline reanalyze``) they are replaced by
the batch pipeline over the complete raw record (``final``, ``analysed_unix``). Per session
also its ``calibration`` and ``settings`` as JSON.

Schema versions: SQLite's ``user_version``; ``MIGRATIONS[i]`` (SQL, or a function for what
SQL cannot do) takes a file from version i to i+1 in one transaction, so a newer Beltline opens
an older file by upgrading it in place. Version 2 added the raw record, moved the per-sample
rows into compact blocks and split the session's ``source`` (live, sync, import) from its
``link`` (virtual, ble).

Crash safety: a ``Recorder`` (``sessions.recorder``) commits at least every half second, and
WAL makes each commit atomic, so a killed recorder loses at most that and the file stays
readable. Health data stay in this file on the user's machine: it is created 0600 in a 0700
folder. A file that cannot be written (permissions, a read-only disk) opens read-only for
review.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from beltline.errors import DataError, StoreError
from beltline.private import FILE_MODE, private_dir
from beltline.records import (
    EPISODE_COLUMNS,
    STEP_COLUMNS,
    EpisodeRow,
    GapRow,
    RawBlock,
    RawFormat,
    Rows,
    SampleBlock,
    StepRow,
)
from beltline.sessions import codec
from beltline.sessions.schema import MIGRATIONS, SOURCES, run_migration

log = logging.getLogger(__name__)

SCHEMA_VERSION = len(MIGRATIONS)
SAMPLE_BLOCK = 6000  # per-sample results per stored block (1 min at 100 Hz)
RAW_BLOCK_MAX = 65536  # raw samples per stored block
BUSY_MS = 10000  # wait this long for another program's write before giving up
LEGACY_LINKS = ("virtual", "ble", "replay")  # sources before schema 2: now the session's link

__all__ = ["SCHEMA_VERSION", "SOURCES", "SessionInfo", "Store", "data_dir", "default_path"]


def data_dir() -> Path:
    """Where Beltline keeps the store: ``$BELTLINE_HOME`` if set, else the platform's user
    data folder from ``platformdirs`` (``$XDG_DATA_HOME/beltline``, ``~/.local/share/beltline``
    when that is unset, empty or relative; Application Support on macOS; LOCALAPPDATA on
    Windows). Never the current folder."""
    env = os.environ.get("BELTLINE_HOME", "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    p = Path(platformdirs.user_data_dir("beltline", appauthor=False))
    if not p.is_absolute():  # the XDG spec: a relative $XDG_DATA_HOME is ignored
        p = Path.home() / ".local" / "share" / "beltline"
    return p


def default_path() -> Path:
    return data_dir() / "beltline.db"


@dataclass(frozen=True)
class SessionInfo:
    """One line of the session list. ``source``: how the data came (live, sync, import);
    ``link``: over what (virtual, ble, or empty). ``seconds``: the raw record's span (the
    results' span for a session recorded before raw samples were kept)."""

    id: int
    started_unix: float
    ended_unix: float | None
    source: str
    name: str
    device: str
    firmware: str
    samples: int
    seconds: float
    episodes: int
    link: str = ""
    raw_samples: int = 0
    final: bool = False
    analysed_unix: float | None = None
    note: str = ""
    tick_hz: float | None = None

    @property
    def closed(self) -> bool:
        return self.ended_unix is not None

    @property
    def duration_s(self) -> float:
        return self.seconds

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "started_unix": self.started_unix,
                "ended_unix": self.ended_unix, "duration_s": round(self.seconds, 3),
                "raw_samples": self.raw_samples, "samples": self.samples,
                "episodes": self.episodes, "closed": self.closed, "final": self.final,
                "analysed_unix": self.analysed_unix, "source": self.source,
                "link": self.link, "name": self.name, "device": self.device,
                "firmware": self.firmware, "note": self.note}


@dataclass
class EncodedSamples:
    """Per-sample results already packed for the store (``codec.encode_samples``)."""

    blocks: list[tuple[float, float, int, bytes]] = field(default_factory=list)

    def add(self, s: SampleBlock, size: int = SAMPLE_BLOCK) -> None:
        for i in range(0, len(s), size):
            t = s.t_s[i: i + size]
            t0, blob = codec.encode_samples(t, s.obliquity_deg[i: i + size],
                                            s.tilt_deg[i: i + size], s.activity[i: i + size])
            self.blocks.append((t0, float(t[-1]), len(t), blob))

    @property
    def n(self) -> int:
        return sum(b[2] for b in self.blocks)


class Store:
    """A connection to the store file (created and migrated on open). ``read_only``: open for
    review only (also chosen by itself when the file cannot be written)."""

    def __init__(self, path: Path | None = None, read_only: bool = False) -> None:
        own = path is None
        self.path = Path(path) if path else default_path()
        self._depth = 0
        self._tick_hz: dict[int, float] = {}  # sessions whose tick rate is set (this connection)
        exists = self.path.exists()
        if read_only or (exists and not os.access(self.path, os.W_OK)):
            self.read_only = True
            self.db = self._connect_ro()
        else:
            self.read_only = False
            try:
                self.db = self._connect_rw(exists, own)
            except StoreError as exc:
                if exc.reason != "readonly":
                    raise
                log.info("%s cannot be written: opened read-only for review", self.path)
                self.read_only = True
                self.db = self._connect_ro()
        self._check_version()

    # --- opening ----------------------------------------------------------------------------
    def _connect_rw(self, exists: bool, own: bool) -> sqlite3.Connection:
        try:
            private_dir(self.path.parent, tighten=own)
            if not exists:  # 0600 before SQLite writes a byte (its -wal/-shm copy the mode)
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE))
            elif os.name == "posix" and self.path.stat().st_mode & 0o077:
                os.chmod(self.path, FILE_MODE)
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot create the session store {self.path}: {exc.strerror}",
                             "readonly" if exists else "other") from exc
        with self._errors("open"):
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
            db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                db.close()
                raise StoreError(f"{self.path}: cannot switch to WAL mode", "readonly")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: never torn, durable at checkpoints
            db.execute("PRAGMA secure_delete=ON")  # a deleted session's pages are zeroed
        self.db = db
        self._migrate()  # with foreign keys off: a migration may rebuild a parent table
        with self._errors("open"):
            db.execute("PRAGMA foreign_keys=ON")
        return db

    def _connect_ro(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise StoreError(f"no session store at {self.path}", "other")
        uri = self.path.resolve().as_uri()
        with self._errors("open"):
            try:
                db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                # a WAL file without its -shm in a folder we cannot write: read the file as it
                # is, unless a WAL holds changes that would then be missed
                wal = self.path.with_name(self.path.name + "-wal")
                if wal.exists() and wal.stat().st_size:
                    raise
                db = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True,
                                     isolation_level=None)
            db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        return db

    def _check_version(self) -> None:
        with self._errors("read"):
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise DataError(f"{self.path} has schema version {version}, newer than this "
                            f"Beltline understands ({SCHEMA_VERSION}); update Beltline")
        if version < SCHEMA_VERSION:
            raise StoreError(f"{self.path} is read-only and from an older Beltline (schema "
                             f"{version}); make it writable once so it can be upgraded",
                             "readonly")

    def _migrate(self) -> None:
        with self._errors("upgrade"):
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                return  # refused with a message by _check_version
            for v in range(version, SCHEMA_VERSION):
                log.info("upgrading %s to schema version %d", self.path, v + 1)
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    run_migration(self.db, MIGRATIONS[v])
                    bad = self.db.execute("PRAGMA foreign_key_check").fetchall()
                    if bad:  # rows of no session: nothing can show them; say so and go on
                        log.warning("%s: %d rows belong to no session", self.path, len(bad))
                    self.db.execute(f"PRAGMA user_version={v + 1}")
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise
                self.db.execute("COMMIT")

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """sqlite3's exceptions as one-line ``StoreError``s naming the store."""
        try:
            yield
        except sqlite3.Error as exc:
            raise _store_error(self.path, what, exc) from exc

    # --- transactions -----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write; nested uses join the outermost (all or nothing)."""
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only: this needs a writable store",
                             "readonly")
        if self._depth:
            self._depth += 1
            try:
                yield self.db
            finally:
                self._depth -= 1
            return
        with self._errors("write"):
            self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.db
        except BaseException as exc:
            self._depth = 0
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite may have rolled back already (a full disk)
            if isinstance(exc, sqlite3.Error):
                raise _store_error(self.path, "write", exc) from exc
            raise
        self._depth = 0
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise _store_error(self.path, "write", exc) from exc

    def _q(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._errors("read"):
            return self.db.execute(sql, args).fetchall()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sessions ---------------------------------------------------------------------------
    def new_session(self, source: str, name: str = "", device: str = "",
                    firmware: str = "", settings: Mapping[str, object] | None = None,
                    started_unix: float | None = None, link: str = "") -> int:
        if source in LEGACY_LINKS:  # the link's name as a source (before schema 2)
            source, link = "live", link or source
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO sessions(started_unix, source, name, device, firmware, link) "
                "VALUES (?,?,?,?,?,?)",
                (started_unix if started_unix is not None else time.time(), source, name,
                 device, firmware, link))
            sid = int(cur.lastrowid or 0)
            db.execute("INSERT INTO settings VALUES (?,?)",
                       (sid, json.dumps(dict(settings or {}))))
        return sid

    def set_device(self, sid: int, device: str, firmware: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE sessions SET device=?, firmware=? WHERE id=?",
                       (device, firmware, sid))

    def sessions(self, where: str = "", args: Sequence[object] = ()) -> list[SessionInfo]:
        rows = self._q(f"""
            SELECT s.id, s.started_unix, s.ended_unix, s.source, s.name, s.device, s.firmware,
              (SELECT COALESCE(SUM(n), 0) FROM sample_blocks WHERE session_id=s.id),
              CASE WHEN s.raw_n > 0 AND s.tick_hz > 0
                   THEN (s.raw_last - s.raw_first) / s.tick_hz
                   ELSE (SELECT COALESCE(MAX(t1) - MIN(t0), 0) FROM sample_blocks
                         WHERE session_id=s.id) END,
              (SELECT COUNT(*) FROM episodes WHERE session_id=s.id),
              s.link, s.raw_n, s.final, s.analysed_unix, s.note, s.tick_hz
            FROM sessions s {where} ORDER BY s.id""", args)
        return [SessionInfo(*r[:12], bool(r[12]), *r[13:]) for r in rows]  # type: ignore

    def session(self, sid: int) -> SessionInfo:
        found = self.sessions("WHERE s.id=?", (sid,))
        if not found:
            raise DataError(f"no session {sid} in {self.path}; `beltline sessions` lists them")
        return found[0]

    def unclosed(self) -> list[int]:
        """Sessions without an end: being recorded, or their recorder died."""
        return [int(r[0]) for r in self._q(  # type: ignore[call-overload]
            "SELECT id FROM sessions WHERE ended_unix IS NULL ORDER BY id")]

    def close_session(self, sid: int, calibration: dict[str, object] | None,
                      ended_unix: float | None = None, note: str | None = None) -> None:
        """The one way a session ends: its calibration (if any) and its end time, together."""
        with self.transaction() as db:
            if calibration is not None:
                db.execute("INSERT OR REPLACE INTO calibration VALUES (?,?)",
                           (sid, json.dumps(calibration)))
            db.execute("UPDATE sessions SET ended_unix=? WHERE id=?",
                       (ended_unix if ended_unix is not None else time.time(), sid))
            if note is not None:
                db.execute("UPDATE sessions SET note=? WHERE id=?", (note, sid))

    def delete_session(self, sid: int) -> None:
        """The session and everything it holds, overwritten (``secure_delete``) and gone
        from the WAL too."""
        self.session(sid)
        with self.transaction() as db:
            db.execute("DELETE FROM sessions WHERE id=?", (sid,))
        self.checkpoint()

    def checkpoint(self) -> None:
        """Fold the WAL into the file and empty it."""
        if not self.read_only:
            with self._errors("write"):
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

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
        with self.transaction() as db:
            self._set_tick_hz(sid, fmt.tick_hz, arrived_unix, int(ticks[0]))
            # blocks that may hold some of these ticks: by where they end (an index), so
            # appending at the end looks at no block at all
            have = [(t, d) for t, d in db.execute(
                "SELECT tick, data FROM raw_blocks INDEXED BY raw_blocks_by_last WHERE "
                "session_id=? AND epoch=? AND last_tick >= ?",
                (sid, block.epoch, int(ticks[0]))) if t <= int(ticks[-1])]
            if have:
                old = np.concatenate([codec.decode_raw(d, t)[0] for t, d in have])
                new = ~np.isin(ticks, old)
                ticks, counts = ticks[new], counts[new]
            stored = len(ticks)
            if stored == 0:
                return 0
            # split where a step would not fit the codec's int32 tick deltas
            cuts = np.flatnonzero(np.diff(ticks) > codec.MAX_TICK_STEP) + 1
            bounds = [0, *cuts.tolist(), stored]
            rows = []
            for a, b in itertools.pairwise(bounds):
                for i in range(a, b, RAW_BLOCK_MAX):
                    j = min(i + RAW_BLOCK_MAX, b)
                    rows.append((sid, block.epoch, int(ticks[i]), int(ticks[j - 1]), j - i,
                                 fmt.acc_lsb, fmt.gyr_lsb, fmt.bits,
                                 codec.encode_raw(ticks[i:j], counts[i:j], fmt.bits)))
            db.executemany("INSERT INTO raw_blocks VALUES (?,?,?,?,?,?,?,?,?)", rows)
            db.execute("UPDATE sessions SET raw_n = raw_n + ?, "
                       "raw_first = MIN(COALESCE(raw_first, ?), ?), "
                       "raw_last = MAX(COALESCE(raw_last, ?), ?) WHERE id=?",
                       (stored, int(ticks[0]), int(ticks[0]), int(ticks[-1]), int(ticks[-1]),
                        sid))
        return stored

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
        """Device tick <-> host wall clock points of the session: what it has until the time
        sync's clock table lands (the wall clock when its first raw sample arrived)."""
        row = self._q("SELECT raw_unix, raw_unix_tick FROM sessions WHERE id=?", (sid,))
        if not row or row[0][0] is None:
            return []
        return [{"host_unix": row[0][0], "device_tick": row[0][1], "epoch": 0}]

    # --- results ----------------------------------------------------------------------------
    def write_rows(self, sid: int, rows: Rows | None = None,
                   encoded: EncodedSamples | None = None) -> None:
        """Add results (the live preview as it comes, or an import)."""
        with self.transaction() as db:
            enc = encoded or EncodedSamples()
            if rows is not None and len(rows.samples):
                enc.add(rows.samples)
            if enc.blocks:
                db.executemany("INSERT INTO sample_blocks VALUES (?,?,?,?,?)",
                               [(sid, *b) for b in enc.blocks])
            if rows is None:
                return
            if rows.steps:
                db.executemany("INSERT INTO steps VALUES (?,?,?,?,?,?,?)",
                               [(sid, s.t_s, s.side, _f(s.drop_deg), _f(s.tilt_deg),
                                 _f(s.range_deg), _f(s.cadence_spm)) for s in rows.steps])
            if rows.episodes:
                db.executemany("INSERT INTO episodes VALUES (?,?,?,?,?,?,?,?,?)",
                               [(sid, e.kind, e.side, e.start_s, e.end_s, _f(e.peak_deg),
                                 _f(e.mean_deg), e.activity, e.steps) for e in rows.episodes])
            if rows.gaps:
                db.executemany("INSERT INTO gaps VALUES (?,?,?)",
                               [(sid, g.start_s, g.end_s) for g in rows.gaps])

    def replace_results(self, sid: int, rows: Rows, encoded: EncodedSamples,
                        calibration: dict[str, object] | None, settings: Mapping[str, object],
                        note: str, ended_unix: float | None = None) -> None:
        """The final analysis in place of whatever the session held, in one transaction
        (``ended_unix``: and close the session)."""
        with self.transaction() as db:
            for table in ("sample_blocks", "steps", "episodes", "gaps", "calibration"):
                db.execute(f"DELETE FROM {table} WHERE session_id=?", (sid,))
            self.write_rows(sid, Rows(SampleBlock(), rows.steps, rows.episodes, rows.gaps),
                            encoded)
            if calibration is not None:
                db.execute("INSERT INTO calibration VALUES (?,?)", (sid, json.dumps(calibration)))
            db.execute("INSERT OR REPLACE INTO settings VALUES (?,?)",
                       (sid, json.dumps(dict(settings))))
            db.execute("UPDATE sessions SET final=1, analysed_unix=?, note=? WHERE id=?",
                       (time.time(), note, sid))
            if ended_unix is not None:
                db.execute("UPDATE sessions SET ended_unix=? WHERE id=? AND ended_unix IS NULL",
                           (ended_unix, sid))

    def shrink_gaps(self, sid: int, t_first: float, t_last: float,
                    bridge_s: float = 0.1) -> None:
        """Samples from ``t_first`` to ``t_last`` arrived late: the gaps they fall in shrink
        to what is still missing (and vanish when nothing longer than ``bridge_s`` is)."""
        with self.transaction() as db:
            hit = db.execute("SELECT rowid, start_s, end_s FROM gaps WHERE session_id=? AND "
                             "end_s > ? AND start_s < ?", (sid, t_first, t_last)).fetchall()
            for rowid, s, e in hit:
                db.execute("DELETE FROM gaps WHERE rowid=?", (rowid,))
                for a, b in ((s, t_first), (t_last, e)):
                    if b - a > bridge_s:
                        db.execute("INSERT INTO gaps VALUES (?,?,?)", (sid, a, b))

    # --- reading ----------------------------------------------------------------------------
    def rows(self, sid: int) -> Rows:
        """Everything the session holds, in time order."""
        return Rows(self.samples(sid), self.steps(sid), self.episodes(sid), self.gaps(sid))

    def samples(self, sid: int) -> SampleBlock:
        parts = [codec.decode_samples(bytes(d), float(t0)) for t0, d in self._q(  # type: ignore
            "SELECT t0, data FROM sample_blocks WHERE session_id=? ORDER BY t0", (sid,))]
        if not parts:
            return SampleBlock()
        t, o, p, a = (np.concatenate(x) for x in zip(*parts, strict=True))
        if (np.diff(t) <= 0).any():  # overlapping blocks (an import's own order): sort
            i = np.argsort(t, kind="stable")
            t, o, p, a = t[i], o[i], p[i], a[i]
        return SampleBlock(t, o, p, a.astype("<U8"))

    def steps(self, sid: int) -> list[StepRow]:
        return [StepRow(t, side, *(_nan(v) for v in rest)) for t, side, *rest in  # type: ignore
                self._q(f"SELECT {', '.join(STEP_COLUMNS)} FROM steps "
                        "WHERE session_id=? ORDER BY t_s", (sid,))]

    def episodes(self, sid: int) -> list[EpisodeRow]:
        return [EpisodeRow(k, side, a, b, _nan(pk), _nan(mn), act or "", int(n or 0))  # type: ignore
                for k, side, a, b, pk, mn, act, n in
                self._q(f"SELECT {', '.join(EPISODE_COLUMNS)} FROM episodes "
                        "WHERE session_id=? ORDER BY start_s", (sid,))]

    def gaps(self, sid: int) -> list[GapRow]:
        return [GapRow(a, b) for a, b in self._q(  # type: ignore[arg-type]
            "SELECT start_s, end_s FROM gaps WHERE session_id=? ORDER BY start_s", (sid,))]

    def stored_settings(self, sid: int) -> dict[str, object]:
        st = self._q("SELECT json FROM settings WHERE session_id=?", (sid,))
        return json.loads(str(st[0][0])) if st else {}

    def meta(self, sid: int) -> dict[str, object]:
        info = self.session(sid)
        cal = self._q("SELECT json FROM calibration WHERE session_id=?", (sid,))
        fmt = self.raw_format(sid)
        raw: dict[str, object] | None = None
        if fmt is not None:
            first = self._q("SELECT raw_first, raw_last FROM sessions WHERE id=?", (sid,))[0]
            raw = {"samples": info.raw_samples, "tick_hz": fmt.tick_hz,
                   "acc_lsb": fmt.acc_lsb, "gyr_lsb": fmt.gyr_lsb, "bits": fmt.bits,
                   "first_tick": first[0], "last_tick": first[1],
                   "t_s": "device tick / tick_hz (the unit's own clock)"}
        return {"format": "beltline-session", "format_version": 2,
                "id": info.id, "started_unix": info.started_unix,
                "ended_unix": info.ended_unix, "source": info.source, "link": info.link,
                "name": info.name, "device": info.device, "firmware": info.firmware,
                "final": info.final, "analysed_unix": info.analysed_unix,
                "note": info.note, "analysis": analysis_note(info),
                "calibration": json.loads(str(cal[0][0])) if cal else None,
                "settings": self.stored_settings(sid),
                "gaps": [{"start_s": g.start_s, "end_s": g.end_s} for g in self.gaps(sid)],
                "raw": raw, "clock": self.clock(sid), "schema_version": SCHEMA_VERSION}


def analysis_note(info: SessionInfo) -> str:
    """One sentence for the review page: what the results shown are."""
    if info.final and info.raw_samples:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.analysed_unix or 0))
        return (f"Final analysis of the complete raw record ({info.raw_samples} samples), "
                f"{when}.")
    if info.final:
        return "Analysed in full when imported (no raw record kept)."
    if info.raw_samples and not info.closed:
        return "Live preview: the final analysis runs over the raw record when the session ends."
    if info.raw_samples:
        return "Live preview: run `beltline reanalyze` for the final analysis."
    return "Live results only (recorded before Beltline kept the raw samples)."


def _counts(x: np.ndarray, fmt: RawFormat) -> np.ndarray:
    lsb = np.array([fmt.acc_lsb] * 3 + [fmt.gyr_lsb] * 3)
    c = np.rint(np.asarray(x, float) / lsb)
    lim = 32767 if fmt.bits == 16 else 2**31 - 1
    if not np.isfinite(c).all() or np.abs(c).max(initial=0) > lim:
        raise DataError(f"raw values outside what {fmt.bits}-bit counts of "
                        f"{fmt.acc_lsb} m/s² and {fmt.gyr_lsb} rad/s can hold")
    return c.astype(np.int64)


def _store_error(path: Path, what: str, exc: sqlite3.Error) -> StoreError:
    ext = getattr(exc, "sqlite_errorcode", None)
    code = ext & 0xFF if isinstance(ext, int) else None  # the primary code of an extended one
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if code == sqlite3.SQLITE_FULL or "is full" in msg:
        return StoreError(f"session store {path}: the disk (or the store's size limit) is "
                          f"full; free some space ({msg})", "full")
    if code == sqlite3.SQLITE_READONLY or "readonly" in msg:
        return StoreError(f"session store {path} cannot be written ({msg})", "readonly")
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in msg:
        return StoreError(f"session store {path} is busy: another Beltline is writing to it "
                          f"({msg}); try again", "busy")
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT) or "not a database" in msg \
            or "malformed" in msg:
        return StoreError(f"{path} is not a readable Beltline session store ({msg})",
                          "damaged")
    if code == sqlite3.SQLITE_CANTOPEN or "unable to open" in msg:
        return StoreError(f"cannot open the session store {path} ({msg})", "readonly")
    return StoreError(f"session store {path}: {what} failed ({msg})", "other")


def _f(v: float) -> float | None:
    return None if v != v else float(v)


def _nan(v: object) -> float:
    return math.nan if v is None else float(v)  # type: ignore[arg-type]


def __getattr__(name: str) -> Callable[..., object]:
    # ``from beltline.sessions.store import Recorder`` (its old home) keeps working
    if name == "Recorder":
        from beltline.sessions.recorder import Recorder

        return Recorder
    raise AttributeError(name)
