"""The live session without a browser: recording, a lost link, the page's data."""

from __future__ import annotations

from pathlib import Path

from beltline.dashboard.view import live_update
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession
from beltline.sessions.store import Store
from beltline.sim import scenarios
from beltline.sim.device import Faults
from beltline.sim.link import VirtualLink
from beltline.sim.wearer import simulate


def test_a_lost_link_shows_a_banner_and_the_recording_keeps_the_gap(tmp_path: Path) -> None:
    rec = simulate(scenarios.build("healthy_walk", 1.0, 2), 100.0, seed=2)
    faults = Faults(disconnect_at_s=60.0, disconnect_for_s=8.0)
    live = LiveSession(VirtualLink(rec, faults=faults, speed=0), tmp_path / "b.db",
                       Settings(), name="lost")
    seen: list[str] = []
    orig = live._on_state

    def spy(s: object) -> None:
        orig(s)  # type: ignore[arg-type]
        if s.state == "lost":  # type: ignore[attr-defined]
            seen.append(str(live_update(live, 0, Settings())[5]))

    live._on_state = spy  # type: ignore[method-assign]
    live.start()
    assert live.done.wait(120)
    live.stop()
    assert seen
    assert "Belt unit lost" in seen[0]
    st = Store(tmp_path / "b.db")
    (info,) = st.sessions()
    assert info.ended_unix is not None
    gaps = st.gaps(info.id)
    assert any(g.seconds > 7.0 for g in gaps)
    t = st.samples(info.id).t_s
    assert not ((t > 60.5) & (t < 67.5)).any()
    assert t[-1] > rec.t[-1] - 1.0


def test_review_only_page_data_without_a_live_session() -> None:
    out = live_update(None, 0, Settings())
    assert "review only" in str(out[8])


def test_monitor_says_what_to_do_without_hardware_and_stays_local(
        tmp_path: Path, caplog: object) -> None:
    from beltline.cli import main

    assert main(["monitor", "--no-browser", "--store", str(tmp_path / "b.db")]) == 1
    assert "beltline monitor --virtual" in caplog.text  # type: ignore[attr-defined]
    assert main(["monitor", "--virtual", "--host", "0.0.0.0", "--no-browser"]) == 2
    assert "--allow-network" in caplog.text  # type: ignore[attr-defined]


def test_a_live_session_over_the_ble_stack(tmp_path: Path) -> None:
    from beltline.sim.link import virtual_session

    live = virtual_session("healthy_walk", 0.5, 1, "back", 0.0, tmp_path / "b.db", Settings(),
                           over_ble=True)
    live.start()
    assert live.done.wait(120)
    live.stop()
    assert live.state.error == ""
    st = Store(tmp_path / "b.db")
    (info,) = st.sessions()
    assert (info.source, info.link) == ("live", "ble")
    assert info.samples > 5000
    assert info.raw_samples > 5000 and info.final  # the final analysis of the raw record
