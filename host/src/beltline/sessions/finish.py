"""A session's final analysis: the batch pipeline over its complete raw record.

``finalise`` replaces whatever results a session held (the live preview, or an earlier
analysis) with the batch pipeline's over the raw record, in one short transaction; the work
itself happens before it, so a recorder writing to the same store is never held up. It runs
when a live session closes, after an import, for ``beltline reanalyze`` (new settings), and
for a session whose recorder died (``repair``, run by every command that opens the store:
finding such a session costs one query and a lock probe per unclosed session).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

from tqdm import tqdm

from beltline.errors import BeltlineError, DataError
from beltline.pipeline import Pipeline
from beltline.pipeline.calibration import CalibrationError
from beltline.pipeline.output import Output
from beltline.pipeline.settings import Settings, as_dict, with_overrides
from beltline.records import RawBlock, Rows
from beltline.sessions.locks import SessionLock
from beltline.sessions.store import EncodedSamples, Store

log = logging.getLogger(__name__)

PIECE = 60000  # raw samples per pipeline call (10 min at 100 Hz): memory stays bounded


@dataclass(frozen=True)
class Finished:
    sid: int
    raw_samples: int
    samples: int
    steps: int
    episodes: int
    note: str
    seconds: float  # how long the analysis took


def session_settings(store: Store, sid: int) -> Settings:
    """The settings the session was recorded (or last analysed) with; names this Beltline does
    not know are left out (with a note in the log)."""
    stored = store.stored_settings(sid)
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(stored) - known)
    if unknown:
        log.info("session %d: settings %s are not known here and are left out", sid,
                 ", ".join(unknown))
    return with_overrides(Settings(), {k: v for k, v in stored.items() if k in known})


@dataclass
class Analysis:
    """What the batch pipeline made of a raw record, packed for the store."""

    rows: Rows
    encoded: EncodedSamples
    calibration: dict[str, object] | None
    settings: Settings
    note: str
    seconds: float


def analyse(pieces: Iterable[RawBlock], tick_hz: float, settings: Settings,
            total: int = 0, progress: bool = False, desc: str = "analysing") -> Analysis:
    """The batch pipeline over raw pieces in tick order (``Store.iter_raw``). A record the
    pipeline cannot calibrate (too short, never walked) gives no results and says why."""
    t0 = time.perf_counter()
    p = Pipeline(settings)
    enc = EncodedSamples()
    rows = Rows()
    note = ""
    bar = tqdm(total=total, unit="sample", desc=desc, disable=not progress, leave=False)
    try:
        for piece in pieces:
            _keep(p.push(piece.ticks / _hz(tick_hz), piece.acc, piece.gyr), enc, rows)
            bar.update(len(piece))
        _keep(p.finish(), enc, rows)
    except CalibrationError as exc:
        note = f"not analysed: {exc}"
    finally:
        bar.close()
    rows.episodes.sort(key=lambda e: e.start_s)
    cal = p.calibration.as_dict() if p.calibration is not None else None
    return Analysis(rows, enc, cal, settings, note, time.perf_counter() - t0)


def finalise(store: Store, sid: int, settings: Settings | None = None,
             ended_unix: float | None = None, progress: bool = False) -> Finished:
    """The batch pipeline over session ``sid``'s raw record, in place of its results;
    ``ended_unix``: also close it. Raises ``DataError`` for a session without raw samples."""
    info = store.session(sid)
    if not info.raw_samples or not info.tick_hz:
        raise DataError(f"session {sid} has no raw record (it was recorded before Beltline "
                        "kept raw samples, or imported without them): it cannot be analysed "
                        "again")
    store.compact_raw(sid)  # a live session's half-second blocks into one-minute ones
    a = analyse(store.iter_raw(sid, PIECE), info.tick_hz, settings or session_settings(store, sid),
                info.raw_samples, progress, f"session {sid}")
    walk = info.kind == "walk"  # a test's or a set's record is no walk to calibrate on
    if a.note and walk:
        log.warning("session %d: %s", sid, a.note)
    store.replace_results(sid, a.rows, a.encoded, a.calibration, dict(as_dict(a.settings)),
                          a.note if walk else "", ended_unix)
    if info.kind != "walk":  # a test or a set: its own analysis, again
        from beltline.sessions import exresults

        exresults.refresh(store, sid)
    store.vacuum()  # the preview's and the half-second blocks' pages back to the disk
    log.info("session %d: final analysis of %d raw samples: %d steps, %d episodes (%.1f s)",
             sid, info.raw_samples, len(a.rows.steps), len(a.rows.episodes), a.seconds)
    return Finished(sid, info.raw_samples, a.encoded.n, len(a.rows.steps),
                    len(a.rows.episodes), a.note if walk else "", a.seconds)


def _keep(out: Output, enc: EncodedSamples, rows: Rows) -> None:
    r = out.rows()
    enc.add(r.samples)  # packed at once: an hour's results stay a few MB in memory
    rows.steps += r.steps
    rows.episodes += r.episodes
    rows.gaps += r.gaps


def _hz(tick_hz: float | None) -> float:
    if not tick_hz or tick_hz <= 0:
        raise DataError("the session's raw record has no tick rate")
    return float(tick_hz)


def repair(store: Store, refinish: bool = False, progress: bool = False) -> list[int]:
    """Finish every session whose recorder died (not closed, lock free): closed at the end of
    what its raw record holds and analysed in full. ``refinish``: also give a final analysis
    to closed sessions that have a raw record but only a live preview (one whose final
    analysis was interrupted). Returns the ids finished."""
    if store.read_only:
        return []
    done = []
    todo = [(sid, True) for sid in store.unclosed()]
    if refinish:
        todo += [(s.id, False) for s in store.sessions("WHERE s.final = 0 AND s.raw_n > 0 "
                                                       "AND s.ended_unix IS NOT NULL")]
    for sid, unclosed in todo:
        with SessionLock(store.path, sid) as lock:
            if not lock.acquire():
                continue  # being recorded (or repaired) by a program that is running
            info = store.session(sid)  # again, under the lock: it may have closed meanwhile
            if unclosed and info.closed:
                continue
            end = _end_of_raw(store, sid, info.started_unix) if unclosed else None
            if unclosed:
                log.warning("session %d was not closed (its recorder stopped): finishing it "
                            "from its raw record", sid)
            try:
                if info.raw_samples:
                    finalise(store, sid, ended_unix=end, progress=progress)
                else:
                    store.close_session(sid, None, ended_unix=end or info.started_unix,
                                        note="recorder stopped before any raw sample arrived")
            except DataError as exc:
                log.warning("session %d: %s", sid, exc)
                if unclosed:
                    store.close_session(sid, None, ended_unix=end, note=str(exc))
            if unclosed:
                with store.transaction() as db:
                    db.execute("UPDATE sessions SET note = TRIM(note || ' ' || ?) WHERE id=?",
                               ("(finished after its recorder stopped)", sid))
            done.append(sid)
    return done


def _end_of_raw(store: Store, sid: int, started: float) -> float:
    row = store._q("SELECT raw_unix, raw_unix_tick, raw_last, tick_hz FROM sessions WHERE id=?",
                   (sid,))[0]
    unix, tick, last, hz = row
    if unix is None or tick is None or last is None or not hz:
        return started
    return float(unix) + (int(last) - int(tick)) / float(hz)  # type: ignore


def open_store(path: Path | None, read_only: bool = False, repair_dead: bool = True) -> Store:
    """The store for a command: opened, and any session whose recorder died finished."""
    store = Store(path, read_only=read_only)
    if repair_dead:
        try:
            repair(store)
        except BeltlineError as exc:  # never let a damaged old session stop the command
            log.warning("could not finish an interrupted session: %s", exc)
    return store
