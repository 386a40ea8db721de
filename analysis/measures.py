"""Measures of one session: per-stance drop by leg, symmetry, cadence, fatigue, standing tilt,
and the plain-language summary built from them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from beltline import words

from .session import SWING, Session


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
    the threshold and the share of stances above it (percent), and the mean swing-side rise in
    mid-stance (a hip hike when positive)."""
    thr = s.thresholds
    rows = []
    for side in ("left", "right"):
        d = s.steps.loc[s.steps["side"] == side, "drop_deg"].dropna()
        hike = s.steps.loc[s.steps["side"] == side, "hike_deg"].dropna() \
            if "hike_deg" in s.steps else pd.Series(dtype=float)
        over = float((d > thr[side]).mean() * 100) if len(d) else 0.0
        rows.append({"stance": side, "swing side": SWING[side], "stances": len(d),
                     "mean drop (deg)": round(float(d.mean()), 2) if len(d) else math.nan,
                     "p90 drop (deg)": round(float(d.quantile(0.9)), 2) if len(d) else math.nan,
                     "threshold (deg)": round(thr[side], 1), "above (%)": round(over, 1),
                     "mean hike (deg)": round(float(hike.mean()), 2) if len(hike) else math.nan})
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
            parts.append(f"{len(g)} {words.episode(str(kind), str(side))} "
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
