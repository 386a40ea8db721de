"""Recordings as real life makes them: starting seated, lying, bending or walking; only short
walks; no standing next to a walk; better evidence later; drops present from the first step,
on both sides, a hike; and a long normal day."""

from __future__ import annotations

import numpy as np
import pytest

from beltline.pipeline import Pipeline, StageParams
from beltline.pipeline.calibration import CalibrationParams
from beltline.pipeline.evaluation import StrikeScore, match_episodes
from beltline.sessions import analyze, rawcsv
from beltline.sim import scenarios
from beltline.sim.wearer import Segment, Wearer, simulate


def _run(rec: object, params: StageParams | None = None) -> analyze.Result:
    raw = rawcsv.Raw(rec.t, rec.acc, rec.gyr)  # type: ignore[attr-defined]
    if params is None:
        return analyze.run(raw)
    p = Pipeline(params=params)
    out = p.push(raw.t, raw.acc, raw.gyr)
    out.extend(p.finish())
    obl, tilt, act = analyze.at_input_times(raw.t, out)
    return analyze.Result(raw, out, p, obl, tilt, act)


@pytest.mark.parametrize(("name", "mount"), [("seated_start", "back"), ("lying_start", "left"),
                                              ("bending_start", "front"),
                                              ("walking_start", "back-left")])
def test_the_neutral_is_upright_standing_wherever_the_recording_starts(name: str,
                                                                       mount: str) -> None:
    seed = 40 + len(name)
    rec = simulate(scenarios.build(name, 3.0, seed), 100.0, seed=seed, mount=mount)
    res = _run(rec)
    cal = res.pipeline.calibration
    assert cal is not None
    assert cal.neutral_is_standing, cal
    assert "standing" in cal.neutral_source
    assert res.episodes == []  # healthy: no posture episode from a seated or lying "neutral"
    # the angles are the pelvis's against its standing neutral: the closing standing (the last
    # 8 s) reads level, as the truth does
    last = (rec.t > rec.t[-1] - 8) & np.isfinite(res.tilt_deg)
    assert abs(np.mean(res.tilt_deg[last] - rec.tilt_deg[last])) < 1.5
    assert abs(np.mean(res.obliquity_deg[last] - rec.obliquity_deg[last])) < 1.5
    d = res.pipeline.diagnostics()
    assert d.calibration.state == "done"
    assert d.calibration.neutral_confidence >= 0.6
    assert d.calibration_record is not None
    assert "neutral_confidence" in d.calibration_record


def test_short_walks_only_are_analysed_not_refused() -> None:
    # never more than 5-6 steps in a row, turning, with standing and sitting between
    segs: list[Segment] = [Segment("sit", 20.0), Segment("stand_up", 2.5)]
    for k in range(8):
        segs += [Segment("walk", 3.0, turn_deg=90.0 * (k % 3)), Segment("stand", 6.0)]
    rec = simulate(segs, 100.0, seed=2, mount="right")
    res = _run(rec)
    cal = res.pipeline.calibration
    assert cal is not None
    assert cal.walk_steps >= 10
    s = StrikeScore()
    s.add(res.steps, rec.steps)
    d = s.as_dict()
    assert d["recall_100ms"] >= 0.85  # type: ignore[operator]
    assert d["side_accuracy"] >= 0.95  # type: ignore[operator]


def test_no_standing_next_to_walking_means_no_posture_episode() -> None:
    # walking, then sitting with a posterior tilt and standing far from any walk leaning
    # forward: with no standing next to a walk the neutral is the walking posture (low
    # confidence) and tilt or obliquity is never judged against it
    segs = [Segment("walk", 40.0, turn_deg=180.0), Segment("sit_down", 2.5),
            Segment("sit", 40.0), Segment("stand_up", 2.5), Segment("walk", 2.0),
            Segment("stand", 3.0, tilt_deg=12.0), Segment("bend", 3.0),
            Segment("stand", 40.0, tilt_deg=12.0, labelled=False), Segment("walk", 20.0)]
    rec = simulate(segs, 100.0, seed=9, mount="back")
    res = _run(rec)
    cal = res.pipeline.calibration
    assert cal is not None
    assert not cal.neutral_is_standing
    assert cal.as_dict()["neutral_confidence"] < 0.6  # type: ignore[operator]
    assert [e for e in res.episodes if e.kind in ("anterior_tilt", "pelvic_obliquity")] == []


def test_better_standing_later_improves_the_calibration_live_as_in_batch() -> None:
    segs = [Segment("walk", 20.0, turn_deg=180.0), Segment("stand", 3.2, tilt_deg=3.0),
            Segment("walk", 30.0), Segment("sit_down", 2.5), Segment("sit", 20.0),
            Segment("stand_up", 2.5), Segment("walk", 25.0), Segment("stand", 12.0),
            Segment("walk", 30.0, turn_deg=90.0), Segment("stand", 30.0, tilt_deg=8.0),
            Segment("walk", 20.0)]
    rec = simulate(segs, 100.0, seed=3, mount="back")
    batch = _run(rec)
    assert batch.pipeline.calibration_updates >= 1
    assert batch.pipeline.calibration is not None
    assert batch.pipeline.calibration.neutral_confidence == 1.0
    # the 8 deg tilt of the last standing is judged against the standing neutral
    assert {(e.kind, e.side) for e in batch.episodes} == {("anterior_tilt", "")}
    rng = np.random.default_rng(1)
    p = Pipeline()
    live = p.push(rec.t[:0], rec.acc[:0], rec.gyr[:0])
    i = 0
    while i < len(rec.t):
        n = int(rng.integers(1, 30))
        live.extend(p.push(rec.t[i: i + n], rec.acc[i: i + n], rec.gyr[i: i + n]))
        i += n
    live.extend(p.finish())
    assert p.calibration_updates == batch.pipeline.calibration_updates
    assert [e.row() for e in live.episodes] == [e.row() for e in batch.episodes]
    assert [(t, s) for t, s, _ in live.steps] == batch.steps
    np.testing.assert_allclose(live.obliquity_deg, batch.out.obliquity_deg, rtol=0, atol=1e-9)


def test_a_recording_that_never_settles_is_calibrated_after_the_buffer_limit() -> None:
    segs = [Segment("walk", 25.0, turn_deg=180.0), Segment("sit_down", 2.5),
            Segment("sit", 30.0), Segment("stand_up", 2.5), Segment("walk", 25.0),
            Segment("stand", 10.0), Segment("walk", 15.0)]
    rec = simulate(segs, 100.0, seed=5, mount="left")
    params = StageParams(calibration=CalibrationParams(buffer_max_s=40.0))
    res = _run(rec, params)
    assert res.pipeline.calibration is not None
    assert res.pipeline.calibration.neutral_confidence == 1.0  # improved at the standing
    assert res.pipeline.calibration_updates == 1


@pytest.mark.parametrize(("name", "kinds"), [
    ("chronic_drop_right", {("hip_drop", "right")}),
    ("bilateral_drop", {("hip_drop", "left"), ("hip_drop", "right")}),
    ("hip_hike_left", {("hip_hike", "left")}),
    ("short_walks", set()),
    ("wobbly_clip", set()),
    ("asymmetric_gait", set()),
])
def test_drops_against_normal_and_the_hike_as_its_own_pattern(
        name: str, kinds: set[tuple[str, str]]) -> None:
    seed = 60 + len(name)
    w = scenarios.wearer_for(name, Wearer(obliquity_rom_deg=7.0, roll_phase_deg=40.0))
    rec = simulate(scenarios.build(name, 4.0, seed), 100.0, seed=seed, wearer=w, mount="back")
    res = _run(rec)
    assert {(e.kind, e.side) for e in res.episodes} == kinds, res.episodes
    for kind in {k for k, _ in kinds}:
        _tp, fp, fn, _ = match_episodes(res.episodes, rec.labels, kind)
        assert (fp, fn) == (0, 0), (kind, res.episodes, rec.labels)


def test_short_walks_with_a_drop_from_the_first_step_are_each_found() -> None:
    rec = simulate(scenarios.build("short_walks_drop", 4.0, 7), 100.0, seed=7, mount="front")
    res = _run(rec)
    side = rec.labels[0][1]
    walks = [lab for lab in rec.labels if lab[0] == "hip_drop"]
    assert len(walks) >= 3
    found = [any(e.kind == "hip_drop" and e.side == side and e.start_s < b and e.end_s > a
                 for e in res.episodes) for _, _, a, b in walks]
    assert sum(found) / len(found) >= 0.9
    assert {e.side for e in res.episodes} == {side}


def test_a_normal_day_raises_nothing() -> None:
    rec = simulate(scenarios.build("normal_day", 25.0, 11), 100.0, seed=11, mount="back",
                   wearer=Wearer(obliquity_rom_deg=9.0, roll_phase_deg=30.0, wobble_deg=0.5))
    res = _run(rec)
    assert res.episodes == []
    walking = rec.activity == "walking"
    assert np.mean(res.activity[walking] == "walking") > 0.85
