"""Pure figure builders for the dashboard and the review page: data in, Plotly figure out.

Angles in degrees; obliquity + = right side lower, tilt + = anterior (DESIGN.md §3). The ruler
is drawn as seen from behind the wearer, so the wearer's left is on the left of the screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from beltline import words
from beltline.pipeline.episodes import Episode

GREEN, AMBER, RED, GREY = "#2e7d32", "#f9a825", "#c62828", "#9e9e9e"
KIND_COLOURS = {"hip_drop": RED, "anterior_tilt": "#6a1b9a", "pelvic_obliquity": "#ef6c00"}
_MARGIN = {"l": 40, "r": 20, "t": 30, "b": 30}


def level_colour(value_deg: float, threshold_deg: float) -> str:
    """Green under half the wearer's threshold, amber up to it, red beyond."""
    a = abs(value_deg)
    return GREEN if a < threshold_deg / 2 else AMBER if a < threshold_deg else RED


def ruler(obliquity_deg: float | None, threshold_deg: float) -> go.Figure:
    """The virtual ruler through the belt loops: a belt line tilted by the obliquity over a
    dashed level line, coloured against the wearer's threshold."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[-1.2, 1.2], y=[0, 0], mode="lines", hoverinfo="skip",
                             line={"color": GREY, "dash": "dash", "width": 1}))
    if obliquity_deg is None:
        title = "waiting for calibration"
        colour = GREY
        dy = 0.0
    else:
        title = words.obliquity(obliquity_deg)
        colour = level_colour(obliquity_deg, threshold_deg)
        dy = math.sin(math.radians(obliquity_deg))  # + = right (screen right) lower
    fig.add_trace(go.Scatter(x=[-1, 1], y=[dy, -dy], mode="lines+markers+text",
                             text=["L", "R"], textposition=["middle left", "middle right"],
                             marker={"size": 14, "color": colour},
                             line={"color": colour, "width": 10}, hoverinfo="skip"))
    fig.update_layout(title={"text": f"Obliquity: {title}", "x": 0.5}, showlegend=False,
                      margin=_MARGIN, height=220, plot_bgcolor="white",
                      xaxis={"visible": False, "range": [-1.5, 1.5]},
                      yaxis={"visible": False, "range": [-0.45, 0.45]})
    return fig


def tilt_gauge(tilt_deg: float | None, threshold_deg: float) -> go.Figure:
    """Tilt against the wearer's neutral: + anterior (top of the pelvis forward)."""
    v = 0.0 if tilt_deg is None else tilt_deg
    fig = go.Figure(go.Indicator(
        mode="gauge+number", value=round(v, 1), number={"suffix": "°"},
        title={"text": "Tilt (+ anterior)"},
        gauge={"axis": {"range": [-20, 20]},
               "bar": {"color": GREY if tilt_deg is None else level_colour(v, threshold_deg)},
               "steps": [{"range": [threshold_deg, 20], "color": "#ffcdd2"},
                         {"range": [-20, -threshold_deg], "color": "#eeeeee"}],
               "threshold": {"line": {"color": RED, "width": 3}, "value": threshold_deg}}))
    fig.update_layout(margin={**_MARGIN, "t": 60}, height=220)
    return fig


def live_traces(window_s: float = 30.0) -> go.Figure:
    """Empty rolling traces of obliquity and tilt; the page extends them (``extendData``)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[], y=[], name="obliquity (+ right lower)", mode="lines"))
    fig.add_trace(go.Scatter(x=[], y=[], name="tilt (+ anterior)", mode="lines"))
    fig.update_layout(margin=_MARGIN, height=260, uirevision="live",
                      xaxis={"title": "time (s)"}, yaxis={"title": "degrees"},
                      legend={"orientation": "h", "y": 1.15})
    return fig


def timeline(t: Sequence[float], obliquity_deg: Sequence[float], tilt_deg: Sequence[float],
             episodes: Sequence[Episode], max_points: int = 20_000) -> go.Figure:
    """A session: obliquity and tilt over time, each episode shaded and named."""
    step = max(1, len(t) // max_points)
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=list(t[::step]), y=list(obliquity_deg[::step]),
                               name="obliquity (+ right lower)", mode="lines"))
    fig.add_trace(go.Scattergl(x=list(t[::step]), y=list(tilt_deg[::step]),
                               name="tilt (+ anterior)", mode="lines"))
    for e in episodes:
        fig.add_vrect(x0=e.start_s, x1=e.end_s, fillcolor=KIND_COLOURS.get(e.kind, GREY),
                      opacity=0.15, line_width=0,
                      annotation_text=words.episode(e.kind, e.side, capital=True),
                      annotation_position="top left")
    fig.update_layout(margin=_MARGIN, height=320, xaxis={"title": "time (s)"},
                      yaxis={"title": "degrees"}, legend={"orientation": "h", "y": 1.2})
    return fig


def stride_drops(steps: Sequence[tuple[float, str, float]]) -> go.Figure:
    """The swing side's drop in every single-leg stance, by stance leg, over time."""
    fig = go.Figure()
    for side, colour in (("left", "#1565c0"), ("right", "#ad1457")):
        pts = [(t, d) for t, s, d in steps if s == side and d == d]
        fig.add_trace(go.Scattergl(x=[p[0] for p in pts], y=[p[1] for p in pts],
                                   mode="markers", name=f"{side} stance",
                                   marker={"size": 4, "color": colour}))
    fig.update_layout(margin=_MARGIN, height=260, xaxis={"title": "time (s)"},
                      yaxis={"title": "swing-side drop (°)"},
                      legend={"orientation": "h", "y": 1.2})
    return fig
