"""A session for review: three data frames and its metadata, loaded from the store, an export
folder or an analysis just run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from beltline.errors import DataError

SAMPLE_COLUMNS = ["t_s", "obliquity_deg", "tilt_deg", "activity"]
STEP_COLUMNS = ["t_s", "side", "drop_deg", "tilt_deg", "range_deg", "cadence_spm"]
EPISODE_COLUMNS = ["kind", "side", "start_s", "end_s", "peak_deg", "mean_deg", "activity",
                   "steps"]
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
        """Per stance leg, the drop above which a stance counts: the wearer's own drop in the
        calibration walk plus the hip-drop setting (the same rule the detector uses)."""
        cal = self.meta.get("calibration") or {}
        ref = cal.get("walk_drop_deg", [4.0, 4.0]) if isinstance(cal, dict) else [4.0, 4.0]
        settings = self.meta.get("settings") or {}
        extra = float(settings.get("hip_drop_deg", 2.5)) if isinstance(settings, dict) else 2.5
        return {"left": float(ref[0]) + extra, "right": float(ref[1]) + extra}


def load_store(store: object, sid: int) -> Session:
    """A session from an open ``beltline.sessions.store.Store``."""
    t, o, p, a = store.samples(sid)  # type: ignore[attr-defined]
    samples = pd.DataFrame({"t_s": t, "obliquity_deg": o, "tilt_deg": p, "activity": a})
    steps = pd.DataFrame(store.table(sid, "steps"), columns=STEP_COLUMNS)  # type: ignore
    eps = pd.DataFrame(store.table(sid, "episodes"), columns=EPISODE_COLUMNS)  # type: ignore
    return Session(samples, _numeric(steps), eps, store.meta(sid))  # type: ignore[attr-defined]


def load_export(folder: str | Path) -> Session:
    """A session from a ``beltline export`` folder (CSV, or Parquet if that is what it has)."""
    d = Path(folder)

    def read(name: str, cols: list[str]) -> pd.DataFrame:
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


def from_result(result: object) -> Session:
    """A session from ``beltline.sessions.analyze.run`` (a raw recording just analysed)."""
    out = result.out  # type: ignore[attr-defined]
    samples = pd.DataFrame({"t_s": out.t, "obliquity_deg": out.obliquity_deg,
                            "tilt_deg": out.tilt_deg, "activity": out.activity})
    steps = pd.DataFrame([(t, side, s.drop_deg, s.tilt_deg, s.range_deg, s.cadence_spm)
                          for t, side, s in out.steps], columns=STEP_COLUMNS)
    eps = pd.DataFrame([(e.kind, e.side, e.start_s, e.end_s, e.peak_deg, e.mean_deg,
                         e.activity, e.steps) for e in out.episodes], columns=EPISODE_COLUMNS)
    p = result.pipeline  # type: ignore[attr-defined]
    from dataclasses import asdict

    meta = {"calibration": p.calibration.as_dict() if p.calibration else None,
            "settings": asdict(p.settings),
            "gaps": [{"start_s": g.start_s, "end_s": g.end_s} for g in out.gaps]}
    return Session(samples, _numeric(steps), eps, meta)


def _numeric(steps: pd.DataFrame) -> pd.DataFrame:
    for c in ("t_s", "drop_deg", "tilt_deg", "range_deg", "cadence_spm"):
        steps[c] = pd.to_numeric(steps[c], errors="coerce")
    return steps
