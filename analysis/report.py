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

from beltline.dashboard import figures
from beltline.pipeline.episodes import Episode

from . import measures as an
from .session import EPISODE_COLUMNS, SWING, Session

log = logging.getLogger(__name__)

_STYLE = """body{font-family:sans-serif;max-width:1100px;margin:auto;padding:0 12px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
.summary{font-size:1.15em;background:#f5f5f5;padding:8px 14px;border-radius:4px}"""


def _fig_html(fig: go.Figure) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False,
                       config={"displaylogo": False, "responsive": True})


def _page(title: str, body: list[str]) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
            + "\n".join(body) + "</body></html>")


def drop_distribution(s: Session) -> go.Figure:
    """Box per stance leg from precomputed quartiles (the page carries 5 numbers per box, not
    every stance)."""
    fig = go.Figure()
    thr = s.thresholds
    for side, colour in (("left", "#1565c0"), ("right", "#ad1457")):
        d = s.steps.loc[s.steps["side"] == side, "drop_deg"].dropna().to_numpy()
        if not len(d):
            continue
        q1, med, q3 = np.percentile(d, [25, 50, 75])
        iqr = q3 - q1
        lo = float(d[d >= q1 - 1.5 * iqr].min())
        hi = float(d[d <= q3 + 1.5 * iqr].max())
        fig.add_trace(go.Box(name=f"{side} stance ({SWING[side]} side drops)",
                             q1=[q1], median=[med], q3=[q3], lowerfence=[lo], upperfence=[hi],
                             marker_color=colour))
        fig.add_hline(y=thr[side], line_dash="dot", line_color=colour,
                      annotation_text=f"{side} threshold {thr[side]:.1f}°")
    fig.update_layout(height=320, yaxis_title="swing-side drop per stance (°)",
                      margin={"t": 30})
    return fig


def fatigue_figure(s: Session) -> go.Figure:
    fig = go.Figure()
    for side, colour in (("left", "#1565c0"), ("right", "#ad1457")):
        st = s.steps[s.steps["side"] == side].dropna(subset=["drop_deg"])
        if not len(st):
            continue
        x = an.walking_clock(s, st["t_s"].to_numpy())
        step = max(1, len(x) // 3000)
        fig.add_trace(go.Scattergl(x=x[::step], y=st["drop_deg"].to_numpy()[::step],
                                   mode="markers", marker={"size": 3, "color": colour},
                                   name=f"{side} stance"))
        f = an.fatigue_trend(s, side)
        if f["slope_deg_per_10min"] == f["slope_deg_per_10min"]:
            xs = np.array([0.0, float(x.max())])
            fig.add_trace(go.Scatter(
                x=xs, y=f["intercept_deg"] + f["slope_deg_per_10min"] * xs / 10.0,
                mode="lines", line={"color": colour},
                name=f"{side}: {f['slope_deg_per_10min']:+.2f} ± {f['se']:.2f}° per 10 min"))
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
    settings = s.meta.get("settings") or {}
    tilt_thr = float(settings.get("anterior_tilt_deg", 5.0)) if isinstance(settings, dict) \
        else 5.0
    steps = tqdm(total=6, desc="report", unit="part", disable=len(s.samples) < 1_000_000)
    body = [f"<h1>{html.escape(title)}</h1>", "<div class='summary'>"]
    body += [f"<p>{html.escape(line)}</p>" for line in an.summary(s)]
    body.append("</div>")
    steps.update()
    tab = an.stance_table(s)
    body += ["<h2>Per stance leg</h2>", tab.to_html()]
    si = an.symmetry_index(s)
    body.append(f"<p>Symmetry index of the mean drop: {si:+.1f}% · cadence "
                f"{an.cadence(s):.0f} steps/min · walking {an.walking_minutes(s):.1f} min</p>"
                if si == si else "")
    eps = [Episode(*r) for r in s.episodes[list(EPISODE_COLUMNS)].itertuples(index=False)]
    body += ["<h2>Episodes</h2>", an.episode_table(s).round(2).to_html(index=False)
             if len(eps) else "<p>none</p>"]
    steps.update()
    t = s.samples["t_s"].to_numpy()
    body += ["<h2>Obliquity and tilt, episodes shaded</h2>",
             _fig_html(figures.timeline(t, s.samples["obliquity_deg"].to_numpy(),
                                        s.samples["tilt_deg"].to_numpy(), eps,
                                        max_points=15_000))]
    steps.update()
    body += ["<h2>Drop per stance, by stance leg</h2>", _fig_html(drop_distribution(s))]
    body += ["<h2>Fatigue: drop against walking time</h2>", _fig_html(fatigue_figure(s))]
    steps.update()
    body += ["<h2>Cadence</h2>", _fig_html(cadence_figure(s))]
    steps.update()
    body += ["<h2>Standing tilt</h2>", _fig_html(standing_tilt_figure(s, tilt_thr))]
    gaps = s.meta.get("gaps") or []
    if gaps:
        total = sum(float(g["end_s"]) - float(g["start_s"]) for g in gaps)  # type: ignore
        body.append(f"<p>{len(gaps)} gap(s) in the data, {total:.1f} s in all: nothing was "
                    "filled in.</p>")
    steps.update()
    steps.close()
    return _page(title, body)


def write(path: Path, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")
    log.info("wrote %s (%.1f MB)", path, Path(path).stat().st_size / 1e6)
