"""Reps announced as a set goes on, and the buzz for a flagged rep in training mode: the
commands are the unit's own (parsed by the firmware's control module)."""

from __future__ import annotations

import numpy as np
import pytest
from beltline.firmware import control

from beltline.exercise_records import RepRow
from beltline.pipeline import exercise_run
from beltline.pipeline.exercise_live import BUZZ_PULSES, LiveReps, buzz_command
from beltline.sim import exercises as simex


@pytest.mark.parametrize("exercise", ["clamshell", "standing_abduction"])
def test_live_reps_are_the_set_s_reps_announced_once_and_flagged_ones_buzz(
        exercise: str) -> None:
    plan = simex.random_plan(exercise, np.random.default_rng(11), reps=7, compensated=0.5)
    rec = simex.simulate_set(plan, 100.0, seed=11)
    s = rec.samples
    whole = exercise_run.exercise_set(s.t, s.acc, s.gyr, exercise, try_walk=False).rows
    live = LiveReps(exercise)
    sent: dict[str, list[bytes]] = {"training": [], "tracking": []}
    announced = []
    step = 50  # half a second of samples per push, as the link delivers them
    for i in range(0, len(s.t), step):
        for r in live.push(s.t[i: i + step], s.acc[i: i + step], s.gyr[i: i + step]):
            announced.append(r)
            # settled: announced before the set was over, not at its end
            assert r.end_s <= float(s.t[min(len(s.t), i + step) - 1]) - 1.9
            for mode in sent:
                c = buzz_command(r, mode)
                if c is not None:
                    sent[mode].append(c)
    for r in live.finish():
        announced.append(r)
        for mode in sent:
            c = buzz_command(r, mode)
            if c is not None:
                sent[mode].append(c)
    assert [r.rep for r in announced] == list(range(1, len(whole) + 1))
    assert [r.flag for r in announced] == [r.flag for r in whole]
    assert sent["tracking"] == []
    n_comp = sum(r.flag == "compensated" for r in whole)
    assert n_comp >= 1
    assert len(sent["training"]) == n_comp  # one buzz per flagged rep, none for the others
    for c in sent["training"]:
        assert control.parse(c) == (control.BUZZ, (BUZZ_PULSES,))


def test_what_is_announced_does_not_depend_on_how_the_samples_were_cut() -> None:
    plan = simex.random_plan("side_lying_leg_lift", np.random.default_rng(4), reps=6,
                             compensated=0.5)
    s = simex.simulate_set(plan, 100.0, seed=4).samples

    def announced(step: int) -> list[tuple[int, float, str]]:
        live = LiveReps("side_lying_leg_lift")
        out = []
        for i in range(0, len(s.t), step):
            out += [(r.rep, r.end_s, r.flag)
                    for r in live.push(s.t[i: i + step], s.acc[i: i + step], s.gyr[i: i + step])]
        return out

    small = announced(10)  # packets
    assert len(small) >= 5
    assert announced(137) == small  # a loaded machine's bigger, uneven batches
    assert announced(500) == small


def test_a_bridge_is_first_announced_once_three_reps_have_settled() -> None:
    plan = simex.random_plan("glute_bridge", np.random.default_rng(5), reps=6, compensated=0.3)
    s = simex.simulate_set(plan, 104.0, seed=5).samples
    live = LiveReps("glute_bridge")
    first: list[RepRow] = []
    for i in range(0, len(s.t), 26):
        got = live.push(s.t[i: i + 26], s.acc[i: i + 26], s.gyr[i: i + 26])
        if got and not first:
            first = list(got)
    assert len(first) >= 3  # reps 1-3 together, judged with the third rep's axis
    assert [r.rep for r in first[:3]] == [1, 2, 3]
