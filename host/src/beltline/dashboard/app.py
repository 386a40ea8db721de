"""The Dash app: a live page (the ruler, the tilt gauge, rolling traces, episodes, controls)
and a review page (past sessions from the store). Layout here, figures in ``figures``, data
from ``live.snapshot`` and the store's API; callbacks stay thin and hold no SQL."""

from __future__ import annotations

import io
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qs

import dash
from dash import Input, Output, State, dcc, html

from beltline import words
from beltline.dashboard import exercise_view, figures
from beltline.dashboard.view import DEFAULT_REFERENCE_DEG, UPDATE_MS, live_update
from beltline.pipeline.settings import Settings
from beltline.records import Rows
from beltline.sessions import exchange as sessions
from beltline.sessions.live import LiveSession
from beltline.sessions.store import Store


def _button(id_: str, text: str) -> html.Button:
    return html.Button(text, id=id_, n_clicks=0, style={"marginRight": "8px", "padding": "6px"})


def _live_page(cfg: Settings) -> html.Div:
    thr = DEFAULT_REFERENCE_DEG + cfg.hip_drop_deg
    return html.Div(id="live-page", children=[
        html.Div(id="banner", role="alert", children="", style={"display": "none"}),
        html.Div(id="guide", role="status", children="", style={"display": "none"}),
        html.Div(style={"display": "flex", "flexWrap": "wrap"}, children=[
            html.Div(dcc.Graph(id="ruler", figure=figures.ruler(None, cfg.obliquity_deg),
                               config={"displayModeBar": False}), style={"flex": "1 1 340px"}),
            html.Div(dcc.Graph(id="stances", figure=figures.stance_bars(
                [None, None], [figures.GREY] * 2, [thr, thr]), config={"displayModeBar": False}),
                style={"flex": "1 1 380px"}),
            html.Div(dcc.Graph(id="gauge", figure=figures.tilt_gauge(
                None, cfg.anterior_tilt_deg), config={"displayModeBar": False}),
                style={"flex": "1 1 260px"}),
        ]),
        dcc.Graph(id="traces", figure=figures.live_traces(), config={"displayModeBar": False}),
        html.Div(id="gait", style={"fontSize": "18px", "margin": "6px 0"}),
        html.Div(children=[
            _button("btn-cal", "Calibrate"), _button("btn-rec", "Stop recording"),
            _button("btn-export", "Export session (CSV)"),
            dcc.Download(id="download"),
            dcc.Checklist(id="sound", options=[{"label": " beep when an episode starts",
                                                "value": "on"}], value=[],
                          style={"display": "inline-block", "marginLeft": "12px"}),
            html.Audio(id="beep", src=_beep_wav(), preload="auto"),
            dcc.Store(id="beeped", data=""),
        ]),
        html.H3("Episodes this session"),
        html.Ul(id="episodes"),
        dcc.Interval(id="tick", interval=UPDATE_MS),
        dcc.Store(id="cursor", data={"seq": 0, "h": {}}),
    ])


def _review_page() -> html.Div:
    return html.Div(id="review-page", style={"display": "none"}, children=[
        html.H2("Review a session"),
        dcc.Dropdown(id="pick", placeholder="choose a session"),
        exercise_view.section(),  # a test's or a set's results
        html.Div(id="review-walk", children=[  # a walk's (hidden for a test or a set)
            dcc.Graph(id="review-timeline"),
            html.H3("Episodes (click one to zoom)"),
            html.Div(id="review-episodes"),
            dcc.Graph(id="review-strides")]),
        _button("btn-review-export", "Export this session (CSV)"),
        dcc.Download(id="review-download"),
    ])


# Sent with every request the page makes to its own server (callbacks, downloads): the
# per-launch secret this page was served with. A page of another site cannot read it, so it
# cannot drive the dashboard even when its request reaches this machine (``guard``).
_TOKEN_SCRIPT = """<script>(function () {
  const token = %s, header = %s, fetch0 = window.fetch.bind(window);
  window.fetch = function (url, opts) {
    const u = new URL(url instanceof Request ? url.url : url, window.location.href);
    if (u.origin === window.location.origin) {
      opts = Object.assign({}, opts || {});
      const h = new Headers(opts.headers || {});
      h.set(header, token);
      opts.headers = h;
    }
    return fetch0(url, opts);
  };
})();</script>"""


def build_app(live: LiveSession | None, store_path: Path | None,
              settings: Settings | None = None, token: str | None = None) -> dash.Dash:
    """The dashboard for ``live`` (None: review only), reading sessions from ``store_path``.
    ``token``: the per-launch secret the page sends with each request (see ``guard``)."""
    import json

    from beltline.dashboard.guard import TOKEN_HEADER

    cfg = settings or Settings()
    app = dash.Dash(__name__, title="Beltline", update_title="", enable_mcp=False,
                    websocket_callbacks=False)
    if token is not None:
        script = _TOKEN_SCRIPT % (json.dumps(token), json.dumps(TOKEN_HEADER))
        app.index_string = app.index_string.replace("{%config%}", script + "{%config%}")
    app.layout = html.Div(style={"fontFamily": "sans-serif", "maxWidth": "1100px",
                                 "margin": "auto"}, children=[
        dcc.Location(id="url"),
        html.Div(style={"display": "flex", "alignItems": "baseline", "gap": "16px"}, children=[
            html.H1("Beltline", style={"margin": "8px 0"}),
            dcc.Link("Live", href="/"), dcc.Link("Review", href="/review"),
        ]),
        html.Div(id="status", style={"color": "#555"}),
        _live_page(cfg),
        _review_page(),
    ])

    @app.callback(Output("live-page", "style"), Output("review-page", "style"),
                  Output("tick", "disabled"), Input("url", "pathname"))
    def route(path: str | None) -> tuple[dict[str, str], dict[str, str], bool]:
        # the review page does not poll: its interval stops (no cost for an idle review tab)
        review = (path or "/").rstrip("/").endswith("review")
        return ({"display": "none"} if review else {}), \
            ({} if review else {"display": "none"}), review or live is None

    @app.callback(
        Output("traces", "extendData"), Output("cursor", "data"), Output("ruler", "figure"),
        Output("stances", "figure"), Output("gauge", "figure"), Output("guide", "children"),
        Output("guide", "style"), Output("gait", "children"), Output("banner", "children"),
        Output("banner", "style"), Output("episodes", "children"), Output("status", "children"),
        Output("btn-rec", "children"),
        Input("tick", "n_intervals"), State("cursor", "data"))
    def update(_n: int | None, cursor: object) -> tuple[object, ...]:
        return live_update(live, cursor, cfg)

    # the beep plays in the browser (an audio element), only once the person has ticked the
    # box: browsers refuse sound that no click allowed
    app.clientside_callback(
        """function(banner, sound, last) {
            const alert = typeof banner === 'string' && banner.startsWith('\u26a0');
            if (alert && banner !== last && sound && sound.includes('on')) {
                const a = document.getElementById('beep');
                if (a) { a.play().catch(function () {}); }
            }
            return alert ? banner : '';
        }""",
        Output("beeped", "data"), Input("banner", "children"), State("sound", "value"),
        State("beeped", "data"))

    @app.callback(Output("btn-cal", "n_clicks"), Input("btn-cal", "n_clicks"),
                  prevent_initial_call=True)
    def calibrate(n: int) -> int:
        if live is not None:
            live.calibrate()
        return n

    @app.callback(Output("btn-rec", "n_clicks"), Input("btn-rec", "n_clicks"),
                  prevent_initial_call=True)
    def record(n: int) -> int:
        if live is not None:
            with live.state.lock:
                on = live.state.recording
            live.set_recording(not on)
        return n

    @app.callback(Output("download", "data"), Input("btn-export", "n_clicks"),
                  prevent_initial_call=True)
    def export_live(_n: int) -> object:
        sid = live.state.session_id if live is not None else None
        return export_zip(store_path, sid) if sid is not None else dash.no_update

    @app.callback(Output("pick", "options"), Output("pick", "value"),
                  Input("url", "pathname"), Input("url", "search"))
    def session_options(path: str | None, search: str | None) -> tuple[object, object]:
        if not (path or "/").rstrip("/").endswith("review"):
            return dash.no_update, dash.no_update  # the live page has no session list
        with _Store(store_path) as st:
            rows = list(reversed(st.sessions()))
        options = [{"label": f"#{s.id} {_when(s.started_unix)} "
                             f"{exercise_view.kind_label(s)} {s.source} "
                             f"{s.seconds / 60:.1f} min, {s.episodes} episode"
                             f"{'' if s.episodes == 1 else 's'}", "value": s.id}
                   for s in rows]
        # /review?session=3 opens that session directly (a link a physiotherapist can keep);
        # without one the page opens on the latest session
        q = parse_qs((search or "").lstrip("?"))
        try:
            value: object = int(q["session"][0])
        except (KeyError, ValueError):
            value = rows[0].id if rows else None
        return options, value

    @app.callback(Output("review-timeline", "figure"), Output("review-strides", "figure"),
                  Output("review-episodes", "children"), Output("review-walk", "style"),
                  Input("pick", "value"),
                  Input({"type": "zoom", "index": dash.ALL}, "n_clicks"),
                  prevent_initial_call=True)
    def review(sid: int | None, _zoom: list[int]) -> tuple[object, object, object, object]:
        if sid is None:
            return dash.no_update, dash.no_update, dash.no_update, dash.no_update
        data, kind = review_data(store_path, sid)
        sa = data.samples
        # a test or a set has its own results above; the walk's views, empty, would only
        # look broken (its walk pipeline finds no walk to calibrate on)
        walk = kind == "walk" or len(sa.t_s) > 0
        shown = {} if walk else {"display": "none"}
        eps = data.episodes
        fig = figures.timeline(sa.t_s, sa.obliquity_deg, sa.tilt_deg, eps)
        strides = figures.stride_drops([(x.t_s, x.side, x.drop_deg) for x in data.steps])
        trig = dash.callback_context.triggered_id
        if isinstance(trig, dict) and trig.get("type") == "zoom":
            e = eps[trig["index"]]
            pad = 0.1 * (e.end_s - e.start_s) + 5.0
            for f in (fig, strides):
                f.update_xaxes(range=[e.start_s - pad, e.end_s + pad])
        buttons = [html.Button(
            f"{words.episode(e.kind, e.side, capital=True)} {words.clock(e.start_s)}–"
            f"{words.clock(e.end_s)}, peak {e.peak_deg:.1f}°", id={"type": "zoom", "index": i},
            n_clicks=0, style={"margin": "2px"}) for i, e in enumerate(eps)]
        return fig, strides, buttons or "none", shown

    @app.callback(Output("review-strides", "figure", allow_duplicate=True),
                  Input("review-timeline", "relayoutData"), prevent_initial_call=True)
    def follow_zoom(relayout: dict[str, object] | None) -> object:
        """The stride plot shows the time span the timeline shows (zoom, pan, reset)."""
        return zoom_patch(relayout)

    @app.callback(Output("review-download", "data"), Input("btn-review-export", "n_clicks"),
                  State("pick", "value"), prevent_initial_call=True)
    def export_review(_n: int, sid: int | None) -> object:
        return export_zip(store_path, sid) if sid is not None else dash.no_update

    exercise_view.register(app, store_path)
    return app


class _Store:
    """A store connection for one callback (SQLite connections belong to one thread)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def __enter__(self) -> Store:
        self.st = Store(self.path)
        return self.st

    def __exit__(self, *exc: object) -> None:
        self.st.close()


def zoom_patch(relayout: dict[str, object] | None) -> object:
    """The x-range edit matching a Plotly ``relayoutData`` event (or no update)."""
    r = relayout or {}
    p = dash.Patch()
    if "xaxis.range[0]" in r and "xaxis.range[1]" in r:
        p["layout"]["xaxis"]["range"] = [r["xaxis.range[0]"], r["xaxis.range[1]"]]
    elif isinstance(r.get("xaxis.range"), list):
        p["layout"]["xaxis"]["range"] = r["xaxis.range"]
    elif r.get("xaxis.autorange"):
        p["layout"]["xaxis"]["autorange"] = True
    else:
        return dash.no_update
    return p


def review_data(store_path: Path | None, sid: int) -> tuple[Rows, str]:
    """What the session holds, and its kind (walk, test, exercise)."""
    with _Store(store_path) as st:
        return st.rows(sid), st.session(sid).kind


def export_zip(store_path: Path | None, sid: int) -> dict[str, object]:
    """The session's export files in one zip, as a ``dcc.Download`` payload."""
    with tempfile.TemporaryDirectory() as d, _Store(store_path) as st:
        files = sessions.export(st, sid, Path(d))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in files:
                z.write(f, f"session-{sid}/{f.name}")
    return dcc.send_bytes(buf.getvalue(), f"beltline-session-{sid}.zip")


def _beep_wav(freq_hz: float = 880.0, seconds: float = 0.25, rate: int = 8000) -> str:
    """A short tone as a data URI (8-bit mono WAV): no file to serve, no network."""
    import base64
    import math
    import struct

    n = int(seconds * rate)
    samples = bytes(int(128 + 100 * math.sin(2 * math.pi * freq_hz * i / rate)
                        * min(1.0, (n - i) / (0.1 * n))) for i in range(n))
    header = b"RIFF" + struct.pack("<I", 36 + n) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, rate, rate, 1, 8) + b"data" + struct.pack("<I", n)
    return "data:audio/wav;base64," + base64.b64encode(header + samples).decode()


def _when(unix: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(unix))
