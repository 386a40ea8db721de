"""``beltline trends``: the key measures of every session, per session and per week.

Sessions are placed at their start time (date and hour), so two sessions of one day stay two
points; the tables and the CSV carry headers a person reads and values rounded to what the
measurement resolves (0.01)."""

from __future__ import annotations

import datetime
import math

import pandas as pd
import plotly.graph_objects as go

from beltline import words

from . import measures as an
from .report import _fig_html, _page
from .session import Session

HEADERS = {
    "session": "session", "started": "started", "week": "week starting",
    "sessions": "sessions", "walking_min": "walking (min)",
    "left_stance_drop_deg": f"{words.stance_label('left')}: mean drop (°)",
    "right_stance_drop_deg": f"{words.stance_label('right')}: mean drop (°)",
    "left_minus_right_deg": "left-leg minus right-leg stance drop (°)",
    "episodes": "episodes", "episodes_per_walking_hour": "episodes per walking hour",
    "standing_tilt_median_deg": "standing tilt, median (° from neutral, + anterior)",
    "cadence_spm": "cadence (steps/min)",
}


def session_row(s: Session, started_unix: float, sid: int | None) -> dict[str, object]:
    """The key measures of one session, for trends."""
    walk = an.walking_minutes(s)
    tab = an.stance_table(s).to_dict("index")
    tilt = an.standing_tilt(s)
    n_eps = len(s.episodes)
    return {"session": sid,
            "started": datetime.datetime.fromtimestamp(started_unix).replace(microsecond=0),
            "walking_min": walk,
            "left_stance_drop_deg": tab["left"]["mean drop (deg)"],
            "right_stance_drop_deg": tab["right"]["mean drop (deg)"],
            "left_minus_right_deg": an.asymmetry(s)["diff_deg"],
            "episodes": n_eps,
            "episodes_per_walking_hour": n_eps / (walk / 60.0) if walk > 0 else math.nan,
            "standing_tilt_median_deg": float(tilt.median()) if len(tilt) else math.nan,
            "cadence_spm": an.cadence(s)}


def for_people(df: pd.DataFrame) -> pd.DataFrame:
    """Rounded to 0.01 with readable headers (the CSV and the page's tables)."""
    num = df.select_dtypes("number").columns
    return df.assign(**{c: df[c].round(2) for c in num}).rename(columns=HEADERS)


def trends(rows: pd.DataFrame, extra: list[str] | None = None) -> tuple[str, pd.DataFrame]:
    """Trends page and the weekly table (for people) from per-session rows of walks; ``extra``:
    more sections (the test's and the exercises', ``exercise_report.trend_sections``)."""
    if not len(rows):
        body = ["<h1>Beltline trends</h1>", "<p>No walks in the store yet.</p>", *(extra or [])]
        return _page("Beltline trends", body), pd.DataFrame(columns=["week"])
    df = rows.sort_values("started").reset_index(drop=True)
    started = pd.to_datetime(df["started"])
    df["week"] = started.dt.to_period("W").dt.start_time.dt.date
    weekly = df.groupby("week").agg(
        sessions=("session", "count"), walking_min=("walking_min", "sum"),
        left_stance_drop_deg=("left_stance_drop_deg", "mean"),
        right_stance_drop_deg=("right_stance_drop_deg", "mean"),
        left_minus_right_deg=("left_minus_right_deg", "mean"),
        episodes=("episodes", "sum"),
        standing_tilt_median_deg=("standing_tilt_median_deg", "mean")).reset_index()
    weekly["episodes_per_walking_hour"] = weekly["episodes"] / (weekly["walking_min"] / 60.0)
    fig = go.Figure()
    for col in ("left_stance_drop_deg", "right_stance_drop_deg", "episodes_per_walking_hour",
                "standing_tilt_median_deg"):
        fig.add_trace(go.Scatter(x=started, y=df[col].round(2), mode="lines+markers",
                                 name=HEADERS[col]))
    fig.update_layout(height=440, xaxis_title="session start", margin={"t": 30},
                      legend={"orientation": "h", "y": -0.25})
    body = ["<h1>Beltline trends</h1>", _fig_html(fig), "<h2>By week</h2>",
            for_people(weekly).to_html(index=False), "<h2>By session</h2>",
            for_people(df.drop(columns=["week"])).to_html(index=False), *(extra or [])]
    return _page("Beltline trends", body), for_people(weekly)
