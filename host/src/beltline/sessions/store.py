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

import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

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
from beltline.sessions import codec
from beltline.sessions.rawrecord import RawRecord
from beltline.sessions.schema import KINDS, SOURCES
from beltline.sessions.storedb import SCHEMA_VERSION, data_dir, default_path

log = logging.getLogger(__name__)

EXPORT_FORMAT = "beltline-session"  # session.json's "format"
EXPORT_VERSION = 2  # its "format_version": an import refuses a newer one
SAMPLE_BLOCK = 6000  # per-sample results per stored block (1 min at 100 Hz)
LEGACY_LINKS = ("virtual", "ble", "replay")  # sources before schema 2: now the session's link

__all__ = ["SCHEMA_VERSION", "SOURCES", "SessionInfo", "Store", "data_dir", "default_path"]


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
    kind: str = "walk"  # walk, test (the single-leg stance test) or exercise (a set)

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
                "firmware": self.firmware, "note": self.note, "kind": self.kind}


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


class Store(RawRecord):
    """The session store (see the module docstring): a connection (``StoreDB``), the raw
    record (``RawRecord``), sessions and their results."""

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
              s.link, s.raw_n, s.final, s.analysed_unix, s.note, s.tick_hz, s.kind
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
        self.vacuum()
        self.checkpoint()

    def checkpoint(self) -> None:
        """Fold the WAL into the file and empty it."""
        if not self.read_only:
            with self._errors("write"):
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

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
                db.executemany(f"INSERT INTO steps (session_id, {', '.join(STEP_COLUMNS)}) "
                               "VALUES (?,?,?,?,?,?,?,?)",
                               [(sid, s.t_s, s.side, _f(s.drop_deg), _f(s.tilt_deg),
                                 _f(s.range_deg), _f(s.cadence_spm), _f(s.hike_deg))
                                for s in rows.steps])
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

    def set_clock(self, sid: int, points: list[tuple[int, int, float, float]]) -> None:
        """The device-tick <-> wall-clock mapping of a session: (boot_id, tick, wall_unix,
        rate_hz) per time sync; replaces what was stored."""
        with self.transaction() as db:
            db.execute("DELETE FROM clock WHERE session_id=?", (sid,))
            db.executemany("INSERT INTO clock VALUES (?,?,?,?,?)",
                           [(sid, int(b), int(t), float(w), float(r)) for b, t, w, r in points])

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

    def set_results(self, sid: int, kind: str, doc: Mapping[str, object]) -> None:
        """What a test or an exercise set gave (``sessions.exresults``), with the session's
        kind, in place of what it held."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        with self.transaction() as db:
            db.execute("UPDATE sessions SET kind=? WHERE id=?", (kind, sid))
            db.execute("DELETE FROM results WHERE session_id=?", (sid,))
            if kind != "walk":
                db.execute("INSERT INTO results VALUES (?,?)",
                           (sid, json.dumps(dict(doc), allow_nan=False)))

    def results(self, sid: int) -> dict[str, object] | None:
        """The test's or the set's results document, or None (a walk)."""
        r = self._q("SELECT json FROM results WHERE session_id=?", (sid,))
        return json.loads(str(r[0][0])) if r else None

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
        return {"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION,
                "id": info.id, "started_unix": info.started_unix,
                "ended_unix": info.ended_unix, "source": info.source, "link": info.link,
                "name": info.name, "device": info.device, "firmware": info.firmware,
                "final": info.final, "analysed_unix": info.analysed_unix,
                "note": info.note, "analysis": analysis_note(info),
                "calibration": json.loads(str(cal[0][0])) if cal else None,
                "settings": self.stored_settings(sid),
                "gaps": [{"start_s": g.start_s, "end_s": g.end_s} for g in self.gaps(sid)],
                "raw": raw, "clock": self.clock(sid), "schema_version": SCHEMA_VERSION,
                "kind": info.kind, "results": self.results(sid)}


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
