"""``beltline trends``: the key measures of every session, per session and per week."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from . import measures as an
from .report import _fig_html, _page
from .session import Session


def session_row(s: Session, started_unix: float, sid: int | None) -> dict[str, object]:
    """The key measures of one session, for trends."""
    walk = an.walking_minutes(s)
    tab = an.stance_table(s)
    tilt = an.standing_tilt(s)
    n_eps = len(s.episodes)
    return {"session": sid, "date": pd.Timestamp(started_unix, unit="s").date().isoformat(),
            "walking_min": round(walk, 2),
            "left_stance_drop_deg": tab.loc["left", "mean drop (deg)"],
            "right_stance_drop_deg": tab.loc["right", "mean drop (deg)"],
            "symmetry_pct": round(an.symmetry_index(s), 1),
            "episodes": n_eps,
            "episodes_per_walking_hour": round(n_eps / (walk / 60.0), 2) if walk > 0
            else math.nan,
            "standing_tilt_median_deg": round(float(tilt.median()), 2) if len(tilt)
            else math.nan,
            "cadence_spm": round(an.cadence(s), 1)}


def trends(rows: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """Trends page and the weekly table from per-session rows."""
    df = rows.copy()
    df["week"] = pd.to_datetime(df["date"]).dt.to_period("W").dt.start_time.dt.date
    weekly = df.groupby("week").agg(
        sessions=("session", "count"), walking_min=("walking_min", "sum"),
        left_stance_drop_deg=("left_stance_drop_deg", "mean"),
        right_stance_drop_deg=("right_stance_drop_deg", "mean"),
        episodes=("episodes", "sum"),
        standing_tilt_median_deg=("standing_tilt_median_deg", "mean")).reset_index()
    weekly["episodes_per_walking_hour"] = weekly["episodes"] / (weekly["walking_min"] / 60.0)
    fig = go.Figure()
    for col, name in (("left_stance_drop_deg", "drop in left stance (°)"),
                      ("right_stance_drop_deg", "drop in right stance (°)"),
                      ("episodes_per_walking_hour", "episodes per walking hour"),
                      ("standing_tilt_median_deg", "standing tilt (° from neutral)")):
        fig.add_trace(go.Scatter(x=df["date"], y=df[col], mode="lines+markers", name=name))
    fig.update_layout(height=420, xaxis_title="date", margin={"t": 30})
    body = ["<h1>Beltline trends</h1>", _fig_html(fig), "<h2>By week</h2>",
            weekly.round(2).to_html(index=False), "<h2>By session</h2>",
            df.drop(columns=["week"]).to_html(index=False)]
    return _page("Beltline trends", body), weekly
