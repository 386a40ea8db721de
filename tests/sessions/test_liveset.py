"""A test or an exercise set live over the unit's link (``sessions.liveset``): through the
virtual belt unit (the firmware in the real ``micropython`` binary, its Bluetooth on Bumble,
this host's own Bluetooth link), reps announced as they settle, ``BUZZ`` received and buzzed
by the unit for each flagged rep in training mode and never in tracking mode, and the session
stored as kind ``exercise`` with the final analysis over its raw record. Accelerated time;
every wait is on a state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from beltline.firmware import control

from beltline.dashboard import view
from beltline.pipeline import exercise_run
from beltline.pipeline.exercise_live import BUZZ_PULSES
from beltline.pipeline.exercise_settings import ExerciseSettings
from beltline.pipeline.settings import Settings
from beltline.sessions import exresults
from beltline.sessions.live import LiveSession, snapshot
from beltline.sessions.liveset import LiveResult, LiveSet
from beltline.sessions.store import Store
from beltline.sim.exercises import SetRecording
from beltline.sim.link import VirtualLink
from beltline.sim.liveset import as_recording, virtual_set
from beltline.sim.unit import VirtualBleLink

CFG = ExerciseSettings()


def _run(tmp_path: Path, mode: str, seed: int, reps: int, compensated: float
         ) -> tuple[LiveSet, LiveResult, list[str], tuple[VirtualBleLink, SetRecording]]:
    link, rec = virtual_set("clamshell", CFG, seed, reps, 10.0, compensated=compensated)
    said: list[str] = []
    run = LiveSet(link, tmp_path / "a.db", "clamshell", CFG, Settings(alert_mode=mode),
                  name="live set", say=said.append)
    link.before_end = run.wrap_up
    return run, run.run(), said, (link, rec)


@pytest.mark.usefixtures("micropython")
def test_a_live_set_in_training_mode_announces_its_reps_and_the_unit_buzzes_each_flagged_one(
        tmp_path: Path) -> None:
    run, res, said, (link, rec) = _run(tmp_path, "training", 5, 5, 0.5)
    final = exresults.reps(res.doc)
    announced = res.announced
    # the reps announced as they settled are the final analysis's, over the whole raw record
    assert [(r.rep, r.side, r.flag, r.reason) for r in announced] == \
        [(r.rep, r.side, r.flag, r.reason) for r in final]
    np.testing.assert_allclose([r.end_s for r in announced], [r.end_s for r in final], atol=0.05)
    flagged = [r for r in final if r.flag == "compensated"]
    assert flagged, "the set must hold a compensated rep"
    assert len(final) == len(rec.truth)
    assert [ln.split(":")[0] for ln in said] == [f"rep {r.rep} (right leg)" if r.side == "right"
                                                 else f"rep {r.rep} (left leg)" for r in final]
    assert sum("compensated — " in ln for ln in said) == len(flagged)
    # the unit (the firmware under MicroPython) got one BUZZ per flagged rep, in training mode,
    # and buzzed each after its rep ended
    r = link.report
    assert r["mode"] == 1
    assert r["buzzes"] == len(flagged) == res.buzzes_sent
    sent = [c for c in run.live.sent_commands if c[0] == control.BUZZ]
    assert sent == [control.encode(control.BUZZ, BUZZ_PULSES)] * len(flagged)
    assert r["motor_pulses"] >= BUZZ_PULSES * len(flagged)
    pulses = np.asarray(r["pulse_ms"]) / 1000.0
    for rep in flagged:
        assert np.any(pulses > rep.end_s)
    # the live page's guidance box: the rep count and the last rep's verdict
    text, shown = view.guide(snapshot(run.live.state, 0))
    assert shown
    assert text == f"Clamshell: {len(final)} reps — last: {said[-1]}"
    # stored as an exercise session, with its raw record and the final analysis's reps
    with Store(tmp_path / "a.db") as st:
        (info,) = st.sessions()
        assert info.kind == "exercise"
        assert info.closed
        assert info.raw_samples >= len(rec.samples.t) - 104  # at most a second not received
        doc = st.results(info.id)
        assert doc is not None
        assert not doc.get("pending")
        assert doc["exercise"] == "clamshell"
        assert exresults.reps(doc) == final
        # the same as the recording path's analysis of the stored raw record
        blocks = list(st.iter_raw(info.id))
        fmt = st.raw_format(info.id)
        assert fmt is not None
        t = np.concatenate([b.ticks for b in blocks]) / fmt.tick_hz
        again = exercise_run.exercise_set(t, np.concatenate([b.acc for b in blocks]),
                                          np.concatenate([b.gyr for b in blocks]), "clamshell",
                                          CFG)
        assert exresults.exercise_doc(again, CFG)["reps"] == doc["reps"]


@pytest.mark.usefixtures("micropython")
def test_a_live_set_in_tracking_mode_never_buzzes(tmp_path: Path) -> None:
    run, res, said, (link, rec) = _run(tmp_path, "tracking", 2, 3, 1.0)
    final = exresults.reps(res.doc)
    assert len(final) == len(rec.truth)
    assert any(r.flag == "compensated" for r in final)  # a buzz were it training mode
    assert [r.flag for r in res.announced] == [r.flag for r in final]
    assert len(said) == len(final)
    assert link.report["mode"] == 0
    assert link.report["buzzes"] == 0
    assert not [c for c in run.live.sent_commands if c[0] == control.BUZZ]


def test_a_live_session_of_a_set_is_an_exercise_from_its_start_and_ends_analysed(
        tmp_path: Path) -> None:
    """The live session's hooks without the unit (the firmware's sample loop in process)."""
    from beltline.sim import exercises as simex

    plan = simex.random_plan("side_lying_leg_lift", np.random.default_rng(3), reps=4,
                             compensated=0.5)
    rec = simex.simulate_set(plan, 100.0, seed=3)
    seen: list[int] = []
    live = LiveSession(VirtualLink(as_recording(rec.samples), speed=0), tmp_path / "b.db",
                       results=exresults.pending_doc("side_lying_leg_lift", CFG),
                       on_samples=lambda t, a, g: seen.append(len(t)),
                       on_connect=[control.encode(control.MODE, 1)])
    live.start()
    assert live.done.wait(600)
    assert live.state.error == ""
    assert sum(seen) == len(rec.samples.t)  # every sample, in order, to the caller
    assert live.sent_commands[0] == control.encode(control.MODE, 1)
    with Store(tmp_path / "b.db") as st:
        (info,) = st.sessions()
        assert info.kind == "exercise"
        doc = st.results(info.id)
        assert doc is not None
        assert not doc.get("pending")
        assert [r.flag for r in exresults.reps(doc)] == [r.flag for r in rec.truth]


def test_a_rep_in_words() -> None:
    from beltline.words import rep_verdict

    assert rep_verdict(3, "left", "ok", "", 1.0, 0.5, 2.0) == "rep 3 (left leg): ok"
    assert rep_verdict(4, "right", "compensated", "hike", 5.06, 1.0, 2.0) == \
        "rep 4 (right leg): compensated — the working side hiked 5.1°"
    assert rep_verdict(5, "both", "compensated", "hike+rotation", -2.0, 1.0, 7.25) == \
        "rep 5 (both legs): compensated — the working side hiked 2.0° and the pelvis rotated " \
        "7.2°"


def test_a_live_set_that_cannot_be_analysed_is_kept_and_says_why(tmp_path: Path) -> None:
    """A link that closes by itself (as a real unit's dropping for good would) after 3 s of
    standing: no set in the record. One line says so; the raw record is kept."""
    from beltline.errors import DataError
    from beltline.sim import exercises as simex

    plan = simex.random_plan("clamshell", np.random.default_rng(3), reps=3)
    s = simex.simulate_set(plan, 100.0, seed=3).samples
    n = 300
    cut = as_recording(type(s)(s.t[:n], s.acc[:n], s.gyr[:n], s.nearest[:n], s.M))
    said: list[str] = []
    run = LiveSet(VirtualLink(cut, speed=0), tmp_path / "c.db", "clamshell", CFG, Settings(),
                  say=said.append)
    with pytest.raises(DataError, match="could not be analysed: no side position found"):
        run.run()
    assert said == []
    with Store(tmp_path / "c.db") as st:
        (info,) = st.sessions()
        assert info.kind == "exercise"
        assert info.raw_samples == n
        doc = st.results(info.id)
        assert doc is not None
        assert doc["pending"] is True  # the note says it was not analysed
