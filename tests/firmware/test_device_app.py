"""The belt unit's application on simulated hardware, under the real MicroPython."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from beltline.sim import devicesim
from conftest import run_script


def test_modules_on_micropython(micropython: str) -> None:
    out = run_script([micropython, "-X", "heapsize=4M"], "run_units.py")
    v = dict(re.findall(r"^(\w+)=(.*)$", out, flags=re.M))
    assert v["logbook_next_no"] == "11"  # numbering found again after a "reboot"
    assert v["logbook_replayed"] == "9"
    assert v["logbook_corrupt"] == "1"
    assert v["logbook_missing_tick"] == "True"
    assert v["logbook_ring_records"] == "16"
    assert v["missing_imu"] == "True"
    assert v["wrong_imu"] == "True"
    assert v["lsm_samples_1s"] == "64"  # one drain takes at most MAX_BATCH samples
    assert float(v["lsm_az"]) == pytest.approx(9.81, abs=0.01)
    assert float(v["lsm_gz"]) == pytest.approx(0.1, abs=0.002)
    assert int(v["lsm_overrun"]) >= 1
    assert v["mpu_samples_half_s"] == "50"
    assert float(v["mpu_ax"]) == pytest.approx(0.5, abs=0.01)
    assert float(v["mpu_gx"]) == pytest.approx(0.2, abs=0.002)
    assert v["settings_mode"] == "1"
    assert v["settings_tmp_left"] == "False"
    assert v["control_replay"] == "True"
    assert v["control_garbage"] == "True"


def test_device_simulate_runs_the_unit_with_the_other_imu(micropython: str) -> None:
    # the virtual unit with the MPU-6050 driver, a host that sends its commands (one of them
    # malformed) and a 10-s stretch out of range
    r = devicesim.simulate(40.0, imu="mpu6050", disconnect_at=15.0, disconnect_for=10.0,
                           commands=True, speed=15.0)
    assert r["imu"] == "mpu6050"
    assert r["samples"] == 40 * 100
    assert r["samples_lost"] == 0
    assert r["duplicates"] == 0
    assert r["reconnects"] == 1
    assert r["replayed"] > 0
    assert r["command_errors"] == 1  # the malformed one, counted and ignored
    assert r["commands"] >= 5  # mount, mode, thresholds, and the host's time syncs
    assert (r["mode"], r["drop_deg"], r["tilt_deg"], r["dwell_s"]) == (1, 7.0, 6.0, 10.0)
    assert (r["auto"], r["stop_s"]) == (1, 240.0)  # AUTO_RECORD (0x0C) applied
    status = r["status"]  # what the host last read from the status characteristic
    assert status is not None
    assert status[0] == 1
    assert status[4] == 1


def test_a_flagged_rep_s_buzz_drives_the_motor_in_training_mode_only(
        micropython: str, tmp_path: Path) -> None:
    """BUZZ (0x0D) under the real MicroPython: the motor's duty observed poll by poll."""
    out = run_script([micropython, "-X", "heapsize=4M"], "run_buzz.py", str(tmp_path))
    v = dict(re.findall(r"^(\w+)=(.*)$", out, flags=re.M))
    assert v["tracking_on_runs"] == "0"  # tracking mode is silent
    assert v["training_on_runs"] == "2"  # two pulses, each on then off
    assert v["training_max_duty"] == "45000"
    assert v["three_on_runs"] == "3"
    for bad in ("zero", "too_many", "cut"):
        assert v[f"{bad}_refused"] == "1", bad  # range-checked, counted, nothing buzzes
        assert v[f"{bad}_on_runs"] == "0", bad
    assert v["haptics_off_on_runs"] == "0"
    for case in ("tracking", "training", "three", "zero", "haptics_off"):
        assert v[f"{case}_off_at_end"] == "True"
        # the sampler never waits for the motor: every poll drained its 4 samples
        assert int(v[f"{case}_samples"]) >= 4 * 100, case
    assert v["buzzes"] == "2"
