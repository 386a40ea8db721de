"""The belt unit's application on simulated hardware, under the real MicroPython."""

from __future__ import annotations

import re

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


def test_ten_minutes_without_a_lost_sample_and_flat_memory(micropython: str) -> None:
    r = devicesim.simulate(600.0)
    assert r["samples"] >= 600 * 104 - 10
    assert r["samples_lost"] == 0
    assert r["samples_received"] >= r["samples"] - 14  # the last batch was still filling
    assert r["notify_errors"] == 0
    assert r["imu_overruns"] == 0
    assert r["mem_free_last"] >= r["mem_free_after_2min"] - 2048
    assert 0 < r["loop_us_p50"] <= r["loop_us_p99"]
    # heap per sample on the 64-bit unix port (32-B blocks): measured ~13.4 kB = ~420 blocks
    assert 0 < r["alloc_bytes_per_sample"] <= 15_000
    assert r["wdt_feeds"] == r["polls"]


def test_a_30_second_disconnect_is_bridged_by_the_logbook(micropython: str) -> None:
    r = devicesim.simulate(150.0, disconnect_at=40.0, disconnect_for=30.0)
    assert r["connects"] == 2
    assert r["logged"] > 200  # 30 s of packets went to flash
    assert r["replayed"] >= r["logged"]
    assert r["samples_lost"] == 0
    assert r["late_backfilled"] > 0
    assert r["rejected"] == 0  # nothing was cut by the stack while the MTU was re-agreed


def test_control_writes_take_effect_and_training_mode_buzzes(micropython: str) -> None:
    r = devicesim.simulate(240.0, commands=True, scenario="hip_drop_right")
    assert (r["commands"], r["command_errors"]) == (4, 1)
    assert r["time_sync"][0] == 123456
    status = r["status"]  # what a host reads from the status characteristic
    assert status[0] == 1  # protocol version
    assert status[4] == 1  # training mode
    assert status[10:] == r["time_sync"]
    assert r["mode"] == 1
    assert r["drop_deg"] == pytest.approx(7.0)
    assert r["motor_pulses"] > 0
    quiet = devicesim.simulate(240.0, commands=True, scenario="healthy_walk")
    assert quiet["motor_pulses"] == 0


def test_the_other_imu_family(micropython: str) -> None:
    r = devicesim.simulate(60.0, imu="mpu6050", disconnect_at=20.0, disconnect_for=10.0)
    assert r["imu"] == "mpu6050"
    assert r["samples"] >= 60 * 100 - 10
    assert r["samples_lost"] == 0
