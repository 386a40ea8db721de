"""Pure tables and figures of a test or an exercise session, from its results document
(``beltline.sessions.exresults``): one definition for the report, the trends page and the
review page. Tables are data frames with the headers a person reads; no I/O, no state."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from beltline import words

LEG_COLOURS = {"left": "#1565c0", "right": "#ad1457"}
FLAG_COLOURS = {"ok": "#2e7d32", "compensated": "#c62828"}


def _num(v: object) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


def _legs(doc: Mapping[str, object]) -> dict[str, dict[str, object]]:
    legs = doc.get("legs")
    return legs if isinstance(legs, dict) else {}


def test_lines(doc: Mapping[str, object]) -> list[str]:
    """The test in words, one sentence per leg, then the threshold with its source."""
    out = []
    for leg in ("left", "right"):
        w = str(_legs(doc).get(leg, {}).get("words", ""))
        if w:
            out.append(w[:1].upper() + w[1:] + ".")
    out.append(f"Threshold {_num(doc.get('threshold_deg')):.1f}° held "
               f"{_num(doc.get('dwell_s')):.0f} s; the hold asked is "
               f"{_num(doc.get('hold_required_s')):.0f} s "
               f"({_num(doc.get('hold_tolerance_s')):.0f} s tolerance). Source: "
               f"{doc.get('threshold_source', '')}.")
    return out


def test_table(doc: Mapping[str, object]) -> pd.DataFrame:
    """Per stance leg: drop (mean, peak), time to the first held drop, hold, sway, verdict."""
    rows = []
    for leg in ("left", "right"):
        d = _legs(doc).get(leg, {})
        rows.append({"stance leg": words.stance_label(leg),
                     "swing-side drop, mean (°)": _num(d.get("drop_deg")),
                     "drop, peak 0.5 s (°)": _num(d.get("peak_drop_deg")),
                     "time to first drop (s)": _num(d.get("time_to_drop_s")),
                     "hold (s)": _num(d.get("hold_s")),
                     "sway (° RMS)": _num(d.get("sway_deg")),
                     "touch-downs": d.get("touchdowns", 0),
                     "verdict": d.get("verdict", "")})
    return pd.DataFrame(rows).round(2)


def test_figure(doc: Mapping[str, object]) -> go.Figure:
    """Mean and peak drop per stance leg against the threshold."""
    fig = go.Figure()
    legs = _legs(doc)
    names = [words.stance_label(x) for x in ("left", "right")]
    for key, label, opacity in (("drop_deg", "mean drop", 1.0),
                                ("peak_drop_deg", "peak drop", 0.45)):
        fig.add_trace(go.Bar(x=names, y=[_num(legs.get(x, {}).get(key)) for x in
                                         ("left", "right")], name=label, opacity=opacity,
                             marker_color=[LEG_COLOURS["left"], LEG_COLOURS["right"]]))
    thr = _num(doc.get("threshold_deg"))
    if math.isfinite(thr):
        fig.add_hline(y=thr, line_color="#c62828", line_dash="dot",
                      annotation_text=f"threshold {thr:.1f}°")
    fig.update_layout(height=300, barmode="group", margin={"t": 30},
                      yaxis_title="swing-side drop below level (°)")
    return fig


def set_table(doc: Mapping[str, object]) -> pd.DataFrame:
    """The set's summary (one row) with its limits."""
    s = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
    assert isinstance(s, dict)
    lim = doc.get("limits_deg") if isinstance(doc.get("limits_deg"), dict) else {}
    assert isinstance(lim, dict)
    reasons = s.get("reasons") if isinstance(s.get("reasons"), dict) else {}
    assert isinstance(reasons, dict)
    return pd.DataFrame([{
        "exercise": words.exercise_name(str(doc.get("exercise", ""))),
        "working side": words.working_side(str(s.get("side", ""))),
        "reps": s.get("reps", 0), "compensated": s.get("compensated", 0),
        "reasons": ", ".join(f"{k} {v}×" for k, v in reasons.items() if v) or "none",
        "mean rep (s)": _num(s.get("mean_duration_s")),
        "limits (°)": ", ".join(f"{k} {_num(v):.1f}" for k, v in lim.items())}]).round(2)


def rep_table(doc: Mapping[str, object]) -> pd.DataFrame:
    """One row per rep: times, flag, the reason in words and the three changes."""
    rows = []
    for d in doc.get("reps") or []:  # type: ignore[attr-defined]
        rows.append({"rep": d["rep"], "start (s)": d["start_s"], "end (s)": d["end_s"],
                     "side": d["side"], "flag": d["flag"],
                     "reason": words.rep_reasons(str(d["reason"])) if d["reason"] else "",
                     "obliquity change (°, + working side up)": d["obliquity_change_deg"],
                     "tilt change (°, + anterior)": d["tilt_change_deg"],
                     "rotation (° range)": d["rotation_deg"]})
    cols = ["rep", "start (s)", "end (s)", "side", "flag", "reason",
            "obliquity change (°, + working side up)", "tilt change (°, + anterior)",
            "rotation (° range)"]
    return pd.DataFrame(rows, columns=cols).round(2)


def reps_figure(doc: Mapping[str, object]) -> go.Figure:
    """Per rep, the three changes (bars coloured by the rep's flag) with the limits."""
    reps = list(doc.get("reps") or [])  # type: ignore[call-overload]
    lim = doc.get("limits_deg") if isinstance(doc.get("limits_deg"), dict) else {}
    assert isinstance(lim, dict)
    fig = go.Figure()
    x = [int(d["rep"]) for d in reps]
    colours = [FLAG_COLOURS.get(str(d["flag"]), "#777") for d in reps]
    for i, (key, label) in enumerate((("obliquity_change_deg", "obliquity"),
                                      ("tilt_change_deg", "tilt"),
                                      ("rotation_deg", "rotation"))):
        fig.add_trace(go.Bar(x=x, y=[d[key] for d in reps], name=label, xaxis=f"x{i + 1}",
                             yaxis=f"y{i + 1}", marker_color=colours, showlegend=False))
        for y in _limit_lines(label, lim, str(doc.get("exercise", ""))):
            fig.add_shape(type="line", xref=f"x{i + 1}", yref=f"y{i + 1}",
                          x0=min(x, default=0) - 0.5, x1=max(x, default=0) + 0.5,
                          y0=y, y1=y, line={"color": "#c62828", "dash": "dot"})
    fig.update_layout(
        height=330, margin={"t": 40}, title="per rep (green ok, red compensated; dotted: "
        "the limits)", xaxis={"domain": [0, 0.3], "title": "rep"},
        xaxis2={"domain": [0.35, 0.65], "title": "rep"},
        xaxis3={"domain": [0.7, 1.0], "title": "rep"},
        yaxis={"title": "obliquity change (°)"},
        yaxis2={"title": "tilt change (°)", "anchor": "x2"},
        yaxis3={"title": "rotation (°)", "anchor": "x3"})
    return fig


def _limit_lines(channel: str, lim: Mapping[str, object], exercise: str) -> list[float]:
    """Where a channel's limits lie (``reps.judge``): obliquity + hike and - drop (the
    airplane's free side is the other one: + drop, - hike; both ways the hike's size where
    only that is judged), tilt both ways, rotation's range."""
    if channel == "obliquity" and "hike" in lim:
        hike = _num(lim["hike"])
        if "drop" not in lim:
            return [hike, -hike]
        drop = _num(lim["drop"])
        return [drop, -hike] if exercise == "hip_airplane" else [hike, -drop]
    if channel == "tilt" and "tilt" in lim:
        return [_num(lim["tilt"]), -_num(lim["tilt"])]
    if channel == "rotation" and "rotation" in lim:
        return [_num(lim["rotation"])]
    return []


def test_trend_figure(df: pd.DataFrame, threshold_deg: float) -> go.Figure:
    """The test's mean drop per stance leg over sessions (columns started, left_drop_deg,
    right_drop_deg)."""
    fig = go.Figure()
    for leg in ("left", "right"):
        fig.add_trace(go.Scatter(x=df["started"], y=df[f"{leg}_drop_deg"], mode="lines+markers",
                                 name=f"{words.stance_label(leg)}: mean drop",
                                 marker_color=LEG_COLOURS[leg], line_color=LEG_COLOURS[leg]))
    if math.isfinite(threshold_deg):
        fig.add_hline(y=threshold_deg, line_color="#c62828", line_dash="dot",
                      annotation_text=f"threshold {threshold_deg:.1f}°")
    fig.update_layout(height=340, xaxis_title="session start", margin={"t": 30},
                      yaxis_title="swing-side drop in the test (°)")
    return fig


def quality_trend_figure(df: pd.DataFrame) -> go.Figure:
    """Per exercise, the share of compensated reps over sessions (columns started, exercise,
    compensated_pct)."""
    fig = go.Figure()
    for name, g in df.groupby("exercise", sort=True):
        fig.add_trace(go.Scatter(x=g["started"], y=g["compensated_pct"], mode="lines+markers",
                                 name=words.exercise_name(str(name))))
    fig.update_layout(height=340, xaxis_title="session start", margin={"t": 30},
                      yaxis_title="compensated reps (% of the set)", yaxis_range=[-5, 105])
    return fig


__all__ = ["quality_trend_figure", "rep_table", "reps_figure", "set_table", "test_figure",
           "test_lines", "test_table", "test_trend_figure"]
