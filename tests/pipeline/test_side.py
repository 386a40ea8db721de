"""The stance side from a vote of cues: right on wearers whose cue polarities differ, under a
strong drop or a hike, and ``unknown`` (not mirrored) when the cues disagree."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from beltline.pipeline.evaluation import StrikeScore
from beltline.pipeline.side import CUES, SideParams, SideVote, alternation
from beltline.sessions import analyze, rawcsv
from beltline.sim import scenarios
from beltline.sim.wearer import Segment, Wearer, simulate


def _score(rec: object) -> dict[str, object]:
    res = analyze.run(rawcsv.Raw(rec.t, rec.acc, rec.gyr))  # type: ignore[attr-defined]
    s = StrikeScore()
    s.add(res.steps, rec.steps)  # type: ignore[attr-defined]
    return s.as_dict()


def test_alternation_scores_a_pattern_and_ignores_an_offset() -> None:
    v = np.array([1.0, -1.0, 1.0, -1.0, 1.0]) + 7.0  # a turn adds the same to every step
    assert alternation(v, 2) == pytest.approx(1.0)
    assert alternation(v, 1) == pytest.approx(-1.0)
    assert abs(alternation(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 2)) < 0.1  # a drift, no pattern
    assert np.isnan(alternation(np.array([1.0, np.nan, np.nan]), 0))


def _window(lat: float, roll: float, n: int = 9) -> np.ndarray:
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    cues = np.full((n, len(CUES)), np.nan)
    cues[:, 0] = lat * sign
    cues[:, 1] = roll * sign
    return cues


def test_polarities_are_learned_from_the_anchor_and_disagreement_is_unknown(
        caplog: pytest.LogCaptureFixture) -> None:
    vote = SideVote(SideParams())
    # this wearer's roll-rate cue has the opposite sign of the textbook: learned as -1
    for _ in range(12):
        assert vote.decide(_window(1.0, -1.0), 4)[0] == "left"
    assert vote.learned()["roll_rate"] == -1.0
    # without the anchor the learned cue alone tells the side, with its learned sign
    only_roll = _window(1.0, -1.0)
    only_roll[:, 0] = np.nan
    assert vote.decide(only_roll, 4)[0] == "left"
    # a bout in which the two point different ways is not guessed: unknown, and said so
    vote.end_bout(0.0)
    sides = [vote.decide(_window(1.0, 1.0), 4)[0] for _ in range(6)]
    assert "unknown" in sides
    with caplog.at_level(logging.INFO, logger="beltline.pipeline.side"):
        vote.end_bout(12.0)
    assert "stance side unknown" in caplog.text


@pytest.mark.parametrize(("roll_phase", "rotation_phase", "lateral_phase", "mount"), [
    (17.2, 0.0, 0.0, "back"),          # the textbook pattern
    (70.0, 0.0, 20.0, "left"),         # roll rate after the strike of the other sign
    (-35.0, 180.0, -30.0, "back-left"),  # pelvic rotation against the leading leg, off-centre
    (60.0, 170.0, 25.0, "back-upside-down"),
])
def test_the_side_holds_whatever_the_wearers_cue_polarities(
        roll_phase: float, rotation_phase: float, lateral_phase: float, mount: str) -> None:
    w = Wearer(roll_phase_deg=roll_phase, rotation_phase_deg=rotation_phase,
               lateral_phase_deg=lateral_phase, wobble_deg=0.6)
    segs = [*scenarios.CALIBRATION, Segment("walk", 60.0, turn_deg=180.0), Segment("stand", 5),
            Segment("walk", 40.0, turn_deg=-90.0), Segment("stand", 5)]
    d = _score(simulate(segs, 100.0, seed=31, wearer=w, mount=mount))
    assert d["f1_100ms"] >= 0.95  # type: ignore[operator]
    assert d["side_accuracy"] >= 0.98  # type: ignore[operator]
    assert d["side_unknown_share"] <= 0.1  # type: ignore[operator]


@pytest.mark.parametrize("condition", [
    {"hip_drop_deg": 9.0, "hip_drop_side": "right"},  # a strong drop changes the roll pattern
    {"hip_hike_deg": 5.0, "hip_hike_side": "left"},  # a hike reverses it in one stance
])
def test_the_side_holds_under_a_strong_drop_or_a_hike(condition: dict[str, object]) -> None:
    w = Wearer(roll_phase_deg=50.0)
    segs = [*scenarios.CALIBRATION, Segment("walk", 90.0, turn_deg=180.0, **condition),
            Segment("stand", 5)]
    d = _score(simulate(segs, 100.0, seed=8, wearer=w, mount="right"))
    assert d["side_accuracy"] >= 0.98  # type: ignore[operator]
    assert d["side_unknown_share"] <= 0.1  # type: ignore[operator]


def test_unknown_steps_carry_no_stance_measures() -> None:
    rec = simulate(scenarios.build("home_walks", 3.0, 4), 100.0, seed=4, mount="front")
    res = analyze.run(rawcsv.Raw(rec.t, rec.acc, rec.gyr))
    rows = res.out.rows().steps
    assert {r.side for r in rows} <= {"left", "right", "unknown"}
    for r in rows:
        if r.side == "unknown":
            assert np.isnan(r.drop_deg)
            assert np.isnan(r.hike_deg)
