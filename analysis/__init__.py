"""Session review as plain functions over pandas data frames (``beltline.analysis``).

A session is three frames — ``samples`` (t_s, obliquity_deg, tilt_deg, activity), ``steps``
(t_s, side, drop_deg, tilt_deg, range_deg, cadence_spm; side = the stance leg of the stance
that follows the strike) and ``episodes`` (kind, side, start_s, end_s, peak_deg, mean_deg,
activity, steps) — plus its metadata (calibration, settings). Load one from the store, an
export folder or a raw CSV, then::

    from beltline.analysis import load_export, stance_table, fatigue_trend, summary
    s = load_export("walk-3/")
    stance_table(s)            # per stance leg: stances, mean drop, share above threshold
    fatigue_trend(s, "left")   # drop against walking time: slope per 10 min and its SE
    print("\\n".join(summary(s)))

Angles in degrees; obliquity + = right side lower, tilt + = anterior, from the standing neutral.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SAMPLE_COLUMNS = ["t_s", "obliquity_deg", "tilt_deg", "activity"]
STEP_COLUMNS = ["t_s", "side", "drop_deg", "tilt_deg", "range_deg", "cadence_spm"]
EPISODE_COLUMNS = ["kind", "side", "start_s", "end_s", "peak_deg", "mean_deg", "activity",
                   "steps"]
SWING = {"left": "right", "right": "left"}
KIND_WORDS = {"hip_drop": "hip drop", "anterior_tilt": "anterior tilt",
              "pelvic_obliquity": "standing pelvic obliquity"}


@dataclass
class Session:
    samples: pd.DataFrame
    steps: pd.DataFrame
    episodes: pd.DataFrame
    meta: dict[str, object] = field(default_factory=dict)

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
    """A session from an open ``beltline.store.Store``."""
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
            raise ValueError(f"{d / name}: missing column(s) {', '.join(missing)}")
        return df

    meta = json.loads((d / "session.json").read_text(encoding="utf-8"))
    samples = read("samples", SAMPLE_COLUMNS)
    samples["activity"] = samples["activity"].fillna("").astype(str)
    eps = read("episodes", EPISODE_COLUMNS)
    eps["side"] = eps["side"].fillna("").astype(str)
    return Session(samples, _numeric(read("steps", STEP_COLUMNS)), eps, meta)


def from_result(result: object) -> Session:
    """A session from ``beltline.analyze.run`` (a raw recording just analysed)."""
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


# --- measures -----------------------------------------------------------------------------
def sample_period(s: Session) -> float:
    t = s.samples["t_s"].to_numpy()
    return float(np.median(np.diff(t))) if len(t) > 1 else 0.01


def walking_minutes(s: Session) -> float:
    return float((s.samples["activity"] == "walking").sum()) * sample_period(s) / 60.0


def walking_clock(s: Session, t: np.ndarray | pd.Series) -> np.ndarray:
    """Minutes of walking done by each time ``t`` (the clock fatigue is read against)."""
    walk = (s.samples["activity"] == "walking").to_numpy(float)
    cum = np.cumsum(walk) * sample_period(s) / 60.0
    return np.interp(np.asarray(t, float), s.samples["t_s"].to_numpy(float), cum)


def stance_table(s: Session) -> pd.DataFrame:
    """Per stance leg: number of single-leg stances, mean and 90th-percentile swing-side drop,
    the threshold and the share of stances above it (percent)."""
    thr = s.thresholds
    rows = []
    for side in ("left", "right"):
        d = s.steps.loc[s.steps["side"] == side, "drop_deg"].dropna()
        over = float((d > thr[side]).mean() * 100) if len(d) else 0.0
        rows.append({"stance": side, "swing side": SWING[side], "stances": len(d),
                     "mean drop (deg)": round(float(d.mean()), 2) if len(d) else math.nan,
                     "p90 drop (deg)": round(float(d.quantile(0.9)), 2) if len(d) else math.nan,
                     "threshold (deg)": round(thr[side], 1), "above (%)": round(over, 1)})
    return pd.DataFrame(rows).set_index("stance")


def symmetry_index(s: Session) -> float:
    """Robinson's symmetry index of the mean swing-side drop, percent: 100 (L - R) / mean(L, R)
    (0 = symmetric; + = more drop in left stance)."""
    d = s.steps.dropna(subset=["drop_deg"])
    left = d.loc[d["side"] == "left", "drop_deg"].mean()
    right = d.loc[d["side"] == "right", "drop_deg"].mean()
    if not (left == left and right == right) or left + right == 0:
        return math.nan
    return float(100.0 * (left - right) / (0.5 * (left + right)))


def cadence(s: Session) -> float:
    """Median cadence over the session's steps, steps per minute."""
    c = s.steps["cadence_spm"].dropna()
    return float(c.median()) if len(c) else math.nan


def fatigue_trend(s: Session, side: str) -> dict[str, float]:
    """Swing-side drop in ``side`` stance against minutes of walking done: least-squares slope
    in degrees per 10 min of walking, its standard error, and the number of stances."""
    st = s.steps[(s.steps["side"] == side)].dropna(subset=["drop_deg"])
    n = len(st)
    if n < 10:
        return {"slope_deg_per_10min": math.nan, "se": math.nan, "n": n}
    x = walking_clock(s, st["t_s"].to_numpy()) / 10.0
    y = st["drop_deg"].to_numpy(float)
    xm = x - x.mean()
    sxx = float((xm * xm).sum())
    if sxx <= 0:
        return {"slope_deg_per_10min": math.nan, "se": math.nan, "n": n}
    slope = float((xm * (y - y.mean())).sum() / sxx)
    resid = y - y.mean() - slope * xm
    se = float(math.sqrt((resid * resid).sum() / (n - 2) / sxx))
    return {"slope_deg_per_10min": slope, "se": se, "n": n,
            "intercept_deg": float(y.mean() - slope * x.mean())}


def standing_tilt(s: Session) -> pd.Series:
    """Tilt samples while standing (degrees from the neutral)."""
    return s.samples.loc[s.samples["activity"] == "standing", "tilt_deg"].dropna()


def episode_table(s: Session) -> pd.DataFrame:
    e = s.episodes.copy()
    e["minutes"] = (e["end_s"] - e["start_s"]) / 60.0
    return e


def summary(s: Session) -> list[str]:
    """The report's first lines, in plain language; every number comes from the tables."""
    lines: list[str] = []
    walk = walking_minutes(s)
    tab = stance_table(s)
    said = False
    for stance in ("left", "right"):
        row = tab.loc[stance]
        if row["stances"] and row["above (%)"] >= 10.0:
            st = s.steps[(s.steps["side"] == stance)
                         & (s.steps["drop_deg"] > row["threshold (deg)"])]
            mins = walking_clock(s, st["t_s"].to_numpy())
            when = ""
            if len(mins) and walk > 0:
                q1 = float(np.quantile(mins, 0.25))
                when = (f", mostly after minute {q1:.0f}" if q1 > 0.25 * walk
                        else ", throughout the walk")
            lines.append(
                f"In {walk:.0f} min of walking your pelvis dropped more than "
                f"{row['threshold (deg)']:.1f}° on the {row['swing side']} side in "
                f"{row['above (%)']:.0f}% of {stance}-leg steps{when}.")
            said = True
    if not said and tab["stances"].sum():
        lines.append(f"In {walk:.0f} min of walking your pelvis stayed within your normal "
                     f"range: the swing side dropped more than the threshold in "
                     f"{tab.loc['left', 'above (%)']:.0f}% of left-leg and "
                     f"{tab.loc['right', 'above (%)']:.0f}% of right-leg steps.")
    e = s.episodes
    if len(e):
        parts = []
        for (kind, side), g in e.groupby(["kind", "side"]):
            where = (f" in {side} stance" if kind == "hip_drop" else
                     f", {side} side lower" if side else "")
            parts.append(f"{len(g)} {KIND_WORDS.get(kind, kind)}{where} "
                         f"({float((g['end_s'] - g['start_s']).sum()) / 60:.1f} min)")
        lines.append(f"Sustained episodes: {'; '.join(parts)}.")
    else:
        lines.append("No sustained episodes.")
    si = symmetry_index(s)
    if si == si:
        lines.append(f"Left/right symmetry index of the drop: {si:+.0f}% (0 is symmetric; "
                     "beyond ±10% separated patients with a Trendelenburg sign in a pilot).")
    cad = cadence(s)
    if cad == cad:
        lines.append(f"Cadence: {cad:.0f} steps per minute.")
    for stance in ("left", "right"):
        f = fatigue_trend(s, stance)
        if f["n"] >= 10 and abs(f["slope_deg_per_10min"]) > 2 * f["se"] and \
                abs(f["slope_deg_per_10min"]) >= 0.2:
            verb = "grew" if f["slope_deg_per_10min"] > 0 else "shrank"
            lines.append(f"The drop in {stance} stance {verb} by "
                         f"{abs(f['slope_deg_per_10min']):.1f}° ± {f['se']:.2f}° per 10 min of "
                         "walking.")
    tilt = standing_tilt(s)
    if len(tilt):
        within = float((tilt.abs() <= 2.0).mean() * 100)
        lines.append(f"While standing, your tilt was within 2° of your neutral {within:.0f}% "
                     f"of the time (median {float(tilt.median()):+.1f}°).")
    return lines
