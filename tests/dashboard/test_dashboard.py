"""The live dashboard and the review page in a real browser (headless Chromium).

The live test: a virtual wearer calibrates, then drops the left side in right-leg stance,
walks normally and stands, streamed through the virtual device at 12x. The stream starts only
once the page is open and the person has asked for sound, so nothing depends on how fast the
machine loads the page. Every wait is on a state of the page; what the guidance and the ruler
showed is recorded by the page itself (a MutationObserver), so short states are never missed.
Screenshots go to tests/artifacts/ (docs/ has the ones the README shows).
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from beltline.dashboard import figures
from beltline.dashboard.server import Server
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession
from beltline.sim import scenarios
from beltline.sim.link import VirtualLink
from beltline.sim.wearer import Segment, simulate
from conftest import ARTIFACTS_DIR

ARTIFACTS = ARTIFACTS_DIR
DROP = "Hip drop in right-leg stance (left side drops)"

_RECORD = """
window.seen = {guide: [], ruler: [], gait: []};
const rec = function () {
  const g = document.getElementById('guide');
  const t = document.querySelector('#ruler .gtitle');
  const w = document.getElementById('gait');
  for (const [k, el] of [['guide', g], ['ruler', t], ['gait', w]]) {
    const s = el ? el.textContent : '';
    const l = window.seen[k];
    if (s && l[l.length - 1] !== s) { l.push(s); }
  }
};
new MutationObserver(rec).observe(document.body, {subtree: true, childList: true,
                                                  characterData: true});
rec();
"""


def _wait(what: str, check: Callable[[], object], timeout: float = 90.0) -> object:
    """Wait for a state; the timeout only bounds a test that would otherwise hang."""
    from selenium.common.exceptions import WebDriverException

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            got = check()
        except WebDriverException:  # not rendered yet, or re-rendered under our feet
            got = None
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _points(driver: object) -> float:
    """The time of the newest point drawn (0 before any): it grows while the traces advance
    (their length stops at the point cap)."""
    return float(driver.execute_script(  # type: ignore[attr-defined]
        "const g = document.querySelector('#traces .js-plotly-plot');"
        "if (!g || !g.data || !g.data[0].x.length) return 0;"
        "if (g.data[0].x.length > 750) return -1;"  # the cap must hold
        "return g.data[0].x[g.data[0].x.length - 1];"))


def _bar_colours(driver: object) -> list[str]:
    return list(driver.execute_script(  # type: ignore[attr-defined]
        "const g = document.querySelector('#stances .js-plotly-plot');"
        "return g && g.data ? g.data[0].marker.color : [];"))


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[Server, LiveSession]]:
    segs = [*scenarios.CALIBRATION,
            Segment("walk", 70.0, hip_drop_deg=7.0, hip_drop_side="right"),
            Segment("walk", 40.0), Segment("stand", 300.0)]
    rec = simulate(segs, 100.0, seed=5, mount="left")
    store = tmp_path / "b.db"
    live = LiveSession(VirtualLink(rec, speed=12.0), store, Settings(), name="browser test")
    srv = Server(live, store, Settings(), port=0).start()  # live starts in the test
    yield srv, live
    live.stop()
    srv.stop()


def test_live_page_in_a_real_browser(chrome: object, live_server: tuple[Server, LiveSession]
                                     ) -> None:
    from selenium.webdriver.common.by import By

    d = chrome
    srv, live = live_server
    d.get("about:blank")  # type: ignore[attr-defined]
    d.get_log("browser")  # type: ignore[attr-defined]  # what earlier pages left
    d.get(srv.url)  # type: ignore[attr-defined]
    guide = _wait("the calibration guidance", lambda: d.find_element(  # type: ignore
        By.ID, "guide").text)
    assert "Stand still" in str(guide)
    d.execute_script(_RECORD)  # type: ignore[attr-defined]
    # the person asks for sound first (a browser plays sound only after a click)
    d.find_element(By.CSS_SELECTOR, "#sound input").click()  # type: ignore[attr-defined]
    _wait("the sound box ticked", lambda: d.find_element(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, "#sound input").is_selected())
    live.start()
    first = float(_wait("the traces to start", lambda: _points(d)))  # type: ignore[arg-type]
    _wait("the traces to advance", lambda: _points(d) > first + 2.0)
    def text(cid: str) -> str:
        return str(d.find_element(By.ID, cid).text)  # type: ignore[attr-defined]

    _wait("the hip-drop banner", lambda: DROP in text("banner"))
    _wait("the beep", lambda: d.execute_script(  # type: ignore[attr-defined]
        "return document.getElementById('beep').played.length > 0;"), 20)
    # while it lasts, the weak leg's bar is red and the other leg's normal steps are green
    _wait("the right-leg bar red", lambda: _bar_colours(d)[1:] == [figures.RED])
    assert _bar_colours(d)[0] in (figures.GREEN, figures.AMBER)
    d.save_screenshot(str(ARTIFACTS / "dashboard.png"))  # type: ignore[attr-defined]
    # the episode is listed as ongoing, then, once it has ended, with its times
    _wait("the episode listed", lambda: DROP in text("episodes"))
    _wait("the episode ended", lambda: f"{DROP}: " in text("episodes")
          and "ongoing" not in text("episodes") and "peak" in text("episodes"), 120)
    _wait("the banner to close", lambda: DROP not in text("banner"))
    # standing: no stale cadence or stance
    _wait("standing", lambda: text("gait") == "Standing", 120)
    seen = d.execute_script("return window.seen;")  # type: ignore[attr-defined]
    guides = " | ".join(seen["guide"])
    assert "Stand still" in guides
    assert "steps counted" in guides
    assert "Calibration done" in guides
    rulers = [r.replace(":", ": ").replace("  ", " ") for r in seen["ruler"]]  # (2 lines)
    assert any(r.startswith("Standing on the right leg: left side drops") for r in rulers)
    assert any(r.startswith("Standing on the left leg: right side drops") for r in rulers)
    assert any(r.startswith("Standing: ") for r in rulers)
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
    d.get("about:blank")  # type: ignore[attr-defined]  # (the page stops polling this server)


@pytest.fixture
def review_server(tmp_path: Path) -> Iterator[Server]:
    """A store with one finished session of its own (no other test needed first)."""
    segs = [*scenarios.CALIBRATION,
            Segment("walk", 70.0, hip_drop_deg=7.0, hip_drop_side="right"),
            Segment("walk", 20.0), Segment("stand", 20.0)]
    rec = simulate(segs, 100.0, seed=6, mount="back")
    store = tmp_path / "b.db"
    live = LiveSession(VirtualLink(rec, speed=0.0), store, Settings(), name="review test")
    live.start()
    assert live.done.wait(300), "the virtual session did not finish"
    live.stop()
    srv = Server(None, store, Settings(), port=0).start()
    yield srv
    srv.stop()


def _range(d: object, graph: str) -> list[float] | None:
    return d.execute_script(  # type: ignore[attr-defined, no-any-return]
        f"const g = document.querySelector('#{graph} .js-plotly-plot');"
        "return g && g._fullLayout ? g._fullLayout.xaxis.range : null;")


def test_review_page_opens_on_the_latest_session(chrome: object, review_server: Server
                                                 ) -> None:
    from selenium.webdriver.common.by import By

    d = chrome
    d.get("about:blank")  # type: ignore[attr-defined]
    d.get_log("browser")  # type: ignore[attr-defined]  # what earlier pages left
    d.get(review_server.url + "review")  # type: ignore[attr-defined]
    _wait("the timeline", lambda: d.execute_script(  # type: ignore[attr-defined]
        "const g = document.querySelector('#review-timeline .js-plotly-plot');"
        "return g && g.data && g.data.length >= 2 && g.data[0].x.length > 100;"))
    zoom = _wait("an episode button", lambda: d.find_elements(  # type: ignore
        By.CSS_SELECTOR, "#review-episodes button"))
    assert "Hip drop in right-leg stance (left side drops)" in zoom[0].text  # type: ignore
    zoom[0].click()  # type: ignore[index]

    def zoomed() -> bool:
        r, s = _range(d, "review-timeline"), _range(d, "review-strides")
        return bool(r and s and (r[1] - r[0]) < 200 and abs(s[0] - r[0]) < 1e-6
                    and abs(s[1] - r[1]) < 1e-6)

    _wait("the zoom, followed by the stride plot", zoomed)
    d.save_screenshot(str(ARTIFACTS / "review.png"))  # type: ignore[attr-defined]
    # zooming the timeline by hand moves the stride plot too
    d.execute_script(  # type: ignore[attr-defined]
        "Plotly.relayout(document.querySelector('#review-timeline .js-plotly-plot'),"
        "{'xaxis.range': [50, 60]});")
    _wait("the stride plot to follow", lambda: (_range(d, "review-strides") or [0])[0] == 50)
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore
    assert errors == []
