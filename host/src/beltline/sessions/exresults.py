"""Test and exercise sessions in the store: their results document, and storing one.

A session's ``kind`` is ``walk`` (every session before schema 5), ``test`` (the single-leg
stance test) or ``exercise`` (one set). A test or a set is stored like any recording: its raw
record (``exchange.store_samples``, the one path an import takes too) plus one results
document (table ``results``), which is:

- test: ``{"format": "beltline-test", "test": "trendelenburg", "legs": {...}, ...}`` — the
  fields of ``beltline test trendelenburg --out`` (``TestResult.as_dict``), plus
  ``"exercise_settings"`` (the limits it was judged with);
- exercise: ``{"format": "beltline-exercise", "exercise": NAME, "summary": {...},
  "reps": [{rep, start_s, end_s, side, flag, reason, obliquity_change_deg, tilt_change_deg,
  rotation_deg}, ...], "limits_deg": {...}, "frame", "notes", "exercise_settings"}`` — the
  rows of ``--reps`` and the summary of ``--summary``.

A test or a set recorded live holds ``pending_doc`` (``"pending": true``, no reps, both legs
incomplete) until the final analysis over its raw record replaces it (``refresh``, run by
``finish.finalise`` when the session closes, or by ``repair`` after a crash).

Times are the recording's own clock (s), as in the files. ``check`` validates a document
field by field (an import of an export folder goes through it before anything is written).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from beltline.errors import DataError
from beltline.exercise_records import (
    FLAGS,
    REASON_SEP,
    REASONS,
    REP_SIDES,
    VERDICTS,
    RepRow,
    TestResult,
)
from beltline.pipeline.exercise_settings import EXERCISES, ExerciseSettings, as_dict

if TYPE_CHECKING:
    from beltline.pipeline.reps import SetResult
    from beltline.pipeline.settings import Settings
    from beltline.sessions.store import Store

TEST, EXERCISE = "test", "exercise"
TEST_FORMAT, EXERCISE_FORMAT = "beltline-test", "beltline-exercise"
LEG_NUMBERS = ("drop_deg", "peak_drop_deg", "hold_s", "time_to_drop_s", "sway_deg", "start_s",
               "end_s")
REP_NUMBERS = ("start_s", "end_s", "obliquity_change_deg", "tilt_change_deg", "rotation_deg")
MAX_REPS = 1000


def test_doc(res: TestResult, cfg: ExerciseSettings) -> dict[str, object]:
    return {"format": TEST_FORMAT, "test": "trendelenburg", **res.as_dict(),
            "exercise_settings": as_dict(cfg)}


def rep_dict(r: RepRow) -> dict[str, object]:
    return {"rep": r.rep, "start_s": round(r.start_s, 3), "end_s": round(r.end_s, 3),
            "side": r.side, "flag": r.flag, "reason": r.reason,
            "obliquity_change_deg": round(r.obliquity_change_deg, 2),
            "tilt_change_deg": round(r.tilt_change_deg, 2),
            "rotation_deg": round(r.rotation_deg, 2)}


def exercise_doc(res: SetResult, cfg: ExerciseSettings) -> dict[str, object]:
    return {"format": EXERCISE_FORMAT, "exercise": res.exercise,
            "summary": res.summary.as_dict(), "reps": [rep_dict(r) for r in res.rows],
            "limits_deg": cfg.limits(res.exercise), "frame": res.frame,
            "notes": list(res.notes), "exercise_settings": as_dict(cfg)}


PENDING_WORDS = "not analysed yet (recorded live: the final analysis over the raw record " \
    "replaces this)"


def pending_doc(what: str, cfg: ExerciseSettings) -> dict[str, object]:
    """The document of a test (``what`` "trendelenburg") or a set (an exercise's name) being
    recorded live, until its final analysis."""
    from beltline.exercise_records import SetSummary, TestLeg

    if what == "trendelenburg":
        legs = {leg: TestLeg(leg, "incomplete", words=PENDING_WORDS) for leg in ("left", "right")}
        res = TestResult(legs, cfg.test_drop_deg, cfg.test_dwell_s, cfg.test_hold_s,
                         cfg.test_hold_tolerance_s, "", "", [PENDING_WORDS])
        return {**test_doc(res, cfg), "pending": True}
    summary = SetSummary(what, "", 0, 0, {}, math.nan, math.nan, math.nan, PENDING_WORDS)
    return {"format": EXERCISE_FORMAT, "exercise": what, "summary": summary.as_dict(),
            "reps": [], "limits_deg": cfg.limits(what), "frame": "", "notes": [PENDING_WORDS],
            "exercise_settings": as_dict(cfg), "pending": True}


def reps(doc: Mapping[str, object]) -> list[RepRow]:
    """The per-rep rows of an exercise document (checked by ``check``)."""
    out = []
    for d in doc.get("reps") or []:  # type: ignore[attr-defined]
        out.append(RepRow(int(d["rep"]), float(d["start_s"]), float(d["end_s"]), str(d["side"]),
                          str(d["flag"]), str(d["reason"]),
                          *(float(d[k]) for k in REP_NUMBERS[2:])))
    return out


def compensated_share(doc: Mapping[str, object]) -> float:
    """The share of the set's reps that were compensated (NaN: no reps)."""
    rows = reps(doc)
    return sum(r.flag == "compensated" for r in rows) / len(rows) if rows else math.nan


def kind_of(doc: Mapping[str, object] | None) -> str:
    if doc is None:
        return "walk"
    return TEST if doc.get("format") == TEST_FORMAT else EXERCISE


def store_recording(store: Store, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
                    doc: Mapping[str, object], source: str, name: str = "", link: str = "",
                    settings: Settings | None = None) -> int:
    """A test or a set as a new session: its raw record (the import's path) and its results
    document, in one transaction; returns its id."""
    from beltline.pipeline.settings import Settings as WalkSettings
    from beltline.sessions import exchange

    check(doc, "results")
    return exchange.store_samples(store, t, acc, gyr, settings or WalkSettings(), source,
                                  name=name, link=link, kind=kind_of(doc), results=doc)


def refresh(store: Store, sid: int) -> None:
    """Run the test's or the set's analysis again over the session's raw record (``beltline
    reanalyze``), with the limits it was stored with."""
    from beltline.pipeline import exercise_run
    from beltline.pipeline.exercise_settings import with_overrides

    doc = store.results(sid)
    if doc is None:
        return
    fmt = store.raw_format(sid)
    blocks = list(store.iter_raw(sid))
    if fmt is None or not blocks:
        return
    t = np.concatenate([b.ticks for b in blocks]) / fmt.tick_hz
    acc = np.concatenate([b.acc for b in blocks])
    gyr = np.concatenate([b.gyr for b in blocks])
    stored = doc.get("exercise_settings")
    cfg = with_overrides(ExerciseSettings(), dict(stored) if isinstance(stored, dict) else {})
    if kind_of(doc) == TEST:
        new = test_doc(exercise_run.trendelenburg_test(t, acc, gyr, cfg), cfg)
    else:
        new = exercise_doc(exercise_run.exercise_set(t, acc, gyr, str(doc["exercise"]), cfg),
                           cfg)
    store.set_results(sid, kind_of(new), new)


# --- checking a document (an import) -----------------------------------------------------
def check(doc: object, where: str) -> dict[str, object]:
    """``doc`` if it is a test or an exercise document; else a DataError naming the field."""
    if not isinstance(doc, dict):
        raise DataError(f"{where}: expected an object, got {type(doc).__name__}")
    fmt = doc.get("format")
    if fmt == TEST_FORMAT:
        legs = doc.get("legs")
        if not isinstance(legs, dict) or set(legs) != {"left", "right"}:
            raise DataError(f"{where}.legs: expected the legs left and right")
        for leg, d in legs.items():
            w = f"{where}.legs.{leg}"
            if not isinstance(d, dict):
                raise DataError(f"{w}: expected an object")
            if d.get("verdict") not in VERDICTS:
                raise DataError(f"{w}.verdict: {d.get('verdict')!r} is not one of "
                                f"{', '.join(VERDICTS)}")
            for k in LEG_NUMBERS:
                _number(d.get(k), f"{w}.{k}", optional=True)
        _number(doc.get("threshold_deg"), f"{where}.threshold_deg")
    elif fmt == EXERCISE_FORMAT:
        if doc.get("exercise") not in EXERCISES:
            raise DataError(f"{where}.exercise: {doc.get('exercise')!r} is not one of "
                            f"{', '.join(EXERCISES)}")
        rows = doc.get("reps")
        if not isinstance(rows, list) or len(rows) > MAX_REPS:
            raise DataError(f"{where}.reps: expected a list of at most {MAX_REPS} reps")
        for i, d in enumerate(rows):
            w = f"{where}.reps[{i}]"
            if not isinstance(d, dict):
                raise DataError(f"{w}: expected an object")
            if not isinstance(d.get("rep"), int) or isinstance(d.get("rep"), bool):
                raise DataError(f"{w}.rep: {d.get('rep')!r} is not a rep number")
            for k in REP_NUMBERS:
                _number(d.get(k), f"{w}.{k}")
            if d.get("side") not in REP_SIDES:
                raise DataError(f"{w}.side: {d.get('side')!r} is not one of left, right, both")
            if d.get("flag") not in FLAGS:
                raise DataError(f"{w}.flag: {d.get('flag')!r} is not ok or compensated")
            reason = d.get("reason")
            if not isinstance(reason, str) or any(
                    x not in REASONS for x in reason.split(REASON_SEP) if x):
                raise DataError(f"{w}.reason: {reason!r} is not made of "
                                f"{', '.join(REASONS)}")
        if not isinstance(doc.get("summary"), dict):
            raise DataError(f"{where}.summary: expected an object")
    else:
        raise DataError(f"{where}.format: {fmt!r} is not {TEST_FORMAT} or {EXERCISE_FORMAT}")
    return doc


def _number(v: object, where: str, optional: bool = False) -> None:
    if v is None and optional:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or \
            abs(v) > 1e9:
        raise DataError(f"{where}: {v!r} is not a number")


__all__ = ["EXERCISE", "TEST", "check", "compensated_share", "exercise_doc", "kind_of",
           "pending_doc", "refresh", "rep_dict", "reps", "store_recording", "test_doc"]
