"""The review page's part for test and exercise sessions: the session list names each
session's kind, and a test or a set shows its results (the report's tables and figures,
``exercise_figures``). Hooked into ``app`` by ``section()`` (the layout) and ``register()``
(the callback)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import dash
import pandas as pd
from dash import Input, Output, dcc, html

from beltline import words
from beltline.dashboard import exercise_figures as xf

if TYPE_CHECKING:
    from beltline.sessions.store import SessionInfo

CELL = {"border": "1px solid #ccc", "padding": "2px 8px", "textAlign": "right"}
KIND_WORDS = {"walk": "walk", "test": "single-leg stance test", "exercise": "exercise set"}


def kind_label(s: SessionInfo) -> str:
    """What the session list says a session is."""
    return KIND_WORDS.get(s.kind, s.kind)


def section() -> html.Div:
    return html.Div(id="review-results")


def table(df: pd.DataFrame, id_: str) -> html.Table:
    """A data frame as a plain HTML table (what the report shows, cell for cell)."""
    head = html.Tr([html.Th(str(c), style=CELL) for c in df.columns])
    body = [html.Tr([html.Td("–" if isinstance(v, float) and v != v else str(v), style=CELL)
                     for v in row]) for row in df.itertuples(index=False)]
    return html.Table([html.Thead(head), html.Tbody(body)], id=id_,
                      style={"borderCollapse": "collapse", "margin": "6px 0"},
                      className="results-table")


def children(kind: str, doc: Mapping[str, object] | None) -> list[object]:
    """The results of a test or a set (nothing for a walk)."""
    if doc is None or kind == "walk":
        return []
    if kind == "test":
        return [html.H3("Single-leg stance (Trendelenburg) test"),
                html.Div([html.P(line) for line in xf.test_lines(doc)], id="test-words"),
                table(xf.test_table(doc), "test-table"),
                dcc.Graph(id="test-figure", figure=xf.test_figure(doc))]
    summ = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
    assert isinstance(summ, dict)
    said = str(summ.get("words", ""))
    return [html.H3(f"Exercise set: {words.exercise_name(str(doc.get('exercise', '')))}"),
            html.P(said[:1].upper() + said[1:] + ".", id="set-words"),
            table(xf.set_table(doc), "set-table"),
            table(xf.rep_table(doc), "rep-table"),
            dcc.Graph(id="reps-figure", figure=xf.reps_figure(doc))]


def register(app: dash.Dash, store_path: Path | None) -> None:
    from beltline.sessions.store import Store

    @app.callback(Output("review-results", "children"), Input("pick", "value"))
    def results(sid: int | None) -> object:
        if sid is None:
            return []
        st = Store(store_path)  # one connection per callback: SQLite's are per thread
        try:
            return children(st.session(int(sid)).kind, st.results(int(sid)))
        finally:
            st.close()


__all__ = ["children", "kind_label", "register", "section"]
