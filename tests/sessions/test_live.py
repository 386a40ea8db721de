"""The live session without a browser: recording, a lost link, the page's data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from beltline.dashboard.view import OUTPUTS, live_update
from beltline.errors import StoreError
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
            seen.append(str(live_update(live, None, Settings())[OUTPUTS.index("banner")]))

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
    out = live_update(None, None, Settings())
    assert "review only" in str(out[OUTPUTS.index("status")])


def test_monitor_says_what_to_do_without_hardware_and_stays_local(
        tmp_path: Path, caplog: object) -> None:
    from beltline.cli import main

    assert main(["monitor", "--no-browser", "--store", str(tmp_path / "b.db")]) == 1
    assert "beltline monitor --virtual" in caplog.text  # type: ignore[attr-defined]
    assert main(["monitor", "--virtual", "--host", "0.0.0.0", "--no-browser"]) == 2
    assert "--allow-network" in caplog.text  # type: ignore[attr-defined]


def test_a_live_session_over_the_ble_stack(tmp_path: Path) -> None:
    from beltline.sim.link import virtual_session

    live = virtual_session("healthy_walk", 0.5, 1, "back", 10.0, tmp_path / "b.db", Settings())
    live.start()
    assert live.done.wait(120)
    live.stop()
    assert live.state.error == ""
    st = Store(tmp_path / "b.db")
    (info,) = st.sessions()
    assert (info.source, info.link) == ("live", "ble")
    assert info.samples > 5000
    assert info.raw_samples > 5000
    assert info.final


class _SmallStore(Store):
    """A store that may grow by only ``room`` pages (SQLite then says SQLITE_FULL, as on a
    full disk)."""

    room = 40

    def __init__(self, path: Path | None = None, read_only: bool = False) -> None:
        super().__init__(path, read_only)
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        self.db.execute(f"PRAGMA max_page_count={pages + self.room}")


def test_a_full_disk_stops_the_recording_and_the_live_view_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import beltline.sessions.live as live_mod
    from beltline.sessions.live import snapshot

    monkeypatch.setattr(live_mod, "Store", _SmallStore)
    rec = simulate(scenarios.build("healthy_walk", 4.0, 2), 100.0, seed=2)
    live = LiveSession(VirtualLink(rec, speed=0), tmp_path / "b.db", Settings(), name="full")
    at_failure: list[int] = []
    orig = live._recording_failed

    def spy(exc: StoreError) -> None:
        at_failure.append(live.state.seq)
        orig(exc)

    live._recording_failed = spy  # type: ignore[method-assign]
    live.start()
    assert live.done.wait(300)
    live.stop()
    assert len(at_failure) == 1
    snap = snapshot(live.state, 0)
    assert snap["recording"] is False
    assert "Recording stopped: the disk is full" in str(snap["error"])
    assert "live view goes on" in str(snap["error"])
    assert int(snap["seq"]) > at_failure[0] + 1000  # the page kept getting angles
    assert snap["connection"] == "closed"
    # what was committed is kept, and the next start finishes the session from it
    from beltline.sessions.finish import open_store

    with open_store(tmp_path / "b.db") as st:
        (info,) = st.sessions()
        assert info.closed
        assert 0 < info.raw_samples < len(rec.t)


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare to mount a tiny disk")
def test_a_really_full_disk(tmp_path: Path) -> None:
    """The same on a 1.5-MB filesystem (tmpfs in a private mount namespace)."""
    d = tmp_path / "tiny"
    d.mkdir()
    code = f"""
import json
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession, snapshot
from beltline.sim import scenarios
from beltline.sim.link import VirtualLink
from beltline.sim.wearer import simulate
rec = simulate(scenarios.build("healthy_walk", 4.0, 3), 100.0, seed=3)
live = LiveSession(VirtualLink(rec, speed=0), "{d}/b.db", Settings())
live.start()
live.done.wait(900)
s = snapshot(live.state, 0)
print(json.dumps({{"error": s["error"], "recording": s["recording"], "seq": s["seq"],
                   "connection": s["connection"], "n": len(rec.t)}}))
"""
    out = subprocess.run(["unshare", "-m", "sh", "-c",
                          f"mount -t tmpfs -o size=1536k tmpfs {d} && {sys.executable} -c "
                          f"'{code}'"], capture_output=True, text=True, timeout=1200,
                         check=False)
    if out.returncode != 0 and ("Operation not permitted" in out.stderr
                                or "permission denied" in out.stderr.lower()):
        pytest.skip(f"cannot mount a tiny filesystem here: {out.stderr.strip()[:200]}")
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["recording"] is False, r
    assert "disk is full" in r["error"], r
    assert r["connection"] == "closed"
    assert r["seq"] > 0.2 * r["n"] / 4


def test_a_30_s_drop_loses_nothing_in_the_store(tmp_path: Path) -> None:
    """Over the BLE stack: the unit logs what it could not send and replays it after the
    reconnect; the replayed packets are late for the live pipeline but go into their place in
    the raw record, and the final analysis has them all: no gap is left."""
    from beltline.sim.link import virtual_session

    faults = Faults(disconnect_at_s=60.0, disconnect_for_s=30.0)
    live = virtual_session("healthy_walk", 1.5, 1, "back", 10.0, tmp_path / "b.db", Settings(),
                           faults)
    live.start()
    assert live.done.wait(300)
    live.stop()
    assert live.state.error == ""
    st = Store(tmp_path / "b.db")
    (info,) = st.sessions()
    n = len(live.link.rec.t)  # type: ignore[attr-defined]
    assert info.raw_samples == n
    assert info.final
    assert info.closed
    ticks = st.raw(info.id).ticks
    assert ticks.tolist() == list(range(int(ticks[0]), int(ticks[0]) + n))
    assert st.gaps(info.id) == []
    t = st.samples(info.id).t_s
    assert ((t > 61.0) & (t < 89.0)).sum() > 2700  # the drop's 30 s are analysed too


def test_stop_and_start_recording_makes_two_sessions(tmp_path: Path) -> None:
    rec = simulate(scenarios.build("healthy_walk", 1.0, 2), 100.0, seed=2)
    live = LiveSession(VirtualLink(rec, speed=0), tmp_path / "b.db", Settings())
    live.set_recording(False)  # handled at the first notification: ends session 1 at once
    live.set_recording(True)  # and starts session 2
    live.start()
    assert live.done.wait(300)
    live.stop()
    st = Store(tmp_path / "b.db")
    first, second = st.sessions()
    assert first.closed
    assert first.raw_samples == 0
    assert second.closed
    assert second.final
    assert second.raw_samples > len(rec.t) - 100
