"""The live dashboard in a real browser (headless Chromium through chromedriver).

A virtual wearer with a hip drop in right stance streams through the virtual device at 12x;
the page must show the traces advancing, the hip-drop banner, the episode in the list, a CSV
export that downloads, a second tab that works too, and a console free of errors. The
screenshot is kept in tests/artifacts/.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable, Iterator

import pytest

from beltline.dashboard.server import Server
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession
from beltline.sim import scenarios
from beltline.sim.link import VirtualLink
from beltline.sim.wearer import Segment, simulate
from conftest import ARTIFACTS_DIR

ARTIFACTS = ARTIFACTS_DIR


@pytest.fixture(scope="module")
def browser(chrome: object) -> object:
    return chrome


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, LiveSession]]:
    segs = [*scenarios.CALIBRATION,
            Segment("walk", 70.0, hip_drop_deg=7.0, hip_drop_side="right"),
            Segment("walk", 40.0), Segment("stand", 300.0)]
    rec = simulate(segs, 100.0, seed=5, mount="left")
    store = tmp_path_factory.mktemp("store") / "b.db"
    live = LiveSession(VirtualLink(rec, speed=12.0), store, Settings(), name="browser test")
    srv = Server(live, store, Settings(), port=0).start()
    live.start()
    yield srv, live
    live.stop()
    srv.stop()


def _wait(what: str, check: Callable[[], object], timeout: float = 60.0) -> object:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _points(driver: object) -> float:
    """The time of the newest point drawn (0 before any): it grows while the traces advance
    (their length stops at the point cap)."""
    return float(driver.execute_script(  # type: ignore[attr-defined]
        "const g = document.querySelector('#traces .js-plotly-plot');"
        "if (!g || !g.data || !g.data[0].x.length) return 0;"
        "if (g.data[0].x.length > 750) return -1;"  # the cap must hold
        "return g.data[0].x[g.data[0].x.length - 1];"))


def test_live_page_in_a_real_browser(browser: object, server: tuple[Server, LiveSession]
                                     ) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    srv, _live = server
    d.get(srv.url)  # type: ignore[attr-defined]
    # the traces advance
    first = float(_wait("the traces to start", lambda: _points(d)))  # type: ignore[arg-type]
    _wait("the traces to advance", lambda: _points(d) > first + 2.0)
    # the person asks for sound, then the hip-drop banner appears while the episode is active
    d.find_element(By.CSS_SELECTOR, "#sound input").click()  # type: ignore[attr-defined]
    banner = d.find_element(By.ID, "banner")  # type: ignore[attr-defined]
    said = "Hip drop in right-leg stance (left side drops)"
    _wait("the hip-drop banner", lambda: said in banner.text, 90)
    _wait("the beep", lambda: d.execute_script(  # type: ignore[attr-defined]
        "return document.getElementById('beep').played.length > 0;"), 10)
    d.save_screenshot(str(ARTIFACTS.joinpath("dashboard.png")))  # type: ignore[attr-defined]
    # and the episode is listed once it has ended
    episodes = d.find_element(By.ID, "episodes")  # type: ignore[attr-defined]
    _wait("the episode in the list", lambda: said in episodes.text, 90)
    # a second tab works too
    d.switch_to.new_window("tab")  # type: ignore[attr-defined]
    d.get(srv.url)  # type: ignore[attr-defined]
    n = float(_wait("the second tab's traces", lambda: _points(d)))  # type: ignore[arg-type]
    _wait("the second tab to advance", lambda: _points(d) > n + 2.0)
    d.close()  # type: ignore[attr-defined]
    d.switch_to.window(d.window_handles[0])  # type: ignore[attr-defined]
    # the export downloads a zip of the session's CSV files
    d.find_element(By.ID, "btn-export").click()  # type: ignore[attr-defined]
    zips = _wait("the download", lambda: list(d.downloads.glob("*.zip")))  # type: ignore
    with zipfile.ZipFile(zips[0]) as z:  # type: ignore[index]
        names = z.namelist()
        eps = next(n for n in names if n.endswith("episodes.csv"))
        text = z.read(eps).decode()
    assert any(n.endswith("samples.csv") for n in names)
    assert "hip_drop,right" in text
    # no errors in the browser console
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore
    assert errors == []


def test_review_page_shows_a_past_session(browser: object,
                                          server: tuple[Server, LiveSession]) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    srv, _ = server
    d.get(srv.url + "review?session=1")  # type: ignore[attr-defined]
    _wait("the timeline", lambda: d.execute_script(  # type: ignore[attr-defined]
        "const g = document.querySelector('#review-timeline .js-plotly-plot');"
        "return g && g.data && g.data.length === 2 && g.data[0].x.length > 100;"))
    zoom = _wait("an episode button", lambda: d.find_elements(  # type: ignore
        By.CSS_SELECTOR, "#review-episodes button"))
    zoom[0].click()  # type: ignore[index]
    _wait("the zoom", lambda: d.execute_script(  # type: ignore[attr-defined]
        "const g = document.querySelector('#review-timeline .js-plotly-plot');"
        "const r = g && g.layout.xaxis.range; return r && (r[1] - r[0]) < 200;"))
    d.save_screenshot(str(ARTIFACTS.joinpath("review.png")))  # type: ignore[attr-defined]
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore
    assert errors == []
