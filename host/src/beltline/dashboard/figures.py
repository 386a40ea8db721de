"""Pure figure builders for the dashboard and the review page: data in, Plotly figure out.

Angles in degrees; obliquity + = right side lower, tilt + = anterior (DESIGN.md §3). The ruler
is drawn as seen from behind the wearer, so the wearer's left is on the left of the screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from dash import Patch

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
    fig.update_layout(title={"text": _two_lines(f"Obliquity: {title}"), "x": 0.5,
                             "font": {"size": 20}}, showlegend=False,
                      margin={**_MARGIN, "t": 64}, height=240, plot_bgcolor="white",
                      xaxis={"visible": False, "range": [-1.5, 1.5]},
                      yaxis={"visible": False, "range": [-0.45, 0.45]})
    return fig


def ruler_patch(obliquity_deg: float, colour: str, title: str) -> Patch:
    """The ruler's edit for one update: the belt line's ends, its colour and the title (the
    figure itself is built once, by ``ruler``)."""
    dy = math.sin(math.radians(obliquity_deg))
    p = Patch()
    p["data"][1]["y"] = [dy, -dy]
    p["data"][1]["line"]["color"] = colour
    p["data"][1]["marker"]["color"] = colour
    p["layout"]["title"]["text"] = _two_lines(title)
    return p


def _two_lines(title: str) -> str:
    """ "Standing on the right leg: left side drops 9.6°" on two lines, so it fits."""
    return title.replace(": ", ":<br>", 1)


def _bar_x(thresholds: Sequence[float]) -> list[str]:
    return [f"{words.standing_on(side)}:<br>{words.swing_drops(side)}<br>"
            f"(threshold {thr:.1f}°)" for side, thr in zip(words.SIDES, thresholds, strict=True)]


def _bar_text(drops: Sequence[float | None]) -> list[str]:
    return ["–" if d is None else f"{d:.1f}°" if d >= 0 else f"rises {-d:.1f}°" for d in drops]


def _threshold_marks(thresholds: Sequence[float]) -> list[dict[str, object]]:
    """Per bar: the normal band (below the threshold, light green) and the threshold line,
    drawn over that bar only (the value is in the bar's label, so no text overlaps)."""
    shapes: list[dict[str, object]] = []
    for i, thr in enumerate(thresholds):
        shapes.append({"type": "rect", "xref": "x", "yref": "y", "x0": i - 0.45, "x1": i + 0.45,
                       "y0": 0, "y1": thr, "fillcolor": "#e8f5e9", "line": {"width": 0},
                       "layer": "below"})
        shapes.append({"type": "line", "xref": "x", "yref": "y", "x0": i - 0.45, "x1": i + 0.45,
                       "y0": thr, "y1": thr, "line": {"color": RED, "width": 2, "dash": "dash"}})
    return shapes


def stance_bars(drops: Sequence[float | None], colours: Sequence[str],
                thresholds: Sequence[float]) -> go.Figure:
    """Both legs' latest single-leg stance side by side: the swing side's peak drop (bar),
    the wearer's normal band (green, below the threshold) and threshold (dashed), left leg
    first."""
    fig = go.Figure(go.Bar(x=_bar_x(thresholds), y=[d or 0.0 for d in drops],
                           marker={"color": list(colours)},
                           text=_bar_text(drops), textposition="auto", cliponaxis=False,
                           textfont={"size": 18}, insidetextanchor="end",
                           hoverinfo="skip", width=0.6))
    fig.update_layout(title={"text": "Latest stance on each leg (green band: your normal range)",
                             "x": 0.5, "font": {"size": 14}}, height=250,
                      margin={**_MARGIN, "t": 40, "b": 60}, plot_bgcolor="white",
                      showlegend=False, yaxis={"title": "swing-side drop (°)",
                                               "range": [-3, 16], "zeroline": True},
                      shapes=_threshold_marks(thresholds))
    return fig


def stance_bars_patch(drops: Sequence[float | None], colours: Sequence[str],
                      thresholds: Sequence[float]) -> Patch:
    p = Patch()
    p["data"][0]["x"] = _bar_x(thresholds)
    p["data"][0]["y"] = [d or 0.0 for d in drops]
    p["data"][0]["marker"]["color"] = list(colours)
    p["data"][0]["text"] = _bar_text(drops)
    p["layout"]["shapes"] = _threshold_marks(thresholds)
    return p


def tilt_gauge_patch(tilt_deg: float | None, threshold_deg: float) -> Patch:
    v = 0.0 if tilt_deg is None else tilt_deg
    p = Patch()
    p["data"][0]["value"] = round(v, 1)
    p["data"][0]["gauge"]["bar"]["color"] = GREY if tilt_deg is None else \
        level_colour(v, threshold_deg)
    return p


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
    fig.add_trace(go.Scatter(x=[], y=[], name="obliquity (up = right side lower)",
                             mode="lines"))
    fig.add_trace(go.Scatter(x=[], y=[], name="tilt (up = anterior)", mode="lines"))
    fig.update_layout(margin=_MARGIN, height=260, uirevision="live",
                      xaxis={"title": "time (s)"}, yaxis={"title": "degrees"},
                      legend={"orientation": "h", "y": 1.15})
    return fig


MAX_LABELS = 40  # episodes named on the plot; beyond, a hover mark names each one


def timeline(t: Sequence[float] | np.ndarray, obliquity_deg: Sequence[float] | np.ndarray,
             tilt_deg: Sequence[float] | np.ndarray, episodes: Sequence[Episode],
             max_points: int = 20_000) -> go.Figure:
    """A session: obliquity and tilt over time, each episode shaded and named. The shading is
    one ``layout.shapes`` list set once (not a shape added per episode, which re-checks every
    earlier one: quadratic in episodes), so a week's hundreds of episodes cost little."""
    step = max(1, len(t) // max_points)
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=list(t[::step]), y=list(obliquity_deg[::step]),
                               name="obliquity (up = right side lower)", mode="lines"))
    fig.add_trace(go.Scattergl(x=list(t[::step]), y=list(tilt_deg[::step]),
                               name="tilt (up = anterior)", mode="lines"))
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": e.start_s, "x1": e.end_s,
               "y0": 0, "y1": 1, "fillcolor": KIND_COLOURS.get(e.kind, GREY),
               "opacity": 0.15, "line": {"width": 0}, "layer": "below"} for e in episodes]
    names = [words.episode(e.kind, e.side, capital=True) for e in episodes]
    notes = []
    if len(episodes) <= MAX_LABELS:
        notes = [{"xref": "x", "yref": "paper", "x": e.start_s, "y": 1, "xanchor": "left",
                  "yanchor": "top", "showarrow": False, "text": n, "font": {"size": 10},
                  "textangle": 0} for e, n in zip(episodes, names, strict=True)]
    else:
        fig.add_trace(go.Scatter(
            x=[0.5 * (e.start_s + e.end_s) for e in episodes], y=[0.0] * len(episodes),
            mode="markers", name="episodes (hover)", hovertext=names, hoverinfo="text",
            marker={"symbol": "line-ns", "size": 14, "line": {"width": 2},
                    "color": [KIND_COLOURS.get(e.kind, GREY) for e in episodes]}))
    fig.update_layout(margin=_MARGIN, height=320, xaxis={"title": "time (s)"},
                      yaxis={"title": "degrees"}, legend={"orientation": "h", "y": 1.2},
                      shapes=shapes, annotations=notes)
    return fig


def stride_drops(steps: Sequence[tuple[float, str, float]]) -> go.Figure:
    """The swing side's drop in every single-leg stance, by stance leg, over time."""
    fig = go.Figure()
    for side, colour in (("left", "#1565c0"), ("right", "#ad1457")):
        pts = [(t, d) for t, s, d in steps if s == side and d == d]
        fig.add_trace(go.Scattergl(x=[p[0] for p in pts], y=[p[1] for p in pts],
                                   mode="markers", name=words.stance_label(side),
                                   marker={"size": 4, "color": colour}))
    fig.update_layout(margin=_MARGIN, height=260, xaxis={"title": "time (s)"},
                      yaxis={"title": "swing-side drop (°)"},
                      legend={"orientation": "h", "y": 1.2})
    return fig
