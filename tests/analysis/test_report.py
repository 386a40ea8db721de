"""Session review: the analysis functions, the HTML report (opened in a real browser), trends,
Parquet exports queried with DuckDB."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from beltline.analysis import parquet

from beltline import analysis as an
from beltline.cli import main
from beltline.pipeline.episodes import Episode
from beltline.pipeline.gait import Step
from beltline.pipeline.output import Output
from beltline.pipeline.settings import Settings
from beltline.sessions import analyze, rawcsv
from beltline.sessions.store import Recorder, Store
from beltline.sim import scenarios
from beltline.sim.wearer import Segment, Wearer, simulate
from conftest import ARTIFACTS_DIR

ARTIFACTS = ARTIFACTS_DIR


@pytest.fixture(scope="module")
def fatigue(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, an.Session]:
    segs = [*scenarios.CALIBRATION, Segment("walk", 600.0, hip_drop_deg=0.0,
                                            hip_drop_end_deg=8.0, hip_drop_side="left",
                                            turn_deg=360.0), Segment("stand", 30.0)]
    rec = simulate(segs, 100.0, seed=21, wearer=Wearer(cadence_spm=104.0), mount="right")
    path = tmp_path_factory.mktemp("raw") / "walk.csv"
    raw = rawcsv.Raw(rec.t, rec.acc, rec.gyr)
    rawcsv.write(path, raw)
    return path, an.from_result(analyze.run(raw))


def test_measures_on_a_growing_drop(fatigue: tuple[Path, an.Session]) -> None:
    _, s = fatigue
    tab = an.stance_table(s)
    assert tab.loc["left", "swing side"] == "right"
    assert tab.loc["left", "above (%)"] > 30
    assert tab.loc["right", "above (%)"] < 5
    assert an.symmetry_index(s) > 10  # more drop in left stance
    assert an.cadence(s) == pytest.approx(104.0, rel=0.03)
    f = an.fatigue_trend(s, "left")
    # 8 deg added over 10 min of walking; the measured peak follows most of it
    assert 3.0 < f["slope_deg_per_10min"] < 10.0
    assert f["se"] < 0.5
    assert abs(an.fatigue_trend(s, "right")["slope_deg_per_10min"]) < 1.0
    assert 10.0 < an.walking_minutes(s) < 11.5


def test_summary_says_what_the_tables_say(fatigue: tuple[Path, an.Session]) -> None:
    _, s = fatigue
    lines = an.summary(s)
    tab = an.stance_table(s)
    m = re.match(r"In (\d+) min of walking your pelvis dropped more than ([\d.]+)° on the "
                 r"(left|right) side in (\d+)% of (left|right)-leg steps, mostly after minute "
                 r"(\d+)\.", lines[0])
    assert m, lines[0]
    assert int(m.group(1)) == round(an.walking_minutes(s))
    stance = m.group(5)
    assert stance == "left"
    assert m.group(3) == an.SWING[stance]
    assert float(m.group(2)) == pytest.approx(tab.loc[stance, "threshold (deg)"], abs=0.05)
    assert int(m.group(4)) == round(tab.loc[stance, "above (%)"])
    assert int(m.group(6)) > 2  # a growing drop is mostly late
    text = "\n".join(lines)
    assert f"Cadence: {an.cadence(s):.0f} steps per minute." in text
    assert f"{an.symmetry_index(s):+.0f}%" in text
    assert "1 hip drop in left-leg stance (right side drops)" in text
    slope = an.fatigue_trend(s, "left")["slope_deg_per_10min"]
    assert f"The drop in left stance grew by {slope:.1f}°" in text


def test_report_html_from_raw_export_and_store_opens_offline(
        fatigue: tuple[Path, an.Session], tmp_path: Path, chrome: object) -> None:
    raw_path, _ = fatigue
    db = tmp_path / "b.db"
    out_raw = tmp_path / "raw.html"
    assert main(["report", str(raw_path), "--out", str(out_raw)]) == 0
    assert main(["import", str(raw_path), "--store", str(db)]) == 0
    assert main(["report", "1", "--out", str(tmp_path / "s.html"), "--store", str(db)]) == 0
    assert main(["export", "1", "--out", str(tmp_path / "exp"), "--store", str(db)]) == 0
    assert main(["report", str(tmp_path / "exp"), "--out", str(tmp_path / "e.html")]) == 0
    for f in ("raw.html", "s.html", "e.html"):
        text = (tmp_path / f).read_text()
        assert text.count("plotly.js v") >= 1  # plotly.js inline: no network needed
        assert "src=\"http" not in text
        assert "In 11 min of walking" in text or "In 10 min of walking" in text
    d = chrome
    d.get("about:blank")  # type: ignore[attr-defined]
    d.get_log("browser")  # type: ignore[attr-defined]  # drain what earlier pages left
    d.get(out_raw.as_uri())  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        n = d.execute_script(  # type: ignore[attr-defined]
            "return document.querySelectorAll('.js-plotly-plot .main-svg').length;")
        if n >= 6:
            break
        time.sleep(0.25)
    assert n >= 6
    d.save_screenshot(str(ARTIFACTS / "report.png"))  # type: ignore[attr-defined]
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore
    assert errors == []


def _fake_session(store: Store, k: int, rng: np.random.Generator) -> int:
    day = 1_790_000_000 + 86400 * (k % 60)
    sid = store.new_session("virtual", name=f"s{k}", started_unix=float(day))
    out = Output()
    t = np.arange(600) * 0.01
    out.add_samples(t, rng.normal(0, 2, 600), rng.normal(0, 1, 600),
                    np.array(["walking"] * 400 + ["standing"] * 200, "<U8"))
    for j in range(20):
        side = "left" if j % 2 == 0 else "right"
        out.steps.append((0.2 * j, side, Step(0, side, 0, float(rng.normal(4 + k % 3, 1)),
                                              0.0, 0.0, 0.0, 8.0, 105.0)))
    if k % 4 == 0:
        out.episodes.append(Episode("hip_drop", "left", 1.0, 3.0, 9.0, 8.0, "walking", 4))
    rec = Recorder(store, sid)
    rec.write(out.rows())
    rec.flush()
    store.close_session(sid, None)
    return sid


def test_parquet_exports_of_many_sessions_query_with_duckdb(tmp_path: Path) -> None:
    import duckdb

    store = Store(tmp_path / "b.db")
    rng = np.random.default_rng(0)
    ids = [_fake_session(store, k, rng) for k in range(300)]
    for sid in ids:
        parquet.export(store, sid, tmp_path / "exports" / f"session-{sid}")
    # the query the README documents
    q = f"""
        SELECT session_id, side, count(*) AS stances, avg(drop_deg) AS mean_drop
        FROM read_parquet('{tmp_path}/exports/*/steps.parquet')
        GROUP BY session_id, side ORDER BY session_id, side"""
    got = duckdb.sql(q).df()
    assert len(got) == 600
    for sid in (ids[0], ids[137], ids[-1]):
        st = an.load_store(store, sid).steps
        want = st.groupby("side")["drop_deg"].mean()
        row = got[(got.session_id == sid) & (got.side == "left")]
        assert float(row["mean_drop"].iloc[0]) == pytest.approx(float(want["left"]))
    eps = duckdb.sql(f"SELECT count(*) FROM read_parquet("
                     f"'{tmp_path}/exports/*/episodes.parquet')").fetchall()[0][0]
    assert eps == 75
    store.close()


def test_trends_per_session_and_week(tmp_path: Path) -> None:
    store = Store(tmp_path / "b.db")
    rng = np.random.default_rng(1)
    for k in range(12):
        _fake_session(store, k * 5, rng)
    store.close()
    out, csv = tmp_path / "t.html", tmp_path / "t.csv"
    assert main(["trends", "--store", str(tmp_path / "b.db"), "--out", str(out),
                 "--csv", str(csv)]) == 0
    weekly = pd.read_csv(csv)
    assert weekly["sessions"].sum() == 12
    assert {"left_stance_drop_deg", "episodes_per_walking_hour"} <= set(weekly.columns)
    assert "Beltline trends" in out.read_text()


def test_settings_from_the_session_are_used(fatigue: tuple[Path, an.Session]) -> None:
    _, s = fatigue
    strict = an.Session(s.samples, s.steps, s.episodes,
                        {**s.meta, "settings": {**Settings().__dict__, "hip_drop_deg": 20.0}})
    assert an.stance_table(strict).loc["left", "above (%)"] == 0.0
