"""The review page lists test and exercise sessions with their kind and shows their results
(headless Chromium; every wait on a state of the page). Screenshots: tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from test_dashboard import _wait

from beltline.dashboard.server import Server
from beltline.pipeline import exercise_run
from beltline.pipeline.exercise_settings import ExerciseSettings
from beltline.pipeline.settings import Settings
from beltline.sessions import exresults
from beltline.sessions.store import Store
from beltline.sim import exercises as simex
from beltline.sim import trendelenburg as simtest
from conftest import ARTIFACTS_DIR


@pytest.fixture(scope="module")
def ex_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Store]]:
    path = tmp_path_factory.mktemp("exview") / "b.db"
    s = Store(path)
    cfg = ExerciseSettings()
    legs = {"left": simtest.LegPlan(0.5, 30.0), "right": simtest.LegPlan(7.5, 30.0)}
    rec = simtest.simulate_test(simtest.TestPlan(legs, ("right", "left")), 100.0, seed=4)
    x = rec.samples
    res = exercise_run.trendelenburg_test(x.t, x.acc, x.gyr, cfg, try_walk=False)
    exresults.store_recording(s, x.t, x.acc, x.gyr, exresults.test_doc(res, cfg), "import",
                              name="the test")
    plan = simex.random_plan("clamshell", np.random.default_rng(7), reps=6, compensated=0.5)
    srec = simex.simulate_set(plan, 100.0, seed=7)
    x = srec.samples
    sres = exercise_run.exercise_set(x.t, x.acc, x.gyr, "clamshell", cfg, try_walk=False)
    exresults.store_recording(s, x.t, x.acc, x.gyr, exresults.exercise_doc(sres, cfg),
                              "import", name="the clams")
    srv = Server(None, path, Settings(), port=0).start()
    yield srv, s
    srv.stop()
    s.close()


def test_the_review_page_shows_a_set_and_a_test(chrome: object,
                                                ex_server: tuple[Server, Store]) -> None:
    from selenium.webdriver.common.by import By

    srv, store = ex_server
    d = chrome
    d.get(srv.url + "review")  # type: ignore[attr-defined]  # opens on the latest: the set
    rows = _wait("the per-rep table", lambda: d.find_elements(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, "#rep-table tbody tr"))
    doc = store.results(2)
    assert doc is not None
    reps = exresults.reps(doc)
    assert len(rows) == len(reps)  # type: ignore[arg-type]
    flags = [r.find_elements(By.TAG_NAME, "td")[4].text for r in rows]  # type: ignore
    assert flags == [r.flag for r in reps]
    assert d.find_element(By.ID, "set-words").text.startswith(  # type: ignore[attr-defined]
        "Clamshell, ")
    _wait("the per-rep figure", lambda: d.execute_script(  # type: ignore[attr-defined]
        "const g = document.querySelector('#reps-figure .js-plotly-plot');"
        "return g && g.data && g.data.length === 3;"))
    # the list names each session's kind (the chosen one's label shows)
    _wait("the set's label", lambda: "exercise set" in d.find_element(  # type: ignore
        By.ID, "pick").text)
    # a set has no walk: the walk's timeline, episodes and strides are not shown empty
    _wait("the walk's views hidden", lambda: not d.find_element(  # type: ignore
        By.ID, "review-walk").is_displayed())
    d.save_screenshot(str(ARTIFACTS_DIR / "review-exercise.png"))  # type: ignore
    d.get(srv.url + "review?session=1")  # type: ignore[attr-defined]
    words = _wait("the test's words", lambda: d.find_element(  # type: ignore[attr-defined]
        By.ID, "test-words").text)
    assert "Standing on the right leg your left side dropped" in words  # type: ignore
    assert "Hardcastle & Nade 1985" in words  # type: ignore[operator]
    _wait("the test's label", lambda: "single-leg stance test" in d.find_element(  # type: ignore
        By.ID, "pick").text)
    cells = d.find_elements(By.CSS_SELECTOR, "#test-table tbody tr")  # type: ignore
    verdicts = [c.find_elements(By.TAG_NAME, "td")[-1].text for c in cells]
    assert verdicts == ["negative", "positive"]
    _wait("the test's figure", lambda: d.execute_script(  # type: ignore[attr-defined]
        "const g = document.querySelector('#test-figure .js-plotly-plot');"
        "return g && g.data && g.data.length === 2;"))
    _wait("the walk's views hidden", lambda: not d.find_element(  # type: ignore
        By.ID, "review-walk").is_displayed())
    d.save_screenshot(str(ARTIFACTS_DIR / "review-test.png"))  # type: ignore[attr-defined]
