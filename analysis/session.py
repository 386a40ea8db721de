"""A session for review: three data frames and its metadata, loaded from the store, an export
folder or an analysis just run."""

from __future__ import annotations

import json
from dataclasses import asdict, astuple, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from beltline.errors import DataError
from beltline.records import EPISODE_COLUMNS, SAMPLE_COLUMNS, STEP_COLUMNS, Rows

if TYPE_CHECKING:
    from beltline.sessions.analyze import Result
    from beltline.sessions.store import Store

__all__ = ["EPISODE_COLUMNS", "SAMPLE_COLUMNS", "STEP_COLUMNS", "Session", "from_result",
           "from_rows", "load_export", "load_store"]

SWING = {"left": "right", "right": "left"}  # the swing side of a stance on each leg


@dataclass
class Session:
    samples: pd.DataFrame
    steps: pd.DataFrame
    episodes: pd.DataFrame
    meta: dict[str, object] = field(default_factory=dict)
    # derived per-sample arrays computed once (a week is tens of millions of samples)
    cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def thresholds(self) -> dict[str, float]:
        """Per stance leg, the drop above which a stance counts against the wearer: their own
        drop in the first walk plus the hip-drop setting (one of the detector's rules; it also
        judges against the healthy band and the other leg, ``pipeline.evidence``)."""
        cal = self.meta.get("calibration") or {}
        ref = cal.get("walk_drop_deg", [4.0, 4.0]) if isinstance(cal, dict) else [4.0, 4.0]
        settings = self.meta.get("settings") or {}
        extra = float(settings.get("hip_drop_deg", 2.5)) if isinstance(settings, dict) else 2.5
        return {"left": float(ref[0]) + extra, "right": float(ref[1]) + extra}


def from_rows(rows: Rows, meta: dict[str, object]) -> Session:
    """A session from its typed rows (``beltline.records``) and metadata."""
    sa = rows.samples
    samples = pd.DataFrame({"t_s": sa.t_s, "obliquity_deg": sa.obliquity_deg,
                            "tilt_deg": sa.tilt_deg, "activity": sa.activity.astype(str)})
    steps = pd.DataFrame([astuple(x) for x in rows.steps], columns=STEP_COLUMNS)
    eps = pd.DataFrame([astuple(x) for x in rows.episodes], columns=EPISODE_COLUMNS)
    return Session(samples, _numeric(steps), eps, meta)


def load_store(store: Store, sid: int) -> Session:
    """A session from an open ``beltline.sessions.store.Store``."""
    return from_rows(store.rows(sid), store.meta(sid))


def load_export(folder: str | Path) -> Session:
    """A session from a ``beltline export`` folder (CSV, or Parquet if that is what it has)."""
    d = Path(folder)

    def read(name: str, cols: tuple[str, ...]) -> pd.DataFrame:
        pq, csv = d / f"{name}.parquet", d / f"{name}.csv"
        df = pd.read_parquet(pq) if pq.exists() else pd.read_csv(csv, keep_default_na=False,
                                                                  na_values=[""])
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(f"{d / name}: missing column(s) {', '.join(missing)}")
        return df

    absent = [n for n in ("session.json", "samples", "steps", "episodes")
              if not ((d / n).exists() or (d / f"{n}.csv").exists()
                      or (d / f"{n}.parquet").exists())]
    if absent:
        raise DataError(f"{d} is not a Beltline export: missing {', '.join(absent)}")
    try:
        meta = json.loads((d / "session.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{d / 'session.json'} is not readable JSON: {exc}") from None
    samples = read("samples", SAMPLE_COLUMNS)
    samples["activity"] = samples["activity"].fillna("").astype(str)
    eps = read("episodes", EPISODE_COLUMNS)
    eps["side"] = eps["side"].fillna("").astype(str)
    return Session(samples, _numeric(read("steps", STEP_COLUMNS)), eps, meta)


def from_result(result: Result) -> Session:
    """A session from ``beltline.sessions.analyze.run`` (a raw recording just analysed)."""
    out, p = result.out, result.pipeline
    meta: dict[str, object] = {
        "calibration": p.calibration.as_dict() if p.calibration else None,
        "settings": asdict(p.settings),
        "gaps": [{"start_s": g.start_s, "end_s": g.end_s} for g in out.gaps]}
    return from_rows(out.rows(), meta)


def _numeric(steps: pd.DataFrame) -> pd.DataFrame:
    for c in ("t_s", "drop_deg", "tilt_deg", "range_deg", "cadence_spm"):
        steps[c] = pd.to_numeric(steps[c], errors="coerce")
    return steps
