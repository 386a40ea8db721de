"""``beltline report`` and ``beltline trends``: self-contained Plotly HTML for a physiotherapist.

The HTML carries plotly.js inline, once, so it opens offline; long series are thinned for
drawing (the tables use every stance).
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from tqdm import tqdm

from beltline import privacy, words
from beltline.dashboard import figures
from beltline.pipeline.episodes import Episode

from . import measures as an
from .session import EPISODE_COLUMNS, Session

log = logging.getLogger(__name__)

_STYLE = """body{font-family:sans-serif;max-width:1100px;margin:auto;padding:0 12px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
.summary{font-size:1.15em;background:#f5f5f5;padding:8px 14px;border-radius:4px}
.measures td:first-child{text-align:left}"""


def _fig_html(fig: go.Figure) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False,
                       config={"displaylogo": False, "responsive": True})


def _page(title: str, body: list[str]) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
            + "\n".join(body) + "</body></html>")


def drop_distribution(s: Session) -> go.Figure:
    """Box per stance leg, side by side, from precomputed quartiles (the page carries 5 numbers
    per box, not every stance), each with its own threshold drawn over that box only."""
    fig = go.Figure()
    thr = s.thresholds
    shapes: list[dict[str, object]] = []
    notes: list[dict[str, object]] = []
    for i, (side, colour) in enumerate((("left", "#1565c0"), ("right", "#ad1457"))):
        name = words.stance_label(side)
        d = s.steps.loc[s.steps["side"] == side, "drop_deg"].dropna().to_numpy()
        if len(d):
            q1, med, q3 = np.percentile(d, [25, 50, 75])
            iqr = q3 - q1
            lo = float(d[d >= q1 - 1.5 * iqr].min())
            hi = float(d[d <= q3 + 1.5 * iqr].max())
            fig.add_trace(go.Box(x=[name], name=name, q1=[q1], median=[med], q3=[q3],
                                 lowerfence=[lo], upperfence=[hi], marker_color=colour,
                                 width=0.5))
        shapes.append({"type": "line", "xref": "x", "yref": "y", "x0": i - 0.35,
                       "x1": i + 0.35, "y0": thr[side], "y1": thr[side],
                       "line": {"color": colour, "dash": "dot", "width": 2}})
        notes.append({"xref": "x", "yref": "y", "x": i + 0.36, "y": thr[side],
                      "xanchor": "left", "showarrow": False,
                      "text": f"threshold {thr[side]:.1f}°"})
    fig.update_layout(height=340, yaxis_title="swing-side drop per stance (°)",
                      margin={"t": 30}, showlegend=False, shapes=shapes, annotations=notes,
                      xaxis={"type": "category",
                             "categoryarray": [words.stance_label(x) for x in ("left", "right")],
                             "range": [-0.6, 1.9]})
    return fig


def fatigue_figure(s: Session) -> go.Figure:
    """One-minute means of the drop per stance leg over minutes of walking, with the
    description the summary gives (a step's two levels, a trend's Theil–Sen line)."""
    fig = go.Figure()
    for side, colour in (("left", "#1565c0"), ("right", "#ad1457")):
        m = an.drop_by_minute(s, side)
        if not len(m):
            continue
        x = m["minute"].to_numpy(float)
        fig.add_trace(go.Scatter(x=x, y=m["mean_deg"].round(2), mode="markers",
                                 marker={"size": 6, "color": colour},
                                 name=f"{words.stance_label(side)}, one-minute means"))
        f = an.fatigue_trend(s, side)
        if f["model"] == "trend":
            xs = np.array([float(x.min()), float(x.max())])
            slope = float(f["slope_deg_per_10min"]) / 10.0  # type: ignore[arg-type]
            fig.add_trace(go.Scatter(
                x=xs, y=float(f["intercept_deg"]) + slope * xs,  # type: ignore[arg-type]
                mode="lines", line={"color": colour},
                name=f"{words.stance(side)}: trend {10 * slope:+.1f}° per 10 min"))
        elif f["model"] == "step":
            c = float(f["change_minute"])  # type: ignore[arg-type]
            b, a = float(f["before_deg"]), float(f["after_deg"])  # type: ignore[arg-type]
            fig.add_trace(go.Scatter(
                x=[float(x.min()), c, c, float(x.max())], y=[b, b, a, a], mode="lines",
                line={"color": colour, "shape": "hv"},
                name=f"{words.stance(side)}: step {b:.1f}° → {a:.1f}° at minute {c:.0f}"))
    fig.update_layout(height=320, xaxis_title="minutes of walking",
                      yaxis_title="swing-side drop (°)", margin={"t": 30})
    return fig


def cadence_figure(s: Session) -> go.Figure:
    st = s.steps.dropna(subset=["cadence_spm"])
    c = st["cadence_spm"].rolling(20, min_periods=5, center=True).median()
    step = max(1, len(st) // 3000)
    fig = go.Figure(go.Scattergl(x=st["t_s"].to_numpy()[::step], y=c.to_numpy()[::step],
                                 mode="lines", name="cadence"))
    fig.update_layout(height=260, xaxis_title="time (s)", yaxis_title="steps per minute",
                      margin={"t": 30})
    return fig


def standing_tilt_figure(s: Session, threshold_deg: float) -> go.Figure:
    tilt = an.standing_tilt(s).to_numpy()
    counts, edges = np.histogram(tilt, bins=60) if len(tilt) else (np.zeros(0), np.zeros(1))
    share = 100.0 * counts / max(len(tilt), 1)
    fig = go.Figure(go.Bar(x=0.5 * (edges[1:] + edges[:-1]), y=share, name="standing tilt",
                           width=float(edges[1] - edges[0]) if len(edges) > 1 else 1.0))
    fig.update_layout(yaxis_title="% of standing time")
    fig.add_vline(x=0.0, line_color="#2e7d32", annotation_text="neutral")
    fig.add_vline(x=threshold_deg, line_color="#c62828", line_dash="dot",
                  annotation_text="anterior-tilt threshold")
    fig.update_layout(height=260, xaxis_title="tilt while standing (° from neutral, + anterior)",
                      margin={"t": 30})
    return fig


def build(s: Session, title: str) -> str:
    """The report page for one session."""
    from . import exercise_report

    if exercise_report.results(s) is not None:  # a test or an exercise set
        return exercise_report.build(s, title)
    settings = s.meta.get("settings") or {}
    tilt_thr = float(settings.get("anterior_tilt_deg", 5.0)) if isinstance(settings, dict) \
        else 5.0
    steps = tqdm(total=6, desc="report", unit="part", disable=len(s.samples) < 1_000_000)
    body = [f"<h1>{html.escape(title)}</h1>", "<div class='summary'>"]
    rows = an.session_measures(s)
    body += [f"<p>{html.escape(line)}</p>" for line in an.summary(s, rows)]
    body.append("</div>")
    steps.update()
    body += ["<h2>Session measures (every number of the summary)</h2>",
             an.measures_table(s, rows).to_html(index=False, classes="measures"),
             "<h2>Per stance leg</h2>", an.stance_table_for_people(s).to_html()]
    eps = [Episode(*r) for r in s.episodes[list(EPISODE_COLUMNS)].itertuples(index=False)]
    body += ["<h2>Episodes</h2>", an.episode_table(s).to_html(index=False)
             if len(eps) else "<p>none</p>"]
    steps.update()
    t = s.samples["t_s"].to_numpy()
    body += ["<h2>Obliquity and tilt, episodes shaded</h2>",
             _fig_html(figures.timeline(t, s.samples["obliquity_deg"].to_numpy(),
                                        s.samples["tilt_deg"].to_numpy(), eps,
                                        max_points=15_000))]
    steps.update()
    body += ["<h2>Drop per stance, by stance leg</h2>", _fig_html(drop_distribution(s))]
    body += ["<h2>The drop over the walk (fatigue)</h2>", _fig_html(fatigue_figure(s))]
    steps.update()
    body += ["<h2>Cadence</h2>", _fig_html(cadence_figure(s))]
    steps.update()
    body += ["<h2>Standing tilt</h2>", _fig_html(standing_tilt_figure(s, tilt_thr))]
    gaps = s.meta.get("gaps") or []
    if isinstance(gaps, list) and gaps:
        total = sum(float(g["end_s"]) - float(g["start_s"]) for g in gaps)
        body.append(f"<p>{len(gaps)} gap(s) in the data, {total:.1f} s in all: nothing was "
                    "filled in.</p>")
    steps.update()
    steps.close()
    return _page(title, body)


def write(path: Path, text: str) -> None:
    """Write the page readable by its owner only (0600): it holds health data."""
    privacy.write_text(path, text)
    log.info("wrote %s (%.1f MB)", path, Path(path).stat().st_size / 1e6)
