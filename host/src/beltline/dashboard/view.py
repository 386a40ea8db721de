"""The live page's view: a snapshot of the live session in, what the page shows out (pure of
Dash callbacks, so it is tested and benchmarked without a browser).

What the page reads at a glance:
- calibrating: the step the wearer is in (stand still: a countdown; walk: steps counted; done);
- walking: the ruler tilted to the latest single-leg stance's peak swing-side drop, held until
  the next stance, and both legs' latest drops as two labelled bars, coloured against the
  wearer's threshold (their own calibration-walk drop plus ``hip_drop_deg``: green below it,
  amber above it, red while a hip-drop episode in that stance is ongoing);
- standing: the held (1-s mean) obliquity against the standing threshold;
- sitting, bending: grey, "does not count".

Each tab polls every ``UPDATE_MS``. An update sends only what changed: the figures as
``dash.Patch`` edits of a few properties (never a rebuilt figure), and ``dash.no_update`` for
every output whose content is the same as the tab's last (a checksum per output kept in the
tab's own ``cursor`` store, so several tabs never disturb each other).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import dash
from dash import html

from beltline import words
from beltline.dashboard import figures
from beltline.pipeline.calibration import CalibrationProgress
from beltline.pipeline.episodes import OpenEpisode
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession, snapshot

UPDATE_MS = 200  # 5 updates a second: the ruler moves once a stance (~0.5 s)
MAX_POINTS = 750  # 30 s at the display rate
# An open episode counts as ongoing while its evidence is current. Evidence reaches the page
# late (posture seconds wait ~4 s for the activity decision, stances until the next strike),
# so 8 s without any evidence means the wearer has left the condition (walked away from a
# standing obliquity, stopped walking): the banner closes even though the detector only
# closes the episode at its next evidence (its end is then back-dated to the last hit).
STALE_S = 8.0
DEFAULT_REFERENCE_DEG = 4.0  # the pipeline's reference until the calibration walk is measured
DONE_SHOWN_S = 15.0  # "calibration done" stays up this long after the calibration walk

# the outputs of the live callback, in order (app.py wires them)
OUTPUTS = ("traces", "cursor", "ruler", "stances", "gauge", "guide", "guide_style", "gait",
           "banner", "banner_style", "episodes", "status", "rec")


@dataclass(frozen=True)
class Stance:
    """One leg's latest stance as the bars show it."""

    side: str
    drop_deg: float | None
    threshold_deg: float
    colour: str
    label: str


def _num(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def ongoing(s: dict[str, object]) -> list[OpenEpisode]:
    """Open episodes whose evidence is current."""
    eps = s["open_episodes"]
    assert isinstance(eps, list)
    now = _num(s["data_t"]) or 0.0
    return [e for e in eps if now - e.last_s <= STALE_S]


def stances(s: dict[str, object], cfg: Settings) -> list[Stance]:
    """Both legs' latest stance drop, threshold and colour."""
    refs = s["references"]
    last = s["last_stance"]
    assert isinstance(refs, dict)
    assert isinstance(last, dict)
    dropping = {e.side for e in ongoing(s) if e.kind == "hip_drop"}
    out = []
    for side in words.SIDES:
        thr = float(refs.get(side, DEFAULT_REFERENCE_DEG)) + cfg.hip_drop_deg
        got = last.get(side)
        drop = float(got[1]) if got else None
        if drop is None:
            colour, label = figures.GREY, f"{words.standing_on(side)}: –"
        else:
            colour = figures.RED if side in dropping else \
                figures.AMBER if drop >= thr else figures.GREEN
            label = words.stance_drop(side, drop)
        out.append(Stance(side, drop, thr, colour, label))
    return out


def ruler_view(s: dict[str, object], cfg: Settings, legs: list[Stance] | None = None
               ) -> tuple[float, str, str]:
    """The ruler's angle (obliquity to draw, + = right side lower), colour and title."""
    cal = s["calibration"]
    if not s["calibrated"]:
        return 0.0, figures.GREY, "Calibrating: " + guide_lines(cal)[0]
    act = str(s["activity"])
    held = _num(s["held_obliquity"])
    if act == "walking":
        side = str(s["stance"])
        st = {x.side: x for x in (legs or stances(s, cfg))}.get(side)
        if st is None or st.drop_deg is None:
            return 0.0, figures.GREY, "Walking: waiting for the first stance"
        # standing on the left leg the right side drops: right side lower = + obliquity
        angle = st.drop_deg if side == "left" else -st.drop_deg
        return angle, st.colour, words.stance_drop(side, st.drop_deg, capital=True)
    if held is None:
        return 0.0, figures.GREY, "Waiting for the first angles"
    if act == "standing" or act == "":
        return held, figures.level_colour(held, cfg.obliquity_deg), \
            f"Standing: {words.obliquity(held)}"
    return held, figures.GREY, words.activity(act).capitalize()


def guide_lines(cal: object) -> list[str]:
    """The calibration's steps in words: the current one first."""
    if not isinstance(cal, CalibrationProgress) or cal.state == "stand":
        quiet = cal.quiet_s if isinstance(cal, CalibrationProgress) else 0.0
        need = cal.quiet_needed_s if isinstance(cal, CalibrationProgress) else 10.0
        if quiet >= need:
            return ["step 2 of 2: now walk normally in a straight line",
                    "Stand still ✓ — now walk at your usual pace for about 30 s."]
        left = math.ceil(need - quiet)
        return [f"step 1 of 2: stand still, {left} s to go",
                f"Stand still and relaxed, feet hip-width apart, looking ahead: {left} s to "
                "go. Then walk normally in a straight line for about 30 s."]
    if cal.state == "walk":
        return [f"step 2 of 2: walk normally, {cal.steps} of {cal.steps_needed} steps",
                f"Now walk normally in a straight line: {cal.steps} of {cal.steps_needed} "
                "steps counted."]
    return ["done", "Calibration done ✓ — the ruler now follows every stance; normal steps "
            "stay green."]


def guide(s: dict[str, object]) -> tuple[str, bool]:
    """The guidance box's text and whether it shows: a live test's or set's progress (no walk
    to calibrate on then), else the calibration's."""
    if s.get("live_set"):
        return str(s["live_set"]), True
    cal = s["calibration"]
    if not s["calibrated"]:
        return guide_lines(cal)[1], True
    done = cal.done_s if isinstance(cal, CalibrationProgress) else None
    now = _num(s["data_t"]) or 0.0
    if done is not None and now - done < DONE_SHOWN_S:
        return guide_lines(cal)[1], True
    return "", False


def gait_text(s: dict[str, object]) -> str:
    if not s["calibrated"]:
        return ""
    act = str(s["activity"])
    if act != "walking":  # cadence and stance are stale once the walk has stopped
        return words.activity(act).capitalize() if act else ""
    cad = _num(s["cadence_spm"])
    drops = s["drops"]
    assert isinstance(drops, dict)
    means = ", ".join(
        f"{words.stance(side)} {sum(drops[side]) / len(drops[side]):.1f}°"
        for side in words.SIDES if drops.get(side))
    return (f"Walking · {f'{cad:.0f} steps/min' if cad else 'cadence –'}"
            + (f" · {words.standing_on(str(s['stance']))}" if s["stance"] else "")
            + (f" · swing-side drop, mean of the last strides: {means}" if means else ""))


def banner(s: dict[str, object]) -> tuple[str, str]:
    """The banner's text and colour ('' = hidden). An episode shows only while ongoing."""
    if s["connection"] == "lost":
        return "Belt unit lost: reconnecting. The recording goes on and the gap is kept.", \
            "#455a64"
    if s["error"]:
        return f"Stopped: {s['error']}", "#455a64"
    now = ongoing(s)
    if now:
        return "⚠ " + "; ".join(f"{words.episode(e.kind, e.side, capital=True)} since "
                                 f"{words.clock(e.start_s)}" for e in now), figures.RED
    return "", ""


def episode_lines(s: dict[str, object]) -> list[str]:
    """The session's episodes, newest first; open ones say whether they are ongoing."""
    cur = {id(e) for e in ongoing(s)}
    opened = s["open_episodes"]
    closed = s["episodes"]
    assert isinstance(opened, list)
    assert isinstance(closed, list)
    lines = []
    for e in sorted(opened, key=lambda e: -e.start_s):
        name = words.episode(e.kind, e.side, capital=True)
        peak = f", peak {e.peak_deg:.1f}°" if math.isfinite(e.peak_deg) else ""
        if id(e) in cur:
            lines.append(f"{name}: ongoing since {words.clock(e.start_s)}{peak} so far")
        else:
            lines.append(f"{name}: {words.clock(e.start_s)}–{words.clock(e.last_hit_s)}"
                         f"{peak} (ended)")
    for e in list(reversed(closed))[:50]:
        lines.append(f"{words.episode(e.kind, e.side, capital=True)}: "
                     f"{words.clock(e.start_s)}–{words.clock(e.end_s)}, peak "
                     f"{e.peak_deg:.1f}°, mean {e.mean_deg:.1f}°, {e.activity}")
    return lines or ["none yet"]


def status_text(s: dict[str, object]) -> str:
    bat, rssi, rate = _num(s["battery_pct"]), _num(s["rssi_dbm"]), _num(s.get("rate_hz"))
    parts = [str(s["connection"]), str(s["device"])]
    parts += [f"battery {bat:.0f} %"] if bat is not None else []  # hidden when unknown
    parts += [f"signal {rssi:.0f} dBm"] if rssi is not None else []
    parts += [f"{rate:.0f} Hz"] if rate is not None else []
    parts += [f"packets {s['packets']}", f"missing samples {s['missing']}",
              f"duplicates {s['duplicates']}", f"rejected {s['rejected']}",
              f"recording session {s['session_id']}" if s["recording"] else "not recording"]
    return " · ".join(p for p in parts if p)


def _sum(value: object) -> int:
    return zlib.crc32(repr(value).encode())


def live_update(live: LiveSession | None, cursor: object, cfg: Settings) -> tuple[object, ...]:
    """Everything the live page shows, for a tab whose ``cursor`` store holds the last display
    sample it drew (``seq``) and a checksum of each output it shows (``h``)."""
    nu = dash.no_update
    cur = cursor if isinstance(cursor, dict) else {}
    seq = int(cur.get("seq", 0) or 0)
    seen = cur.get("h") if isinstance(cur.get("h"), dict) else {}
    assert isinstance(seen, dict)
    if live is None:
        return (nu, {"seq": 0, "h": {}}, nu, nu, nu, "", {"display": "none"}, "", "",
                {"display": "none"}, [], "review only: no belt unit connected",
                "Start recording")
    s = snapshot(live.state, seq)
    pts = s["points"]
    assert isinstance(pts, list)
    extend: object = nu
    if pts:
        xs = [round(p[1], 2) for p in pts]
        extend = ({"x": [xs, xs], "y": [[round(p[2], 2) for p in pts],
                                       [round(p[3], 2) for p in pts]]}, [0, 1], MAX_POINTS)
        seq = pts[-1][0]
    legs = stances(s, cfg)
    angle, colour, title = ruler_view(s, cfg, legs)
    tilt = _num(pts[-1][3]) if pts else None
    text, shown = guide(s)
    btext, bcolour = banner(s)
    values: dict[str, tuple[object, ...]] = {
        "ruler": (round(angle, 1), colour, title),
        "stances": tuple((None if x.drop_deg is None else round(x.drop_deg, 1),
                          round(x.threshold_deg, 1), x.colour, x.label) for x in legs),
        "guide": (text, shown), "gait": (gait_text(s),), "banner": (btext, bcolour),
        "episodes": tuple(episode_lines(s)), "status": (status_text(s),),
        "rec": (bool(s["recording"]),),
    }
    if tilt is not None:
        values["gauge"] = (round(tilt, 1),)
    elif not s["calibrated"]:
        values["gauge"] = (None,)
    # (calibrated but no new sample: the gauge keeps the tab's last tilt)
    sums = {k: _sum(v) for k, v in values.items()}
    changed = {k for k in sums if seen.get(k) != sums[k]}
    sums = {**{k: v for k, v in seen.items() if k not in sums}, **sums}

    def out(name: str, make: object) -> object:
        return make() if name in changed else nu  # type: ignore[operator]

    ruler = out("ruler", lambda: figures.ruler_patch(angle, colour, title))
    bars = out("stances", lambda: figures.stance_bars_patch(
        [x.drop_deg for x in legs], [x.colour for x in legs], [x.threshold_deg for x in legs]))
    gauge = out("gauge", lambda: figures.tilt_gauge_patch(tilt, cfg.anterior_tilt_deg))
    guide_text = out("guide", lambda: text)
    guide_style = out("guide", lambda: _guide_style(shown))
    gait = out("gait", lambda: values["gait"][0])
    ban = out("banner", lambda: btext)
    ban_style = out("banner", lambda: _banner_style(bcolour) if btext else {"display": "none"})
    items = out("episodes", lambda: [html.Li(str(x)) for x in values["episodes"]])
    status = out("status", lambda: values["status"][0])
    rec = out("rec", lambda: "Stop recording" if s["recording"] else "Start recording")
    new_cursor: object = {"seq": seq, "h": sums} if changed or pts else nu
    return (extend, new_cursor, ruler, bars, gauge, guide_text, guide_style, gait, ban,
            ban_style, items, status, rec)


def _guide_style(shown: bool) -> dict[str, str]:
    if not shown:
        return {"display": "none"}
    return {"display": "block", "background": "#e3f2fd", "color": "#0d47a1",
            "padding": "12px", "fontSize": "22px", "borderRadius": "4px", "margin": "6px 0"}


def _banner_style(colour: str) -> dict[str, str]:
    return {"display": "block", "background": colour, "color": "white", "padding": "10px",
            "fontSize": "20px", "fontWeight": "bold", "borderRadius": "4px", "margin": "6px 0"}
