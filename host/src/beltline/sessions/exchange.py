"""Sessions in and out of the store: record an analysis, export to CSV, import back."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np

from beltline import privacy
from beltline.errors import DataError
from beltline.pipeline.episodes import Episode
from beltline.pipeline.output import Output
from beltline.pipeline.resample import Gap
from beltline.pipeline.settings import Settings, as_dict
from beltline.sessions import analyze, rawcsv
from beltline.sessions.store import Recorder, Store

log = logging.getLogger(__name__)

EXPORT_FILES = ("samples.csv", "steps.csv", "episodes.csv", "session.json")
STEP_COLUMNS = ("t_s", "side", "drop_deg", "tilt_deg", "range_deg", "cadence_spm")


def import_raw(store: Store, path: Path, settings: Settings, acc_unit: str = "m/s2",
               gyro_unit: str = "rad/s") -> int:
    """Analyse a raw CSV and store it as a session; returns its id."""
    raw = rawcsv.read(path, acc_unit, gyro_unit)
    res = analyze.run(raw, settings)
    sid = store.new_session("import", name=Path(path).name, settings=as_dict(settings))
    rec = Recorder(store, sid)
    rec.write(res.out)
    rec.flush()
    cal = res.pipeline.calibration
    if cal is not None:
        store.set_calibration(sid, cal.as_dict())
    store.end_session(sid)
    return sid


def export(store: Store, sid: int, out_dir: Path) -> list[Path]:
    """Write the session's ``samples.csv``, ``steps.csv``, ``episodes.csv`` and
    ``session.json`` (device, firmware, calibration, settings, gaps) into ``out_dir``
    (``beltline.analysis.parquet`` writes the same tables as Parquet)."""
    out_dir = privacy.private_dir(out_dir)  # health data: 0700 folder, 0600 files
    for name in EXPORT_FILES:
        privacy.private_file(out_dir / name)  # the writers below keep the mode
    meta = store.meta(sid)
    t, o, p, a = store.samples(sid)
    analyze.write_samples(out_dir / "samples.csv", t, o, p, a)
    with (out_dir / "steps.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(STEP_COLUMNS)
        for ts, side, *values in store.table(sid, "steps"):
            w.writerow([f"{ts:.3f}", side, *(_fmt(v) for v in values)])
    eps = [Episode(*r) for r in store.table(sid, "episodes")]  # type: ignore[arg-type]
    analyze.write_episodes(out_dir / "episodes.csv", eps)
    privacy.write_text(out_dir / "session.json", json.dumps(meta, indent=2))
    return [out_dir / n for n in EXPORT_FILES]


def import_export(store: Store, export_dir: Path) -> int:
    """Read an export folder back as a new session."""
    d = Path(export_dir)
    missing = [n for n in EXPORT_FILES if not (d / n).exists()]
    if missing:
        raise DataError(f"{d} is not a Beltline export: missing {', '.join(missing)}")
    try:
        meta = json.loads((d / "session.json").read_text(encoding="utf-8"))
        samples = _read_csv(d / "samples.csv", ["t_s", "obliquity_deg", "tilt_deg", "activity"])
        steps = _read_csv(d / "steps.csv", list(STEP_COLUMNS))
        episodes = _read_csv(d / "episodes.csv", list(analyze.EPISODE_COLUMNS))
    except (json.JSONDecodeError, ValueError, KeyError) as exc:
        raise DataError(f"{d}: damaged export ({exc})") from exc
    sid = store.new_session("import", name=str(meta.get("name") or d.name),
                            device=str(meta.get("device", "")),
                            firmware=str(meta.get("firmware", "")),
                            settings=meta.get("settings") or {},
                            started_unix=meta.get("started_unix"))
    out = Output()
    out.add_samples(np.array([float(r["t_s"]) for r in samples]),
                    np.array([_num(r["obliquity_deg"]) for r in samples]),
                    np.array([_num(r["tilt_deg"]) for r in samples]),
                    np.array([r["activity"] for r in samples], "<U8"))
    from beltline.pipeline.gait import Step

    out.steps = [(float(r["t_s"]), r["side"], Step(0, r["side"], 0, _num(r["drop_deg"]),
                                                    _num(r["tilt_deg"]), 0.0, 0.0,
                                                    _num(r["range_deg"]), _num(r["cadence_spm"])))
                 for r in steps]
    out.episodes = [Episode(r["kind"], r["side"], float(r["start_s"]), float(r["end_s"]),
                            float(r["peak_deg"]), float(r["mean_deg"]), r["activity"],
                            int(r["steps"])) for r in episodes]
    out.gaps = [Gap(float(g["start_s"]), float(g["end_s"])) for g in meta.get("gaps", [])]
    rec = Recorder(store, sid)
    rec.write(out)
    rec.flush()
    if meta.get("calibration"):
        store.set_calibration(sid, meta["calibration"])
    store.end_session(sid)
    return sid


def _read_csv(path: Path, columns: list[str]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    for i, r in enumerate(rows, start=2):
        if any(r.get(c) is None for c in columns):
            raise DataError(f"{path}: line {i} is incomplete (a truncated file?)")
    return rows


def _num(s: str) -> float:
    return float(s) if s not in ("", None) else float("nan")


def _fmt(v: object) -> str:
    return "" if v is None else f"{float(v):.3f}"  # type: ignore[arg-type]
