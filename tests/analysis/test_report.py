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


def _session(segs: list[Segment], seed: int, **kw: object) -> an.Session:
    rec = simulate(segs, 100.0, seed=seed, **kw)  # type: ignore[arg-type]
    return an.from_result(analyze.run(rawcsv.Raw(rec.t, rec.acc, rec.gyr)))


@pytest.fixture(scope="module")
def step(tmp_path_factory: pytest.TempPathFactory) -> an.Session:
    """Five minutes of normal walking, then five with a 6° extra drop in left stance: a step
    change, not a trend."""
    return _session([*scenarios.CALIBRATION, Segment("walk", 300.0, turn_deg=180.0),
                     Segment("walk", 300.0, hip_drop_deg=6.0, hip_drop_side="left",
                             turn_deg=180.0), Segment("stand", 20.0)], seed=22)


@pytest.fixture(scope="module")
def healthy() -> an.Session:
    return _session([*scenarios.CALIBRATION, Segment("walk", 480.0, turn_deg=360.0),
                     Segment("stand", 30.0)], seed=23, mount="left")


def test_measures_on_a_growing_drop(fatigue: tuple[Path, an.Session]) -> None:
    _, s = fatigue
    tab = an.stance_table(s)
    assert tab.loc["left", "swing side"] == "right"
    assert tab.loc["left", "above (%)"] > 30
    assert tab.loc["right", "above (%)"] < 5
    assert an.asymmetry(s)["low_deg"] > 0  # more drop in left stance, beyond its interval
    assert an.cadence(s) == pytest.approx(104.0, rel=0.03)
    f = an.fatigue_trend(s, "left")
    # 8 deg added over 10 min of walking; the measured peak follows most of it
    assert f["model"] == "trend"
    assert 3.0 < f["slope_deg_per_10min"] < 10.0  # type: ignore[operator]
    assert 0 < f["slope_low"] < f["slope_deg_per_10min"] < f["slope_high"]  # type: ignore
    assert an.fatigue_trend(s, "right")["model"] == "steady"
    assert 10.0 < an.walking_minutes(s) < 11.5


def test_a_step_change_is_called_a_step_not_a_trend(step: an.Session) -> None:
    f = an.fatigue_trend(step, "left")
    assert f["model"] == "step", f
    assert 3.5 < f["change_minute"] < 6.5  # type: ignore[operator]
    assert f["after_deg"] - f["before_deg"] > 3.0  # type: ignore[operator]
    assert an.fatigue_trend(step, "right")["model"] == "steady"
    text = "\n".join(an.summary(step))
    assert "a step, not a gradual trend" in text
    assert "grew steadily" not in text


def test_theil_sen_ignores_a_minority_of_outliers() -> None:
    x = np.arange(20.0)
    y = 0.5 * x + 1.0
    y[[3, 11, 17]] += [30.0, -25.0, 40.0]
    slope, lo, hi, icpt = an.theil_sen(x, y)
    assert slope == pytest.approx(0.5, abs=0.02)
    assert lo <= 0.5 <= hi
    assert icpt == pytest.approx(1.0, abs=0.3)


def test_a_healthy_walker_is_told_so(healthy: an.Session) -> None:
    lines = an.summary(healthy)
    text = "\n".join(lines)
    assert "stayed within your normal range, with no sign of a hip drop" in lines[0]
    assert "Trendelenburg" not in text
    assert "by more than" not in text  # no side reported as dropping
    assert "No sustained episodes." in text
    # the left/right difference is given with its interval and not judged
    assert "not judged" in text


def _numbers(text: str) -> list[str]:
    return re.findall(r"[+-]?\d+(?:\.\d+)?", text)


@pytest.mark.parametrize("name", ["fatigue", "step", "healthy"])
def test_every_number_of_the_summary_is_in_the_measures_table(
        name: str, request: pytest.FixtureRequest) -> None:
    got = request.getfixturevalue(name)
    s = got[1] if isinstance(got, tuple) else got
    table = an.measures_table(s)
    cells = set()
    for v in table["value"]:
        cells.update(_numbers(v))
        cells.add(v)
    for line in an.summary(s):
        # "left-leg", "10 min" style words carry no data; "2°" of the tilt band is a setting
        for n in _numbers(line.replace("2° of your neutral", "").replace("95 %", "")
                          .replace("10 min of walking", "").replace("10 %", "")):
            assert n in cells or n.lstrip("+-") in {c.lstrip("+-") for c in cells}, \
                f"{n!r} of {line!r} is in no table"


def test_summary_says_what_the_tables_say(fatigue: tuple[Path, an.Session]) -> None:
    _, s = fatigue
    lines = an.summary(s)
    tab = an.stance_table(s)
    m = re.match(r"In ([\d.]+) min of walking, standing on the (left|right) leg your pelvis "
                 r"dropped on the (left|right) side by more than ([\d.]+)° in ([\d.]+)% of "
                 r"stances, mostly after walking minute (\d+)\.", lines[0])
    assert m, lines[0]
    assert float(m.group(1)) == pytest.approx(an.walking_minutes(s), abs=0.05)
    stance = m.group(2)
    assert stance == "left"
    assert m.group(3) == an.SWING[stance]
    assert float(m.group(4)) == pytest.approx(tab.loc[stance, "threshold (deg)"], abs=0.05)
    assert float(m.group(5)) == pytest.approx(tab.loc[stance, "above (%)"], abs=0.05)
    assert int(m.group(6)) > 2  # a growing drop is mostly late
    text = "\n".join(lines)
    assert f"Cadence: {an.cadence(s):.0f} steps per minute." in text
    assert "1 hip drop in left-leg stance (right side drops)" in text
    slope = an.fatigue_trend(s, "left")["slope_deg_per_10min"]
    assert f"The drop in left-leg stance grew steadily, by {slope:.1f}°" in text


def test_the_boxes_stand_side_by_side_with_their_own_thresholds(
        fatigue: tuple[Path, an.Session]) -> None:
    from beltline.analysis import report

    _, s = fatigue
    fig = report.drop_distribution(s)
    xs = [tuple(b.x) for b in fig.data]
    assert len(xs) == 2
    assert xs[0] != xs[1]
    lines = [(sh.x0, sh.x1) for sh in fig.layout.shapes]
    assert lines[0][1] < lines[1][0]  # each threshold over its own box only
    notes = fig.layout.annotations
    assert notes[0].x < notes[1].x
    assert all("threshold" in a.text for a in notes)


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
        assert re.search(r"In 1[01]\.\d min of walking", text)
        assert "Session measures" in text
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
    d.set_window_size(1200, 2200)  # type: ignore[attr-defined]
    d.save_screenshot(str(ARTIFACTS / "report.png"))  # type: ignore[attr-defined]
    d.set_window_size(1200, 1300)  # type: ignore[attr-defined]
    # health data: the report and the export are their owner's only
    assert (out_raw.stat().st_mode & 0o777) == 0o600
    assert ((tmp_path / "exp").stat().st_mode & 0o777) == 0o700
    assert all((f.stat().st_mode & 0o777) == 0o600 for f in (tmp_path / "exp").iterdir())
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore
    assert errors == []


def _fake_session(store: Store, k: int, rng: np.random.Generator) -> int:
    day = 1_790_000_000 + 86400 * (k % 60)
    sid = store.new_session("virtual", name=f"s{k}", started_unix=float(day))
    return _fill(store, sid, rng, k)


def _fill(store: Store, sid: int, rng: np.random.Generator, k: int = 1) -> int:
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
    # two sessions on one day, morning and afternoon: two points, not one
    day = 1_790_000_000 + 86400 * 70
    for hour in (9, 15):
        sid = store.new_session("virtual", name=f"h{hour}", started_unix=float(day + 3600 * hour))
        _fill(store, sid, rng)
    store.close()
    out, csv = tmp_path / "t.html", tmp_path / "t.csv"
    assert main(["trends", "--store", str(tmp_path / "b.db"), "--out", str(out),
                 "--csv", str(csv)]) == 0
    weekly = pd.read_csv(csv)
    assert weekly["sessions"].sum() == 14
    assert {"left-leg stance (right side drops): mean drop (°)", "episodes per walking hour",
            "week starting"} <= set(weekly.columns)
    text = csv.read_text()
    assert not re.search(r"\d\.\d{3,}", text), text  # rounded
    page = out.read_text()
    assert "Beltline trends" in page
    # the plot's x values are start times: the two sessions of one day are distinct points
    m = re.search(r'"x":\[("[^\]]*")\]', page)
    assert m
    xs = re.findall(r'"([^"]+)"', m.group(1))
    assert len(set(xs)) == len(xs) == 14, xs  # by date only, the last two would be one
    assert (csv.stat().st_mode & 0o777) == 0o600


def test_settings_from_the_session_are_used(fatigue: tuple[Path, an.Session]) -> None:
    _, s = fatigue
    strict = an.Session(s.samples, s.steps, s.episodes,
                        {**s.meta, "settings": {**Settings().__dict__, "hip_drop_deg": 20.0}})
    assert an.stance_table(strict).loc["left", "above (%)"] == 0.0


def test_analysis_outputs_are_private(fatigue: tuple[Path, an.Session], tmp_path: Path) -> None:
    raw_path, _ = fatigue
    outs = [tmp_path / n for n in ("ep.csv", "st.csv", "sa.csv")]
    assert main(["analyze", str(raw_path), "--episodes", str(outs[0]), "--steps",
                 str(outs[1]), "--samples", str(outs[2])]) == 0
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in outs)
    assert "hip_drop,left" in outs[0].read_text()
