"""The virtual wearer's tests and exercises: the same physics as the walking wearer, truth that
follows the documented rules, and compensations that are never a coin toss."""

from __future__ import annotations

import numpy as np
import pytest

from beltline.pipeline import repmeasure
from beltline.pipeline.exercise_settings import EXERCISES, ExerciseSettings
from beltline.sim import exercises as simex
from beltline.sim import scenarios
from beltline.sim import trendelenburg as simtest
from beltline.sim.poses import ON_RIGHT_SIDE, SUPINE, Timeline
from beltline.sim.rigid import imu_from_pose
from beltline.sim.wearer import (
    MOUNTS,
    OVERSAMPLE,
    Segment,
    SensorModel,
    Wearer,
    quat_to_matrix,
    simulate,
)

PERFECT = SensorModel(acc_noise_ms2=0, gyro_noise_rads=0, acc_bias_ms2=0, gyro_bias_rads=0,
                      scale_error=0, clock_ppm=0, jitter_s=0)
CFG = ExerciseSettings()


@pytest.mark.parametrize("mount", sorted(MOUNTS))
def test_standing_still_reads_as_the_walking_wearer_does(mount: str) -> None:
    still = Wearer(sway_deg=0.0)
    ref = simulate([Segment("stand", 12.0)], 100.0, seed=1, wearer=still, mount=mount,
                   misalign_deg=(2.0, -3.0, 5.0), sensor=PERFECT)
    tl = Timeline(12.0, 100.0)
    got = imu_from_pose(tl.position(), tl.quat(), 100.0, np.random.default_rng(1), mount,
                        (2.0, -3.0, 5.0), PERFECT)
    assert len(got.t) == len(ref.t)
    np.testing.assert_allclose(got.t, ref.t)
    np.testing.assert_allclose(got.acc, ref.acc, atol=1e-9)
    np.testing.assert_allclose(got.gyr, ref.gyr, atol=1e-9)


def test_the_gyro_integrates_to_the_pose_through_lying_down() -> None:
    tl = Timeline(20.0, 100.0, heading_deg=40.0)
    tl.posture(2.0, 7.0, SUPINE)
    tl.posture(12.0, 17.0, ON_RIGHT_SIDE)
    tl.up -= 0.8 * tl.ramp(2.0, 5.0)
    q = tl.quat()
    s = imu_from_pose(tl.position(), q, 100.0, np.random.default_rng(0), "left", (0, 0, 0),
                      PERFECT)
    r_true = quat_to_matrix(q[s.nearest]) @ s.M  # sensor -> world
    r = r_true[0].copy()
    worst = 0.0
    for i in range(1, len(s.t)):
        w = 0.5 * (s.gyr[i - 1] + s.gyr[i]) * (s.t[i] - s.t[i - 1])
        a = np.linalg.norm(w)
        k = np.array([[0, -w[2], w[1]], [w[2], 0, -w[0]], [-w[1], w[0], 0]])
        if a > 0:
            r = r @ (np.eye(3) + np.sin(a) / a * k + (1 - np.cos(a)) / a**2 * k @ k)
        c = (np.trace(r.T @ r_true[i]) - 1) / 2
        worst = max(worst, float(np.degrees(np.arccos(np.clip(c, -1, 1)))))
    assert worst < 0.5
    # lying still on the back, the accelerometer feels gravity along the pelvis's forward
    lying = (s.t > 8) & (s.t < 11)
    fwd_sensor = s.M[0]  # the pelvis's x in sensor coordinates
    g = s.acc[lying].mean(axis=0)
    assert g @ fwd_sensor / np.linalg.norm(g) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_truth_rows_follow_the_injected_compensations_with_a_margin(exercise: str) -> None:
    for seed in range(3):
        plan = simex.random_plan(exercise, np.random.default_rng(seed), CFG, compensated=0.5)
        rec = simex.simulate_set(plan, 100.0, seed=seed)
        limits = CFG.limits(exercise)
        assert [r.rep for r in rec.truth] == list(range(1, len(plan.reps) + 1))
        for row, rp in zip(rec.truth, plan.reps, strict=True):
            assert row.flag == ("compensated" if rp.comp else "ok")
            measured = {"hike": abs(row.obliquity_change_deg),
                        "drop": abs(row.obliquity_change_deg),
                        "tilt": abs(row.tilt_change_deg), "rotation": row.rotation_deg}
            for reason, lim in limits.items():
                if reason in row.reasons:
                    assert measured[reason] >= lim + 1.0, (exercise, row)
                elif not ({"hike", "drop"} & set(row.reasons) and reason in ("hike", "drop")):
                    assert measured[reason] <= lim - 1.0, (exercise, row, reason)
            assert row.side == plan.side
        assert rec.samples.t[0] < 0.01
        assert rec.summary.reps == len(plan.reps)


def test_the_bridge_is_a_posterior_tilt_lying_on_the_back() -> None:
    plan = simex.random_plan("glute_bridge", np.random.default_rng(4), CFG, reps=5)
    rec = simex.simulate_set(plan, 100.0, seed=4)
    assert all(r.tilt_change_deg < -8.0 for r in rec.truth)
    assert {r.side for r in rec.truth} == {"both"}


def test_the_test_truth_names_the_stance_leg_and_times_the_hold() -> None:
    legs = {"left": simtest.LegPlan(7.0, 30.0), "right": simtest.LegPlan(-1.0, 15.0)}
    rec = simtest.simulate_test(simtest.TestPlan(legs, ("right", "left")), 100.0, seed=2)
    left, right = rec.truth.legs["left"], rec.truth.legs["right"]
    assert left.verdict == "positive"
    assert left.drop_deg == pytest.approx(7.0, abs=0.6)
    assert right.verdict == "incomplete"
    assert right.hold_s == pytest.approx(15.0, abs=0.01)
    assert right.start_s < left.start_s  # right first
    on_left = rec.stance == "left"
    assert np.median(rec.obliquity_deg[on_left]) > 5  # right side lower standing on the left
    assert set(np.unique(rec.stance)) == {"", "left", "right"}


def test_random_wearers_vary_and_clear_ones_stay_clear() -> None:
    plans = [simtest.random_plan(np.random.default_rng(s), clear_of_deg=1.0) for s in range(30)]
    drops = [p.legs[k].drop_deg for p in plans for k in ("left", "right")]
    assert min(drops) < 1.0
    assert max(drops) > 8.0
    assert all(abs(d - 4.5) >= 1.0 for d in drops)
    assert {p.order for p in plans} == {("left", "right"), ("right", "left")}
    assert any(p.legs[k].touches_s for p in plans for k in ("left", "right"))


def test_the_scenarios_are_listed_and_still_give_wearer_segments() -> None:
    for name in ("trendelenburg_test", *[f"exercise_{ex}" for ex in EXERCISES]):
        assert name in scenarios.SCENARIOS
        segs = scenarios.build(name, 1.0, 0)  # a stand-in a walking wearer can do
        assert all(isinstance(s, Segment) for s in segs)


def test_the_internal_grid_matches_the_walking_wearer() -> None:
    tl = Timeline(10.0, 50.0)
    assert tl.n == int(np.ceil(10.0 * 50.0 * OVERSAMPLE)) + 8 * OVERSAMPLE
    assert repmeasure.STANDING in simex.MODE.values()
