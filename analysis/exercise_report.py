"""``beltline report`` of a test or an exercise session, and their rows for ``beltline trends``.

A test's report: the result in words per stance leg, the threshold and its source, the table
per stance leg (drop mean and peak, time to the first held drop, hold, sway, touch-downs,
verdict) and the drops against the threshold. A set's report: the summary in words, the set's
table with its limits, the per-rep table with flags and reasons, the per-rep changes against
the limits. The tables and figures are ``beltline.dashboard.exercise_figures``, which the
review page shows too.
"""

from __future__ import annotations

import datetime
import html
import math
from collections.abc import Mapping

import pandas as pd

from beltline import words
from beltline.dashboard import exercise_figures as xf

from .report import _fig_html, _page
from .session import Session

TEST_TREND_COLUMNS = {"session": "session", "started": "started",
                      "left_drop_deg": "standing on the left leg: mean drop (°)",
                      "left_peak_deg": "standing on the left leg: peak drop (°)",
                      "left_verdict": "standing on the left leg: verdict",
                      "right_drop_deg": "standing on the right leg: mean drop (°)",
                      "right_peak_deg": "standing on the right leg: peak drop (°)",
                      "right_verdict": "standing on the right leg: verdict"}
SET_TREND_COLUMNS = {"session": "session", "started": "started", "exercise": "exercise",
                     "side": "working side", "reps": "reps", "compensated": "compensated",
                     "compensated_pct": "compensated (% of reps)"}


def results(s: Session) -> Mapping[str, object] | None:
    doc = s.meta.get("results")
    return doc if isinstance(doc, dict) and s.meta.get("kind") in ("test", "exercise") else None


def build(s: Session, title: str) -> str:
    """The report page of a test or an exercise session (``results(s)`` is not None)."""
    doc = results(s)
    assert doc is not None
    if s.meta.get("kind") == "test":
        body = [f"<h1>{html.escape(title)}: single-leg stance (Trendelenburg) test</h1>",
                "<div class='summary'>"]
        body += [f"<p>{html.escape(line)}</p>" for line in xf.test_lines(doc)]
        body += ["</div>", "<h2>Per stance leg</h2>",
                 xf.test_table(doc).to_html(index=False, na_rep="–"),
                 "<p>Drop: the swing side's drop below the neutral standing (+ = dropped), its "
                 "mean over the hold and its largest 0.5-s value. Time to first drop: from the "
                 "foot lifting to the first drop held beyond the threshold (– none). Hold: "
                 "from the lift to the foot first coming down. Sway: the obliquity's RMS about "
                 "its 2-s trend during the hold.</p>",
                 _fig_html(xf.test_figure(doc))]
    else:
        summ = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
        assert isinstance(summ, dict)
        said = str(summ.get("words", ""))
        body = [f"<h1>{html.escape(title)}: exercise set</h1>",
                f"<div class='summary'><p>{html.escape(said[:1].upper() + said[1:])}.</p></div>",
                "<h2>The set</h2>", xf.set_table(doc).to_html(index=False, na_rep="–"),
                "<h2>Per rep</h2>", xf.rep_table(doc).to_html(index=False, na_rep="–"),
                "<p>Each rep is measured from its own start posture; a change beyond the "
                "exercise's limit is the reason it is flagged (limits: docs/exercise.md, per "
                "wearer with --settings/--set).</p>",
                _fig_html(xf.reps_figure(doc))]
    notes = doc.get("notes")
    if isinstance(notes, list) and notes:
        body += ["<h2>Notes</h2>"] + [f"<p>{html.escape(str(n))}</p>" for n in notes]
    return _page(title, body)


def trend_rows(kind: str, doc: Mapping[str, object], started_unix: float,
               sid: int) -> dict[str, object]:
    """One session's row for the test's or the exercises' trend."""
    started = datetime.datetime.fromtimestamp(started_unix).replace(microsecond=0)
    if kind == "test":
        legs = doc.get("legs") if isinstance(doc.get("legs"), dict) else {}
        assert isinstance(legs, dict)
        row: dict[str, object] = {"session": sid, "started": started}
        for leg in ("left", "right"):
            d = legs.get(leg, {})
            row[f"{leg}_drop_deg"] = _num(d.get("drop_deg"))
            row[f"{leg}_peak_deg"] = _num(d.get("peak_drop_deg"))
            row[f"{leg}_verdict"] = d.get("verdict", "")
        return row
    summ = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
    assert isinstance(summ, dict)
    n, comp = int(summ.get("reps", 0)), int(summ.get("compensated", 0))
    return {"session": sid, "started": started, "exercise": str(doc.get("exercise", "")),
            "side": str(summ.get("side", "")), "reps": n, "compensated": comp,
            "compensated_pct": 100.0 * comp / n if n else math.nan}


def trend_sections(tests: list[dict[str, object]], sets: list[dict[str, object]],
                   threshold_deg: float) -> list[str]:
    """The trends page's sections for the test and the exercises (empty lists: none)."""
    body: list[str] = []
    if tests:
        df = pd.DataFrame(tests).sort_values("started")
        body += ["<h2>Single-leg stance test over sessions</h2>",
                 _fig_html(xf.test_trend_figure(df, threshold_deg)),
                 _rounded(df).rename(columns=TEST_TREND_COLUMNS).to_html(index=False,
                                                                         na_rep="–")]
    if sets:
        df = pd.DataFrame(sets).sort_values("started")
        body += ["<h2>Exercise quality over sessions (share of compensated reps)</h2>",
                 _fig_html(xf.quality_trend_figure(df)),
                 _rounded(df.assign(exercise=df["exercise"].map(words.exercise_name)))
                 .rename(columns=SET_TREND_COLUMNS).to_html(index=False, na_rep="–")]
    return body


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    num = df.select_dtypes("number").columns
    return df.assign(**{c: df[c].round(2) for c in num})


def _num(v: object) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


__all__ = ["build", "results", "trend_rows", "trend_sections"]
