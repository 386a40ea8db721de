"""``beltline report`` of a test and of an exercise session, and ``beltline trends`` over
them: what a physiotherapist reads (the words, the numbers, the threshold and its source)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest

from beltline.cli import main
from beltline.pipeline import exercise_run
from beltline.pipeline.exercise_settings import ExerciseSettings
from beltline.sessions import exresults
from beltline.sessions.store import Store
from beltline.sim import exercises as simex
from beltline.sim import trendelenburg as simtest


def _text(path: Path) -> str:
    """The page's text (scripts and tags out)."""
    s = path.read_text(encoding="utf-8")
    s = re.sub(r"<script.*?</script>", "", s, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", s))


def _store_test(s: Store, left: float, right: float, started: float, seed: int) -> None:
    legs = {"left": simtest.LegPlan(left, 30.0), "right": simtest.LegPlan(right, 30.0)}
    rec = simtest.simulate_test(simtest.TestPlan(legs, ("right", "left")), 100.0, seed=seed)
    cfg = ExerciseSettings()
    x = rec.samples
    res = exercise_run.trendelenburg_test(x.t, x.acc, x.gyr, cfg, try_walk=False)
    sid = exresults.store_recording(s, x.t, x.acc, x.gyr, exresults.test_doc(res, cfg),
                                    "import", name=f"test {seed}")
    s.db.execute("UPDATE sessions SET started_unix=? WHERE id=?", (started, sid))
    s.db.commit()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rep") / "b.db"
    s = Store(path)
    week = 7 * 86400.0
    _store_test(s, 1.0, 7.5, 1.7e9, 4)  # week 0: positive on the right leg
    _store_test(s, 1.0, 3.0, 1.7e9 + 3 * week, 5)  # three weeks later: negative
    plan = simex.random_plan("clamshell", np.random.default_rng(7), reps=6, compensated=0.5)
    rec = simex.simulate_set(plan, 100.0, seed=7)
    cfg = ExerciseSettings()
    x = rec.samples
    res = exercise_run.exercise_set(x.t, x.acc, x.gyr, "clamshell", cfg, try_walk=False)
    exresults.store_recording(s, x.t, x.acc, x.gyr, exresults.exercise_doc(res, cfg), "import",
                              name="clams")
    s.close()
    return path


def test_a_test_report_says_each_leg_with_its_numbers_and_the_threshold_source(
        store: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.html"
    assert main(["report", "1", "--out", str(out), "--store", str(store)]) == 0
    text = _text(out)
    doc = Store(store, read_only=True).results(1)
    assert doc is not None
    right = doc["legs"]["right"]  # type: ignore[index]
    assert "Standing on the right leg your left side dropped" in text
    assert "a positive test" in text
    assert "Hardcastle & Nade 1985" in text
    assert "Threshold 4.5°" in text
    for key in ("drop_deg", "peak_drop_deg", "hold_s", "sway_deg", "time_to_drop_s"):
        assert f"{right[key]:.2f}".rstrip("0").rstrip(".") in text, key
    assert "time to first drop (s)" in text
    assert "sway (° RMS)" in text


def test_an_exercise_report_has_the_set_and_every_rep_with_its_reason(
        store: Path, tmp_path: Path) -> None:
    out = tmp_path / "e.html"
    assert main(["report", "3", "--out", str(out), "--store", str(store)]) == 0
    text = _text(out)
    doc = Store(store, read_only=True).results(3)
    assert doc is not None
    rows = exresults.reps(doc)
    assert text.count("compensated") >= 1 + sum(r.flag == "compensated" for r in rows)
    assert "Clamshell, " in text
    assert f"{len(rows)} reps" in text
    assert "hike 5.0, tilt 6.0, rotation 6.0" in text  # the limits used
    for r in rows:
        if r.flag == "compensated":
            from beltline import words

            assert words.rep_reasons(r.reason) in text


def test_trends_show_the_test_per_leg_and_the_exercise_quality_over_sessions(
        store: Path, tmp_path: Path) -> None:
    out = tmp_path / "tr.html"
    assert main(["trends", "--out", str(out), "--store", str(store)]) == 0
    text = _text(out)
    assert "Single-leg stance test over sessions" in text
    assert "Exercise quality over sessions" in text
    s = Store(store, read_only=True)
    for sid in (1, 2):
        d = s.results(sid)["legs"]["right"]["drop_deg"]  # type: ignore[index]
        assert f"{d:.2f}".rstrip("0").rstrip(".") in text
    # the change over weeks: positive, then negative on the right leg
    import datetime

    day = [datetime.datetime.fromtimestamp(s.session(k).started_unix).strftime("%Y-%m-%d")
           for k in (1, 2)]
    i, j = text.index(day[0]), text.index(day[1])
    assert "positive" in text[i:j]
    assert "negative" in text[j:]
    share = 100.0 * exresults.compensated_share(s.results(3) or {})
    assert f"{share:.2f}".rstrip("0").rstrip(".") in text
