"""The session store: one SQLite file in the user's data folder, in WAL mode.

Tables: ``sessions``, ``samples`` (100 Hz: time, obliquity, tilt, activity), ``steps``,
``episodes``, ``gaps``, and per session its ``calibration`` and ``settings`` as JSON. The schema
version is SQLite's ``user_version``; ``MIGRATIONS[i]`` takes a file from version i to i+1, so a
newer Beltline opens an older file by upgrading it in place (in one transaction).

Crash safety: a ``Recorder`` commits at least once per second of data, and SQLite's WAL makes
each commit atomic, so a recorder killed at any moment loses at most the last second and the
file stays readable. Health data stay in this file on the user's machine.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from beltline.errors import DataError
from beltline.records import (
    EPISODE_COLUMNS,
    STEP_COLUMNS,
    EpisodeRow,
    GapRow,
    Rows,
    SampleBlock,
    StepRow,
)

MIGRATIONS = [
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        started_unix REAL NOT NULL,      -- wall clock when recording began
        source TEXT NOT NULL,            -- virtual, ble, import
        name TEXT NOT NULL DEFAULT '',
        device TEXT NOT NULL DEFAULT '',
        firmware TEXT NOT NULL DEFAULT '',
        ended_unix REAL                  -- NULL while recording (or if the recorder died)
    );
    CREATE TABLE samples (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        t_s REAL NOT NULL, obliquity_deg REAL, tilt_deg REAL, activity TEXT NOT NULL
    );
    CREATE INDEX samples_by_time ON samples(session_id, t_s);
    CREATE TABLE steps (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        t_s REAL NOT NULL, side TEXT NOT NULL, drop_deg REAL, tilt_deg REAL,
        range_deg REAL, cadence_spm REAL
    );
    CREATE TABLE episodes (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        kind TEXT NOT NULL, side TEXT NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL,
        peak_deg REAL, mean_deg REAL, activity TEXT, steps INTEGER
    );
    CREATE TABLE gaps (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        start_s REAL NOT NULL, end_s REAL NOT NULL
    );
    CREATE TABLE calibration (
        session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        json TEXT NOT NULL
    );
    CREATE TABLE settings (
        session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        json TEXT NOT NULL
    );
    """,
    # 2: the per-step hip-hike measure (the swing side's rise in mid-stance)
    """
    ALTER TABLE steps ADD COLUMN hike_deg REAL;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def data_dir() -> Path:
    """Where Beltline keeps the store: ``$BELTLINE_HOME`` if set, else the platform's user
    data folder (XDG on Linux, Application Support on macOS, LOCALAPPDATA on Windows)."""
    env = os.environ.get("BELTLINE_HOME")
    if env:
        return Path(env)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "beltline"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "beltline"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "beltline"


def default_path() -> Path:
    return data_dir() / "beltline.db"


@dataclass(frozen=True)
class SessionInfo:
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


class Store:
    """A connection to the store file (created and migrated on open)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)  # explicit transactions
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never torn
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise DataError(f"{self.path} has schema version {version}, newer than this "
                            f"Beltline understands ({SCHEMA_VERSION}); update Beltline")
        for v in range(version, SCHEMA_VERSION):
            # one transaction per step: the schema and its version number change together
            self.db.executescript(f"BEGIN;{MIGRATIONS[v]};PRAGMA user_version={v + 1};COMMIT;")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sessions ---------------------------------------------------------------------------
    def new_session(self, source: str, name: str = "", device: str = "",
                    firmware: str = "", settings: dict[str, object] | None = None,
                    started_unix: float | None = None) -> int:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO sessions(started_unix, source, name, device, firmware) "
                "VALUES (?,?,?,?,?)",
                (started_unix if started_unix is not None else time.time(), source, name,
                 device, firmware))
            sid = int(cur.lastrowid or 0)
            db.execute("INSERT INTO settings VALUES (?,?)", (sid, json.dumps(settings or {})))
        return sid

    def sessions(self) -> list[SessionInfo]:
        rows = self.db.execute("""
            SELECT s.id, s.started_unix, s.ended_unix, s.source, s.name, s.device, s.firmware,
              (SELECT COUNT(*) FROM samples WHERE session_id=s.id),
              (SELECT COALESCE(MAX(t_s) - MIN(t_s), 0) FROM samples WHERE session_id=s.id),
              (SELECT COUNT(*) FROM episodes WHERE session_id=s.id)
            FROM sessions s ORDER BY s.id""").fetchall()
        return [SessionInfo(*r) for r in rows]

    def session(self, sid: int) -> SessionInfo:
        for s in self.sessions():
            if s.id == sid:
                return s
        raise DataError(f"no session {sid} in {self.path}; `beltline sessions` lists them")

    def close_session(self, sid: int, calibration: dict[str, object] | None) -> None:
        """The one way a session ends: its calibration (if any) and its end time, together."""
        with self.transaction() as db:
            if calibration is not None:
                db.execute("INSERT OR REPLACE INTO calibration VALUES (?,?)",
                           (sid, json.dumps(calibration)))
            db.execute("UPDATE sessions SET ended_unix=? WHERE id=?", (time.time(), sid))

    # --- reading ----------------------------------------------------------------------------
    def rows(self, sid: int) -> Rows:
        """Everything the session holds, in time order."""
        return Rows(self.samples(sid), self.steps(sid), self.episodes(sid), self.gaps(sid))

    def samples(self, sid: int) -> SampleBlock:
        rows = self.db.execute("SELECT t_s, obliquity_deg, tilt_deg, activity FROM samples "
                               "WHERE session_id=? ORDER BY t_s", (sid,)).fetchall()
        if not rows:
            return SampleBlock()
        t, o, p, a = zip(*rows, strict=True)
        return SampleBlock(np.array(t, float), np.array(o, float), np.array(p, float),
                           np.array(a, "<U8"))

    def steps(self, sid: int) -> list[StepRow]:
        return [StepRow(t, side, *(_nan(v) for v in rest)) for t, side, *rest in
                self.db.execute(f"SELECT {', '.join(STEP_COLUMNS)} FROM steps "
                                "WHERE session_id=? ORDER BY t_s", (sid,))]

    def episodes(self, sid: int) -> list[EpisodeRow]:
        return [EpisodeRow(k, side, a, b, _nan(pk), _nan(mn), act or "", int(n or 0))
                for k, side, a, b, pk, mn, act, n in
                self.db.execute(f"SELECT {', '.join(EPISODE_COLUMNS)} FROM episodes "
                                "WHERE session_id=? ORDER BY start_s", (sid,))]

    def gaps(self, sid: int) -> list[GapRow]:
        return [GapRow(a, b) for a, b in self.db.execute(
            "SELECT start_s, end_s FROM gaps WHERE session_id=? ORDER BY start_s", (sid,))]

    def meta(self, sid: int) -> dict[str, object]:
        info = self.session(sid)
        cal = self.db.execute("SELECT json FROM calibration WHERE session_id=?",
                              (sid,)).fetchone()
        st = self.db.execute("SELECT json FROM settings WHERE session_id=?", (sid,)).fetchone()
        return {"id": info.id, "started_unix": info.started_unix,
                "ended_unix": info.ended_unix, "source": info.source, "name": info.name,
                "device": info.device, "firmware": info.firmware,
                "calibration": json.loads(cal[0]) if cal else None,
                "settings": json.loads(st[0]) if st else {},
                "gaps": [{"start_s": g.start_s, "end_s": g.end_s} for g in self.gaps(sid)],
                "schema_version": SCHEMA_VERSION}


class Recorder:
    """Writes one session's pipeline output as it comes, committing at least once per
    ``commit_s`` seconds of data (so a crash loses at most that much)."""

    def __init__(self, store: Store, sid: int, commit_s: float = 1.0) -> None:
        self.store = store
        self.sid = sid
        self.commit_s = commit_s
        self._rows: dict[str, list[tuple[object, ...]]] = {
            "samples": [], "steps": [], "episodes": [], "gaps": []}
        self._first_t: float | None = None

    def write(self, rows: Rows) -> None:
        """Queue rows (``pipeline.Output.rows()``); commits when a second of data has gathered,
        and at once for an episode or a gap."""
        sid = self.sid
        sa = rows.samples
        t = sa.t_s
        if len(t):
            self._rows["samples"] += list(zip(
                [sid] * len(t), t.tolist(), _nan_none(sa.obliquity_deg),
                _nan_none(sa.tilt_deg), sa.activity.tolist(), strict=True))
            if self._first_t is None:
                self._first_t = float(t[0])
        for st in rows.steps:
            self._rows["steps"].append((sid, st.t_s, st.side, _f(st.drop_deg), _f(st.tilt_deg),
                                        _f(st.range_deg), _f(st.cadence_spm),
                                        _f(st.hike_deg)))
        for e in rows.episodes:
            self._rows["episodes"].append((sid, e.kind, e.side, e.start_s, e.end_s,
                                           e.peak_deg, e.mean_deg, e.activity, e.steps))
        for g in rows.gaps:
            self._rows["gaps"].append((sid, g.start_s, g.end_s))
        if self._first_t is not None and len(t) and float(t[-1]) - self._first_t >= \
                self.commit_s:
            self.flush()
        elif rows.episodes or rows.gaps:
            self.flush()

    def flush(self) -> None:
        sql = {"samples": "INSERT INTO samples VALUES (?,?,?,?,?)",
               "steps": "INSERT INTO steps (session_id, t_s, side, drop_deg, tilt_deg, "
                        "range_deg, cadence_spm, hike_deg) VALUES (?,?,?,?,?,?,?,?)",
               "episodes": "INSERT INTO episodes VALUES (?,?,?,?,?,?,?,?,?)",
               "gaps": "INSERT INTO gaps VALUES (?,?,?)"}
        with self.store.transaction() as db:
            for name, rows in self._rows.items():
                if rows:
                    db.executemany(sql[name], rows)
                    rows.clear()
        self._first_t = None


def _nan_none(x: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in x.tolist()]


def _f(v: float) -> float | None:
    return None if v != v else float(v)


def _nan(v: object) -> float:
    return math.nan if v is None else float(v)  # type: ignore[arg-type]
