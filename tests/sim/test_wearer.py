"""The virtual wearer's physics and conventions."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from beltline.sim import scenarios
from beltline.sim.wearer import (
    MOUNTS,
    Segment,
    SensorModel,
    mount_matrix,
    quat_to_matrix,
    simulate,
)

# no noise, bias, scale or clock error; 16-bit quantisation stays
PERFECT = SensorModel(acc_noise_ms2=0, gyro_noise_rads=0, acc_bias_ms2=0, gyro_bias_rads=0,
                      scale_error=0, clock_ppm=0, jitter_s=0)
WALK = [Segment("stand", 10.0), Segment("walk", 60.0, turn_deg=180.0), Segment("stand", 5.0)]


@pytest.mark.parametrize("mount", sorted(MOUNTS))
def test_quiet_standing_reads_gravity_along_the_sensor_up(mount: str) -> None:
    rec = simulate([Segment("stand", 20.0)], seed=1, mount=mount, misalign_deg=(0, 0, 0),
                   sensor=PERFECT)
    norm = np.linalg.norm(rec.acc, axis=1)
    assert abs(norm.mean() - 9.81) < 0.01
    # devices are upright on the belt: sensor x points up in every mount but upside-down
    up_axis = rec.acc.mean(axis=0) / 9.81
    expected = -1.0 if mount == "back-upside-down" else 1.0
    assert up_axis[0] == pytest.approx(expected, abs=0.02)
    np.testing.assert_allclose(rec.up_sensor.mean(axis=0), up_axis, atol=0.02)


def test_gyro_integrates_to_the_true_orientation() -> None:
    m = mount_matrix(MOUNTS["left"], (0, 0, 0))
    rec_m = simulate(WALK, rate_hz=100.0, seed=2, mount="left", sensor=PERFECT,
                     misalign_deg=(0, 0, 0))
    r_true = quat_to_matrix(rec_m.quat) @ m  # sensor -> world
    r = r_true[0].copy()
    worst = 0.0
    for i in range(1, len(rec_m.t)):
        dt = rec_m.t[i] - rec_m.t[i - 1]
        w = 0.5 * (rec_m.gyr[i - 1] + rec_m.gyr[i]) * dt
        a = np.linalg.norm(w)
        k = np.array([[0, -w[2], w[1]], [w[2], 0, -w[0]], [-w[1], w[0], 0]])
        if a > 0:
            r = r @ (np.eye(3) + np.sin(a) / a * k + (1 - np.cos(a)) / a**2 * k @ k)
        c = (np.trace(r.T @ r_true[i]) - 1) / 2
        worst = max(worst, float(np.degrees(np.arccos(np.clip(c, -1, 1)))))
    assert worst < 0.5  # 75 s of dead reckoning with walking and a 180 deg turn


def test_vqf_recovers_the_true_inclination() -> None:
    from vqf import VQF

    segs = scenarios.build("daily_mix", 3, seed=5)
    rec = simulate(segs, rate_hz=100.0, seed=5, mount="right")
    q = VQF(0.01).updateBatch(np.ascontiguousarray(rec.gyr), np.ascontiguousarray(rec.acc))
    w, x, y, z = q["quat6D"].T
    up = np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], 1)
    err = np.degrees(np.arccos(np.clip(np.sum(up * rec.up_sensor, 1), -1, 1)))[1000:]
    assert np.sqrt(np.mean(err**2)) < 1.0


def test_hip_drop_sign_follows_the_stance_leg() -> None:
    base = [Segment("stand", 5.0)]
    left = simulate([*base, Segment("walk", 60.0, hip_drop_deg=6.0, hip_drop_side="left")],
                    seed=3, sensor=PERFECT)
    right = simulate([*base, Segment("walk", 60.0, hip_drop_deg=6.0, hip_drop_side="right")],
                     seed=3, sensor=PERFECT)
    normal = simulate([*base, Segment("walk", 60.0)], seed=3, sensor=PERFECT)
    ls = normal.stance == "left"
    rs = normal.stance == "right"
    # hip drop in left stance: the right side sinks, obliquity (+ = right lower) goes up
    assert left.obliquity_deg[ls].max() > normal.obliquity_deg[ls].max() + 4.0
    assert right.obliquity_deg[rs].min() < normal.obliquity_deg[rs].min() - 4.0
    assert left.labels == [("hip_drop", "left", 5.0, 65.0)]
    # healthy range of motion per stride, 7-9 deg (Smith et al. 2002)
    walk = normal.activity == "walking"
    rom = np.percentile(normal.obliquity_deg[walk], 99) - np.percentile(
        normal.obliquity_deg[walk], 1)
    assert 6.0 < rom < 10.0


def schedule_alternate_at_the_cadence() -> None:
    rec = simulate(WALK, seed=4)
    sides = [s for _, s in rec.steps]
    assert all(a != b for a, b in itertools.pairwise(sides))
    times = np.array([t for t, _ in rec.steps])
    cadence = 60.0 / np.median(np.diff(times))
    assert cadence == pytest.approx(108.0, rel=0.05)


def test_same_seed_same_recording() -> None:
    a = simulate(WALK, seed=7)
    b = simulate(WALK, seed=7)
    c = simulate(WALK, seed=8)
    np.testing.assert_array_equal(a.acc, b.acc)
    assert not np.array_equal(a.acc, c.acc)


def test_simulate_command_writes_the_four_files(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    proc = subprocess.run(
        [sys.executable, "-m", "beltline.cli", "simulate", "--scenario", "anterior_tilt",
         "--minutes", "2", "--seed", "1", "--mount", "front", "--rate", "50", "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    heads = {f: (out / f).read_text().splitlines()[0] for f in
             ("raw.csv", "truth.csv", "steps.csv", "labels.csv")}
    assert heads == {"raw.csv": "t_s,ax,ay,az,gx,gy,gz",
                     "truth.csv": "t_s,obliquity_deg,tilt_deg,activity,stance",
                     "steps.csv": "t_s,side", "labels.csv": "kind,side,start_s,end_s"}
    raw = np.loadtxt(out / "raw.csv", delimiter=",", skiprows=1)
    assert np.median(np.diff(raw[:, 0])) == pytest.approx(0.02, rel=0.01)
    assert "anterior_tilt" in (out / "labels.csv").read_text()
    listing = subprocess.run([sys.executable, "-m", "beltline.cli", "simulate", "--list"],
                             capture_output=True, text=True, check=True).stdout
    assert len(listing.splitlines()) == len(scenarios.SCENARIOS)


def test_new_patterns_are_labelled_and_physical() -> None:
    from beltline.sim.wearer import Wearer

    base = [Segment("stand", 5.0)]
    hike = simulate([*base, Segment("walk", 40.0, hip_hike_deg=4.0, hip_hike_side="left")],
                    seed=3, sensor=PERFECT)
    both = simulate([*base, Segment("walk", 40.0, hip_drop_deg=6.0, hip_drop_side="both")],
                    seed=3, sensor=PERFECT)
    assert hike.labels == [("hip_hike", "left", 5.0, 45.0)]
    assert {(k, s) for k, s, _, _ in both.labels} == {("hip_drop", "left"),
                                                      ("hip_drop", "right")}
    ls = hike.stance == "left"
    assert hike.obliquity_deg[ls].min() < -3.0  # in left stance the right side is raised
    lying = simulate([Segment("lie", 20.0)], seed=1, sensor=PERFECT)
    assert np.mean(lying.tilt_deg[500:]) == pytest.approx(-85.0, abs=1.0)
    # the loose clip: a damped 6-12 Hz rotation after each strike shows in the gyroscope
    calm = simulate(WALK, seed=4, sensor=PERFECT)
    loose = simulate(WALK, seed=4, sensor=PERFECT, wearer=Wearer(wobble_deg=0.8))

    def band(x: np.ndarray) -> float:
        spec = np.abs(np.fft.rfft(x - x.mean())) ** 2
        f = np.fft.rfftfreq(len(x), 0.01)
        return float(spec[(f > 6) & (f < 12)].sum())

    assert band(loose.gyr[:, 0]) > 3 * band(calm.gyr[:, 0])
    # the truth angles are the pelvis's: the clip's wobble is not a change of obliquity
    np.testing.assert_allclose(loose.obliquity_deg, calm.obliquity_deg, atol=1e-6)


def test_scenarios_start_as_real_life_does() -> None:
    seated = scenarios.build("seated_start", 2.0, seed=1)
    assert seated[0].activity == "sit"  # no calibration protocol first
    assert scenarios.build("healthy_walk", 1.0, 1)[:2] == scenarios.CALIBRATION
    assert scenarios.wearer_for("slow_gait").cadence_spm == 75.0
    day = scenarios.build("normal_day", 45.0, seed=2)
    assert 44 * 60 < sum(s.seconds for s in day) < 60 * 60
    assert not any(s.hip_drop_deg or s.tilt_deg or s.obliquity_deg for s in day)
