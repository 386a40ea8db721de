"""The live page's view: a snapshot of the live session in, what the page shows out (pure of
Dash callbacks, so it is tested and benchmarked without a browser)."""

from __future__ import annotations

import dash
from dash import html

from beltline import words
from beltline.dashboard import figures
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession, snapshot

UPDATE_MS = 100  # 10 updates a second
MAX_POINTS = 750  # 30 s at the display rate


def live_update(live: LiveSession | None, cursor: int, cfg: Settings) -> tuple[object, ...]:
    """Everything the live page shows, for a tab that has drawn up to ``cursor``."""
    nu = dash.no_update
    if live is None:
        return (nu, cursor, nu, nu, "", "", {"display": "none"}, [],
                "review only: no belt unit connected", "Start recording")
    s = snapshot(live.state, cursor)
    pts = s["points"]
    assert isinstance(pts, list)
    extend: object = nu
    ruler: object = nu
    gauge: object = nu
    if pts:
        xs = [round(p[1], 2) for p in pts]
        extend = ({"x": [xs, xs], "y": [[round(p[2], 2) for p in pts],
                                       [round(p[3], 2) for p in pts]]}, [0, 1], MAX_POINTS)
        last = pts[-1]
        ruler = figures.ruler(last[2], cfg.obliquity_deg)
        gauge = figures.tilt_gauge(last[3], cfg.anterior_tilt_deg)
        cursor = last[0]
    elif not s["calibrated"] and cursor == 0:
        ruler = figures.ruler(None, cfg.obliquity_deg)
        gauge = figures.tilt_gauge(None, cfg.anterior_tilt_deg)
    drops = s["drops"]
    assert isinstance(drops, dict)

    def mean(v: list[float]) -> str:
        return f"{sum(v) / len(v):.1f}°" if v else "–"

    cad = s["cadence_spm"]
    if not s["calibrated"]:
        gait = "Calibrating: stand still for 10 s, then walk normally for 30 s."
    else:
        cadence = f"{cad:.0f} steps/min" if isinstance(cad, float) else "–"
        gait = (f"Activity: {s['activity'] or '–'} · cadence {cadence} · stance: "
                f"{s['stance'] or '–'} · swing-side drop, last strides: left stance "
                f"{mean(drops['left'])}, right stance {mean(drops['right'])}")
    active = s["active"]
    assert isinstance(active, list)
    said = [words.episode(k, side, capital=True) for k, side in active]
    banner_style = {"display": "none"}
    banner = ""
    conn = s["connection"]
    if conn == "lost":
        banner = "Belt unit lost: reconnecting. The recording goes on and the gap is kept."
        banner_style = _banner_style("#455a64")
    elif s["error"]:
        banner = f"Stopped: {s['error']}"
        banner_style = _banner_style("#455a64")
    elif said:
        banner = "⚠ " + "; ".join(said)
        banner_style = _banner_style(figures.RED)
    eps = s["episodes"]
    assert isinstance(eps, list)
    items = [html.Li(f"{words.episode(e.kind, e.side, capital=True)}: "
                     f"{e.start_s:.0f}–{e.end_s:.0f} s, "
                     f"peak {e.peak_deg:.1f}°, mean {e.mean_deg:.1f}°, {e.activity}")
             for e in eps[-50:]] or [html.Li("none yet")]
    bat = s["battery_pct"]
    rssi = s["rssi_dbm"]
    battery = f"{bat:.0f} %" if isinstance(bat, float) else "–"
    signal = f"{rssi:.0f} dBm" if isinstance(rssi, float) else "–"
    recording = f"recording session {s['session_id']}" if s["recording"] else "not recording"
    status = (f"{conn} · {s['device']} · battery {battery} · signal {signal} · packets "
              f"{s['packets']} · missing samples {s['missing']} · duplicates "
              f"{s['duplicates']} · rejected {s['rejected']} · {recording}")
    rec_label = "Stop recording" if s["recording"] else "Start recording"
    return extend, cursor, ruler, gauge, gait, banner, banner_style, items, status, rec_label


def _banner_style(colour: str) -> dict[str, str]:
    return {"display": "block", "background": colour, "color": "white", "padding": "10px",
            "fontSize": "20px", "fontWeight": "bold", "borderRadius": "4px", "margin": "6px 0"}
