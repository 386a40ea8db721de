"""The store's schema, one migration per version (``MIGRATIONS[i]``: version i -> i+1).

A migration is SQL, or a function of the connection for what SQL cannot do (packing the old
per-sample rows into blocks); ``Store`` runs each in one transaction with its version number.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import numpy as np

from beltline.sessions import codec

SOURCES = ("live", "sync", "import")  # how a session's data came; its link says over what

V1 = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    started_unix REAL NOT NULL,      -- wall clock when recording began
    source TEXT NOT NULL,            -- virtual, ble, import (v2: live, sync, import)
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
"""

V2 = """
CREATE TABLE sessions_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a deleted session's id stays gone
    started_unix REAL NOT NULL,
    source TEXT NOT NULL,                  -- live, sync, import
    name TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    firmware TEXT NOT NULL DEFAULT '',
    ended_unix REAL,
    link TEXT NOT NULL DEFAULT '',         -- virtual, ble (what source was in v1)
    tick_hz REAL,
    raw_n INTEGER NOT NULL DEFAULT 0,
    raw_first INTEGER,
    raw_last INTEGER,
    raw_unix REAL,
    raw_unix_tick INTEGER,
    final INTEGER NOT NULL DEFAULT 0,
    analysed_unix REAL,
    note TEXT NOT NULL DEFAULT ''
);
INSERT INTO sessions_v2 (id, started_unix, source, name, device, firmware, ended_unix, link,
                         final, analysed_unix)
    SELECT id, started_unix,
           CASE WHEN source IN ('import', 'sync') THEN source ELSE 'live' END,
           name, device, firmware, ended_unix,
           CASE WHEN source IN ('import', 'sync') THEN '' ELSE source END,
           CASE WHEN source = 'import' AND ended_unix IS NOT NULL THEN 1 ELSE 0 END,
           CASE WHEN source = 'import' THEN ended_unix END
    FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v2 RENAME TO sessions;
CREATE TABLE raw_blocks (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    tick INTEGER NOT NULL,
    last_tick INTEGER NOT NULL,
    n INTEGER NOT NULL,
    acc_lsb REAL NOT NULL,
    gyr_lsb REAL NOT NULL,
    bits INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (session_id, epoch, tick)
) WITHOUT ROWID;
CREATE TABLE sample_blocks (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t0 REAL NOT NULL,
    t1 REAL NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX sample_blocks_by_time ON sample_blocks(session_id, t0);
CREATE INDEX steps_by_session ON steps(session_id, t_s);
CREATE INDEX episodes_by_session ON episodes(session_id, start_s);
CREATE INDEX gaps_by_session ON gaps(session_id, start_s)
"""
# The sessions table is rebuilt (for AUTOINCREMENT) with foreign keys off, as SQLite's
# "generalized ALTER TABLE" procedure says; the other tables keep pointing at it by name.
# Column notes (v2): sessions.tick_hz: device ticks per second of the raw record (t_s = tick /
# tick_hz); raw_n/raw_first/raw_last: how many raw samples and the first/last tick, kept with
# every write so the session list is cheap; raw_unix/raw_unix_tick: the host's wall clock when
# the first raw sample (that tick) arrived; final: the results are the batch pipeline over the
# raw record (analysed_unix: when), else a live preview; note: what happened to the session.
# raw_blocks: codec.encode_raw of ticks tick..last_tick (n samples) at acc_lsb/gyr_lsb in
# bits-bit counts; epoch numbers the unit's boots. sample_blocks: codec.encode_samples.


def _v2(db: sqlite3.Connection) -> None:
    _script(db, V2)
    # the old per-sample rows (REAL, ~60 bytes each with the index) into blocks of 0.01 deg
    sids = [r[0] for r in db.execute("SELECT DISTINCT session_id FROM samples")]
    for sid in sids:
        rows = db.execute("SELECT t_s, obliquity_deg, tilt_deg, activity FROM samples WHERE "
                          "session_id=? ORDER BY t_s", (sid,)).fetchall()
        for i in range(0, len(rows), 6000):
            t, o, p, a = zip(*rows[i: i + 6000], strict=True)
            tt = np.array(t, float)
            t0, blob = codec.encode_samples(
                tt, np.array(o, dtype=float), np.array(p, dtype=float),
                np.array([x or "" for x in a], "<U8"))
            db.execute("INSERT INTO sample_blocks VALUES (?,?,?,?,?)",
                       (sid, t0, float(tt[-1]), len(tt), blob))
    db.execute("DROP TABLE samples")


Migration = str | Callable[[sqlite3.Connection], None]
# v3: the unit's clock: at host wall time wall_unix the unit's tick counter (boot boot_id) read
# tick, given on the raw record's tick axis (a reboot's ticks are placed after the earlier
# ones); one row per connection's time sync, so every epoch's ticks map to wall time
V3 = """
CREATE TABLE clock (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    boot_id INTEGER NOT NULL,
    tick INTEGER NOT NULL,
    wall_unix REAL NOT NULL,
    rate_hz REAL NOT NULL
);
CREATE INDEX clock_by_session ON clock(session_id, wall_unix)
"""
# v4: the per-step hip-hike measure (the swing side's rise in mid-stance)
V4 = "ALTER TABLE steps ADD COLUMN hike_deg REAL"
# v5 (issue 14, log): how far ``beltline sync`` has pulled each unit's logbook: the number of
# the first record not yet received (records are numbered across the unit's boots)
V5 = """
CREATE TABLE sync_marks (
    device TEXT PRIMARY KEY,
    next_record INTEGER NOT NULL,
    synced_unix REAL NOT NULL
)
"""
# v6: what a session is (``kind``: walk, test or exercise; every older session is a walk) and
# the results of a test or an exercise set, one JSON document per session (``results.json``:
# ``beltline.sessions.exresults`` defines it: the test's per-leg result, or the set's summary
# and per-rep rows, with the limits and notes). A document, not typed tables: a session holds
# one test or one set (tens of rows), the report and trends read it whole, and its layout
# follows the analysis's output format (``--out``/``--reps``) without a migration per field.
V6 = """
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'walk';
CREATE TABLE results (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    json TEXT NOT NULL
)
"""
KINDS = ("walk", "test", "exercise")
MIGRATIONS: list[Migration] = [V1, _v2, V3, V4, V5, V6]


def run_migration(db: sqlite3.Connection, m: Migration) -> None:
    """Inside the caller's transaction (``executescript`` would commit it)."""
    if callable(m):
        m(db)
    else:
        _script(db, m)


def _script(db: sqlite3.Connection, sql: str) -> None:
    stmt = ""
    for line in sql.splitlines(keepends=True):
        stmt += line
        if sqlite3.complete_statement(stmt):
            db.execute(stmt)
            stmt = ""
    if stmt.strip():
        db.execute(stmt)
