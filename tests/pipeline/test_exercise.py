"""The single-leg stance test and the exercise sets, measured against the virtual wearer, and
the pieces they are made of (frames without a walk, the rep finder, the measures, limits)."""

from __future__ import annotations

import numpy as np
import pytest

from beltline.errors import DataError
from beltline.pipeline import bodyframe, exercise_run, exercise_settings, repmeasure, reps
from beltline.pipeline.exercise_settings import EXERCISES, ExerciseSettings
from beltline.sim import exercises as simex
from beltline.sim import trendelenburg as simtest
from beltline.sim.rigid import axis_quat, qmul
from beltline.sim.wearer import quat_to_matrix

CFG = ExerciseSettings()


def _test(plan: simtest.TestPlan, seed: int, mount: str = "back", rate: float = 100.0,
          misalign: tuple[float, float, float] = (4.0, -6.0, 8.0)):
    rec = simtest.simulate_test(plan, rate, seed=seed, mount=mount, misalign_deg=misalign)
    s = rec.samples
    return rec, exercise_run.trendelenburg_test(s.t, s.acc, s.gyr, CFG, try_walk=False)


def _plan(left: float, right: float, first: str = "left", **kw: object) -> simtest.TestPlan:
    legs = {"left": simtest.LegPlan(left, 30.0), "right": simtest.LegPlan(right, 30.0)}
    order = (first, "right" if first == "left" else "left")
    return simtest.TestPlan(legs, order, **kw)  # type: ignore[arg-type]


def test_a_drop_in_left_stance_is_the_right_side_falling_and_names_the_left_leg() -> None:
    rec, res = _test(_plan(7.0, 0.5), seed=3)
    left, right = res.legs["left"], res.legs["right"]
    # the truth's own sign check: standing on the left leg the right side is lower (roll +)
    stance_left = rec.stance == "left"
    assert np.median(rec.obliquity_deg[stance_left]) > 5.0
    assert left.verdict == "positive"
    assert right.verdict == "negative"
    assert left.drop_deg == pytest.approx(rec.truth.legs["left"].drop_deg, abs=1.0)
    assert right.drop_deg == pytest.approx(rec.truth.legs["right"].drop_deg, abs=1.0)
    assert left.hold_s == pytest.approx(rec.truth.legs["left"].hold_s, abs=1.0)
    assert "standing on the left leg your right side dropped" in left.words
    assert left.words.endswith("a positive test")
    assert left.time_to_drop_s < 3.0


@pytest.mark.parametrize(("mount", "rate"), [("back", 50.0), ("back-upside-down", 200.0)])
def test_the_documented_mounting_names_the_legs_either_way_up(mount: str, rate: float) -> None:
    rec, res = _test(_plan(1.0, 8.0, first="right"), seed=11, mount=mount, rate=rate)
    assert res.legs["right"].verdict == "positive"
    assert res.legs["left"].verdict == "negative"
    for leg in ("left", "right"):
        assert res.legs[leg].drop_deg == pytest.approx(rec.truth.legs[leg].drop_deg, abs=1.0)
    assert res.frame == "mounting"


@pytest.mark.parametrize("mount", ["left", "front"])
def test_other_mountings_measure_the_drops_though_the_names_may_swap(mount: str) -> None:
    rec, res = _test(_plan(8.0, 0.0), seed=5, mount=mount)
    got = sorted(res.legs[k].drop_deg for k in ("left", "right"))
    want = sorted(rec.truth.legs[k].drop_deg for k in ("left", "right"))
    np.testing.assert_allclose(got, want, atol=1.0)
    assert sorted(res.legs[k].verdict for k in ("left", "right")) == ["negative", "positive"]


def test_a_delayed_drop_a_short_hold_and_a_touch_down() -> None:
    legs = {"left": simtest.LegPlan(6.5, 30.0, onset_s=10.0, ramp_s=1.5),
            "right": simtest.LegPlan(0.5, 12.0)}
    rec, res = _test(simtest.TestPlan(legs, ("right", "left")), seed=7)
    assert res.legs["left"].verdict == "positive"
    assert res.legs["left"].time_to_drop_s == pytest.approx(
        rec.truth.legs["left"].time_to_drop_s, abs=1.5)
    assert res.legs["right"].verdict == "incomplete"
    assert res.legs["right"].hold_s == pytest.approx(12.0, abs=1.0)
    touch = {"left": simtest.LegPlan(1.0, 30.0, touches_s=(9.0,)),
             "right": simtest.LegPlan(1.0, 30.0)}
    rec, res = _test(simtest.TestPlan(touch, ("left", "right")), seed=8)
    assert res.legs["left"].touchdowns == 1
    assert res.legs["left"].hold_s == pytest.approx(9.0, abs=1.0)
    assert res.legs["left"].verdict == "incomplete"  # the foot came down after 9 s


def _bell(n: int, start_s: float, move_m: float, over_s: float) -> np.ndarray:
    """The sideways speed (m/s) of a minimum-jerk move of ``move_m`` over ``over_s``."""
    from beltline.pipeline.signals import RATE_HZ

    v = np.zeros(n)
    k = np.arange(int(over_s * RATE_HZ)) / (over_s * RATE_HZ)
    i = int(start_s * RATE_HZ)
    v[i: i + len(k)] = move_m / over_s * 30 * k ** 2 * (1 - k) ** 2
    return v


@pytest.mark.parametrize(("move_m", "over_s", "back", "touch"), [
    (0.04, 0.3, 0.5, True),  # quick, half undone at once: a touch-down (the weight partly back)
    (0.025, 0.8, 1.0, False),  # at 0.6 of the shift's speed, wholly undone: sway
])
def test_a_touch_down_is_a_quick_catch_and_sway_is_not(move_m: float, over_s: float,
                                                        back: float, touch: bool) -> None:
    from beltline.pipeline import trendelenburg

    n = 7000  # quiet, the shift onto one leg (6 cm in 1.2 s), 25 s on it, back; the other
    v = _bell(n, 5.0, 0.06, 1.2) + _bell(n, 15.0, -move_m, over_s) + \
        _bell(n, 15.0 + over_s, move_m * back, over_s) + _bell(n, 32.0, -0.06, 1.2) + \
        _bell(n, 36.0, -0.06, 1.2) + _bell(n, 63.0, 0.06, 1.2)
    v += np.random.default_rng(3).normal(0.0, 0.003, n)
    st, other = trendelenburg.stances_from_shifts(v, (0, 400))
    assert other.touches == 0
    assert other.side == -st.side
    assert st.touches == int(touch)
    assert st.first_down / 100.0 == pytest.approx(15.0 if touch else 32.0, abs=0.2)


def test_a_recording_without_quiet_standing_is_refused() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(3000) / 100.0
    acc = np.tile([9.81, 0.0, 0.0], (3000, 1)) + rng.normal(0, 1.5, (3000, 3))
    gyr = rng.normal(0, 0.5, (3000, 3))
    with pytest.raises(DataError, match="no quiet standing"):
        exercise_run.trendelenburg_test(t, acc, gyr, CFG, try_walk=False)


@pytest.mark.parametrize(("exercise", "seed", "mount", "rate"), [
    ("standing_abduction", 1003, "back", 100.0),
    ("side_lying_leg_lift", 1001, "left", 200.0),
    ("clamshell", 1002, "back-upside-down", 50.0),
    ("glute_bridge", 1004, "front", 100.0),
    ("hip_airplane", 1005, "right", 100.0),
])
def test_each_exercise_counts_its_reps_and_flags_the_compensated_ones(
        exercise: str, seed: int, mount: str, rate: float) -> None:
    rng = np.random.default_rng(seed)
    plan = simex.random_plan(exercise, rng, CFG, reps=8, compensated=0.4)
    rec = simex.simulate_set(plan, rate, seed=seed, mount=mount, misalign_deg=(5.0, -5.0, 7.0))
    s = rec.samples
    res = exercise_run.exercise_set(s.t, s.acc, s.gyr, exercise, CFG, try_walk=False)
    assert len(res.rows) == len(rec.truth) == 8
    assert [r.flag for r in res.rows] == [r.flag for r in rec.truth]
    for got, want in zip(res.rows, rec.truth, strict=True):
        assert abs(got.start_s - want.start_s) < 2.0
        assert abs(got.end_s - want.end_s) < 2.0
        if want.flag == "compensated":
            assert set(got.reasons) == set(want.reasons)
    if mount in ("back", "back-upside-down") or exercise == "glute_bridge":
        assert {r.side for r in res.rows} == {rec.plan.side}
    assert res.summary.reps == 8
    assert str(res.summary.compensated) in res.summary.words


def test_the_bridge_without_lying_down_is_a_clear_error() -> None:
    rng = np.random.default_rng(3)
    plan = simex.random_plan("standing_abduction", rng, CFG, reps=4)
    s = simex.simulate_set(plan, 100.0, seed=3).samples
    with pytest.raises(DataError, match="no back position found for glute_bridge"):
        exercise_run.exercise_set(s.t, s.acc, s.gyr, "glute_bridge", CFG, try_walk=False)


def _path(pieces: list[tuple[np.ndarray, float, float]], rate: float = 25.0) -> np.ndarray:
    """A path of reps: (direction, amplitude deg, seconds) each, a smooth bump, rests between."""
    out = [np.zeros((int(rate), 3))]
    for d, amp, sec in pieces:
        u = np.linspace(0, 1, int(sec * rate))
        bump = np.sin(np.pi * u) ** 2
        out.append(np.outer(bump, np.asarray(d, float) * amp))
        out.append(np.zeros((int(0.8 * rate), 3)))
    return np.vstack(out)


def test_the_rep_finder_sees_small_reps_after_large_ones_in_other_directions() -> None:
    x, y, z = np.eye(3)
    c = _path([(x, 1.5, 2.0), (z, 9.0, 2.0), (x, 1.2, 2.0), (-x, 8.0, 2.5), (x, 1.5, 1.5),
               (y, 12.0, 3.0), (x, 1.0, 2.0)])
    c += np.random.default_rng(0).normal(0, 0.03, c.shape)
    found = reps.find_reps(c, 25.0, 0.4)
    assert len(found) == 7
    # a held top with a wiggle is one rep; a slow drift is none
    held = np.vstack([np.zeros((25, 3)), np.outer(np.r_[np.linspace(0, 1, 25), np.ones(50),
                                                        np.linspace(1, 0, 25)], 4 * x)])
    held[40:60, 0] += 0.8 * np.sin(np.linspace(0, 2 * np.pi, 20))
    assert len(reps.find_reps(held, 25.0, 0.5)) == 1
    drift = np.outer(np.linspace(0, 3, 400), y)
    assert reps.find_reps(drift, 25.0, 0.5) == []


def test_the_measures_follow_the_conventions() -> None:
    ramp = np.r_[np.zeros(30), np.linspace(0, 1, 50), np.linspace(1, 0, 50)]
    n = len(ramp)
    # standing: + obliquity = right side lower, + tilt anterior, rotation about the vertical
    q = qmul(qmul(axis_quat(np.radians(20 * ramp), 2), axis_quat(np.radians(3 * ramp), 1)),
             axis_quat(np.radians(-5 * ramp), 0))
    ch = repmeasure.channels(quat_to_matrix(q), repmeasure.STANDING)
    o, t, r = repmeasure.rep_changes(ch, 100.0)
    assert (o, t, r) == pytest.approx((-5.0, 3.0, 20.0), abs=0.05)
    # lying on the back: the same rep is measured in the pelvis's own frame
    supine = axis_quat(np.radians(-90.0), 1)
    loc = qmul(axis_quat(np.radians(6 * ramp), 2), axis_quat(np.radians(-25 * ramp), 1))
    q = qmul(np.tile(supine, (n, 1)), loc)
    o, t, r = repmeasure.rep_changes(repmeasure.channels(quat_to_matrix(q), repmeasure.LYING),
                                     100.0)
    assert (o, t, r) == pytest.approx((0.0, -25.0, 6.0), abs=0.05)


def test_limits_are_judged_per_exercise() -> None:
    lim = CFG.limits("standing_abduction")
    assert reps.judge("standing_abduction", 6.0, 0.0, 0.0, lim) == ["hike"]
    assert reps.judge("standing_abduction", -6.0, 7.0, 9.0, lim) == ["drop", "tilt", "rotation"]
    # the airplane's working side is the stance side: its rise is the swing side's drop
    assert reps.judge("hip_airplane", 7.0, 0.0, 30.0, CFG.limits("hip_airplane")) == ["drop"]
    # the bridge's tilt is its motion, never a fault
    assert reps.judge("glute_bridge", 0.0, -25.0, 1.0, CFG.limits("glute_bridge")) == []
    assert set(CFG.limits("clamshell")) == {"hike", "tilt", "rotation"}
    assert set(EXERCISES) == set(exercise_settings.JUDGED)


def test_settings_load_from_toml_tables_and_overrides(tmp_path) -> None:
    f = tmp_path / "me.toml"
    f.write_text("test_drop_deg = 4.0\n[clamshell]\nrotation_deg = 8\n[hip_airplane]\n"
                 "tilt_deg = 12\n")
    s = exercise_settings.load(f, ["side_lying_leg_lift.hike_deg=7"])
    assert (s.test_drop_deg, s.clamshell_rotation_deg, s.airplane_tilt_deg,
            s.side_lying_leg_lift_hike_deg) == (4.0, 8.0, 12.0, 7.0)
    with pytest.raises(DataError, match="unknown exercise setting 'clamshel_rotation_deg'"):
        exercise_settings.load(None, ["clamshel_rotation_deg=3"])
    with pytest.raises(DataError, match=r"test_drop_deg=0\.1 is outside its allowed range"):
        exercise_settings.load(None, ["test_drop_deg=0.1"])
    with pytest.raises(DataError, match="needs a number"):
        exercise_settings.load(None, ["test_hold_s=long"])


def test_the_neutral_ends_before_a_turn_the_accelerometer_cannot_see() -> None:
    n = 1200
    acc = np.tile([9.81, 0.0, 0.0], (n, 1))
    gyr = np.zeros((n, 3))
    gyr[600:700, 0] = np.radians(30.0)  # a 30 deg turn about the vertical (sensor x) at 6 s
    i0, i1 = bodyframe.neutral_span(acc, gyr)
    assert i0 == 0
    assert 500 <= i1 <= 600


def test_a_set_that_starts_still_settling_and_sway_against_the_reps_are_no_reps() -> None:
    """A weight shift onto the stance leg still settling when the set starts (the path comes
    up from -1.2° to rest, wobbling 0.9° past it the way the reps go) is no rep: measured by
    its way back, it is sway.
    An excursion within the limits against the direction the set's ok reps move is sway."""
    from beltline.pipeline.repfinder import drop_sway

    x = np.eye(3)[0]
    reps_only = _path([(x, 2.5, 2.0), (x, 2.7, 2.0), (x, 2.3, 2.5), (x, 2.5, 2.0)])
    settle = np.outer(np.r_[np.linspace(-1.2, 0.9, 20), np.linspace(0.9, 0.0, 15)], x)
    c = np.vstack([settle, reps_only])
    c += np.random.default_rng(1).normal(0, 0.02, c.shape)
    found = reps.find_reps(c, 25.0, 0.6)
    assert len(drop_sway(found, c, 4.5)) == 4
    # a wobble of the pelvis the other way between reps (within the limits) is not a rep; a
    # compensated rep the other way (a drop beyond the limit) still is
    c2 = _path([(x, 2.0, 2.0), (-x, 1.2, 1.5), (x, 2.2, 2.0), (x, 1.9, 2.0), (-x, 7.0, 2.0),
                (x, 2.0, 2.0)])
    c2 += np.random.default_rng(2).normal(0, 0.02, c2.shape)
    kept = drop_sway(reps.find_reps(c2, 25.0, 0.6), c2, 4.5)
    assert len(kept) == 5
    assert sum(float(np.linalg.norm(c2[t] - c2[s])) > 4.5 for s, t, _ in kept) == 1


def test_a_wobble_across_the_reps_way_is_no_rep_and_one_along_it_is() -> None:
    """Recounting with the motion across the ok reps' way shrunk: a 0.8° excursion across
    it (sway on one leg) no longer passes the 0.6° hysteresis, a 0.8° rep along it still
    does; a compensated rep in another direction still counts."""
    from beltline.pipeline.repfinder import drop_sway, recount_along, rep_axis

    x, y, z = np.eye(3)
    c = _path([(x, 1.6, 2.0), (x, 1.8, 2.0), (y, 0.8, 1.5), (x, 1.5, 2.0), (z, 8.0, 2.0),
               (x, 0.8, 2.0), (x, 1.7, 2.0)])
    c += np.random.default_rng(4).normal(0, 0.02, c.shape)
    found = drop_sway(reps.find_reps(c, 25.0, 0.6), c, 4.5)
    assert len(found) == 7  # the wobble across counts at first ...
    u = rep_axis(found, c, 4.5)
    assert u is not None
    assert float(u @ x) > 0.95
    again = recount_along(found, c, 25.0, 0.6, 4.5)
    assert len(again) == 6  # ... and not once the sway across is shrunk
    assert any(0.6 < float(c[t] @ x) < 1.0 for _, t, _ in again)  # the shallow rep
    assert not any(abs(float((c[t] - c[s]) @ y)) > 0.5 for s, t, _ in again)


def test_the_rebound_after_a_compensated_rep_is_no_rep() -> None:
    """Coming back from a large compensated rep the pelvis overshoots its rest: a small
    excursion straight against that rep (and not along the set's ok reps) is its rebound,
    not a rep. An ok rep right after a compensated one still counts."""
    from beltline.pipeline.repfinder import drop_sway

    x, y, _ = np.eye(3)
    c = _path([(x, 2.0, 2.0), (x, 2.2, 2.0), (y, 8.0, 2.0), (-y, 1.0, 1.5), (x, 1.9, 2.0),
               (y, 9.0, 2.0), (x, 2.1, 2.0), (x, 2.0, 2.0)])
    c += np.random.default_rng(3).normal(0, 0.02, c.shape)
    found = reps.find_reps(c, 25.0, 0.6)
    assert len(found) == 8  # the finder sees the rebound ...
    kept = drop_sway(found, c, 4.5)
    assert len(kept) == 7  # ... which is dropped, and only it
    assert found[3] not in kept


def test_a_recording_that_ends_during_a_stance_judges_that_leg_so_far() -> None:
    # a random wearer cut halfway (25 s into the first stance): the stance runs to the last
    # sample, which once indexed past the end
    rec = simtest.simulate_test(simtest.random_plan(np.random.default_rng(5)), 100.0, seed=5)
    s = rec.samples
    n = len(s.t) // 2
    first = rec.plan.order[0]
    assert float(rec.truth.legs[first].start_s) < float(s.t[n - 1]) < float(
        rec.truth.legs[first].end_s)
    res = exercise_run.trendelenburg_test(s.t[:n], s.acc[:n], s.gyr[:n], CFG, try_walk=False)
    leg = res.legs[first]
    held = float(s.t[n - 1]) - float(rec.truth.legs[first].start_s)
    assert leg.hold_s == pytest.approx(held, abs=1.0)  # from its shift to the last sample
    # judged on the hold so far: 25.7 s level is negative within the 5-s tolerance
    assert leg.verdict == ("negative" if held >= CFG.test_hold_s - CFG.test_hold_tolerance_s
                           else "incomplete")
    assert leg.end_s <= float(s.t[n - 1])
    other = "left" if first == "right" else "right"
    assert res.legs[other].verdict == "incomplete"  # not reached: no stance made up
    assert any("ends during this stance" in note for note in res.notes)
