"""Sessions in and out of the store: store an analysis, export to CSV, import back.

An import checks everything before it writes anything and stores the session in one
transaction: a damaged export leaves the store as it was.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from beltline.errors import DataError
from beltline.pipeline.settings import Settings, as_dict
from beltline.records import GapRow, Rows
from beltline.sessions import analyze, rawcsv, tables
from beltline.sessions.store import Recorder, Store

log = logging.getLogger(__name__)

EXPORT_FILES = ("samples.csv", "steps.csv", "episodes.csv", "session.json")


def store_session(store: Store, source: str, name: str, settings: dict[str, object],
                  rows: Rows, calibration: dict[str, object] | None, device: str = "",
                  firmware: str = "", started_unix: float | None = None) -> int:
    """A whole session into the store (an import or an analysis); returns its id."""
    sid = store.new_session(source, name=name, device=device, firmware=firmware,
                            settings=settings, started_unix=started_unix)
    rec = Recorder(store, sid)
    rec.write(rows)
    rec.flush()
    store.close_session(sid, calibration)
    return sid


def import_raw(store: Store, path: Path, settings: Settings, acc_unit: str | None = None,
               gyro_unit: str | None = None, rate_hz: float | None = None) -> int:
    """Analyse a raw CSV and store it as a session; returns its id."""
    raw = rawcsv.read(path, acc_unit, gyro_unit, rate_hz)
    res = analyze.run(raw, settings)
    cal = res.pipeline.calibration
    return store_session(store, "import", Path(path).name, dict(as_dict(settings)),
                         res.out.rows(), cal.as_dict() if cal is not None else None)


def export(store: Store, sid: int, out_dir: Path) -> list[Path]:
    """Write the session's ``samples.csv``, ``steps.csv``, ``episodes.csv`` and
    ``session.json`` (device, firmware, calibration, settings, gaps) into ``out_dir``
    (``beltline.analysis.parquet`` writes the same tables as Parquet)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = store.meta(sid)
    rows = store.rows(sid)
    tables.write_samples(out_dir / "samples.csv", rows.samples)
    tables.write_steps(out_dir / "steps.csv", rows.steps)
    tables.write_episodes(out_dir / "episodes.csv", rows.episodes)
    (out_dir / "session.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return [out_dir / n for n in EXPORT_FILES]


def import_export(store: Store, export_dir: Path) -> int:
    """Read an export folder back as a new session."""
    d = Path(export_dir)
    missing = [n for n in EXPORT_FILES if not (d / n).exists()]
    if missing:
        raise DataError(f"{d} is not a Beltline export: missing {', '.join(missing)}")
    try:
        meta = json.loads((d / "session.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{d / 'session.json'}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise DataError(f"{d / 'session.json'}: expected an object, got {type(meta).__name__}")
    try:
        gaps = [GapRow(float(g["start_s"]), float(g["end_s"])) for g in meta.get("gaps", [])]
    except (TypeError, KeyError, ValueError) as exc:
        raise DataError(f"{d / 'session.json'}: field gaps is damaged ({exc})") from exc
    rows = Rows(tables.read_samples(d / "samples.csv"), tables.read_steps(d / "steps.csv"),
                tables.read_episodes(d / "episodes.csv"), gaps)
    settings = meta.get("settings") or {}
    calibration = meta.get("calibration")
    if not isinstance(settings, dict) or not (calibration is None or
                                              isinstance(calibration, dict)):
        raise DataError(f"{d / 'session.json'}: settings and calibration must be objects")
    started = meta.get("started_unix")
    if started is not None and not isinstance(started, int | float):
        raise DataError(f"{d / 'session.json'}: field started_unix: {started!r} is not a time")
    return store_session(store, "import", str(meta.get("name") or d.name), settings, rows,
                         calibration, str(meta.get("device", "")),
                         str(meta.get("firmware", "")), started)
