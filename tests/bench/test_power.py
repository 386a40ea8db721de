"""The power model: built from what the firmware does, each figure sourced, JSON last."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from beltline.bench import power


def test_the_model_reads_the_firmware_it_models() -> None:
    fw = power.firmware_facts()
    assert fw.cpu_mhz == 160.0
    assert fw.i2c_hz == 400_000
    assert fw.poll_ms == 40.0
    assert fw.mtu == 247
    assert fw.packet_bytes == 8 + 14 * 16 + 2
    assert fw.per_packet == 14
    assert fw.stride == 1
    assert fw.adv_interval_ms == 100.0  # gatt.py
    # board.Motor plays 2 pulses of 200 ms at a 40-ms tick; 45000/65535 PWM
    assert fw.buzz_on_s == pytest.approx(0.4)
    assert fw.motor_duty == pytest.approx(0.687, abs=1e-3)
    # a dozing unit reads the LSM6DSO's 256-sample FIFO every second, advertises 1 s in 15
    assert fw.doze_poll_ms == 1000.0
    assert fw.doze_window == pytest.approx(1 / 15)


_MEASURED = {"yardstick_us": 7.0, "stream_y": 4.5, "drain_y": 0.4, "poll_y": 0.2,
             "madgwick_y": 2.0, "stream_us": 31.0, "stream_bytes_per_sample": 5144.0,
             "block_bytes": 32.0, "rate_hz": 104.0, "raw_y": 0.7, "raw_us": 4.9,
             "raw_bytes_per_sample": 192.0}


def test_components_add_up_and_light_sleep_is_what_saves() -> None:
    fw = power.firmware_facts()
    res = power.model(_MEASURED, fw, alerts_per_hour=6.0)
    for end in ("conservative", "optimistic"):
        for sc in res[end].values():
            assert sc["ma"] == pytest.approx(sum(c.ma for c in sc["components"]))
            assert sc["hours"] == pytest.approx(500 * 0.85 / sc["ma"])
        r = res[end]
        assert r["stream_sleep"]["ma"] < r["stream_ci_lo"]["ma"]
        # dozing (tracking mode) against awake for the alerts (training mode)
        assert r["offline"]["ma"] < 0.5 * r["offline_training"]["ma"]
        assert r["offline"]["awake"] < 0.5
        radio = {c.name: c.ma for c in r["offline"]["components"]}["radio"]
        radio_awake = {c.name: c.ma for c in r["offline_training"]["components"]}["radio"]
        assert radio == pytest.approx(radio_awake / 15, rel=1e-6)  # advertising 1 s in 15
        # on a table the motion-triggered recording writes nothing: the flash share goes
        names = {c.name for c in r["on_table"]["components"]}
        assert "flash (logbook)" not in names
        assert r["on_table"]["ma"] < r["offline"]["ma"]
    # a shorter connection interval means more radio events: never a longer life
    assert res["conservative"]["stream_ci_lo"]["hours"] <= \
        res["conservative"]["stream_ci_hi"]["hours"]
    # the conservative CPU scaling is the slower one
    assert res["conservative"]["stream_ci_lo"]["cpu_busy"] > \
        res["optimistic"]["stream_ci_lo"]["cpu_busy"]


def test_every_figure_has_a_source() -> None:
    for f in power.FIGURES.values():
        assert f.source, f.name
        assert f.unit, f.name
        assert f.value > 0, f.name


def test_bench_power_prints_tables_then_one_json_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "beltline.cli", "bench", "power", "--reps",
                           "3"], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert any(ln.startswith("figures") for ln in lines)
    s = json.loads(lines[-1])
    for key in ("hours_streaming_100hz", "days_offline_8h_per_day",
                "hours_streaming_with_light_sleep", "components_streaming",
                "components_offline", "month_floor_ma_24h"):
        assert key in s, key
    assert 0 < s["hours_streaming_100hz"] < 100
    assert s["inputs"]["notifications_per_s"] == pytest.approx(104 / 14, abs=1e-3)
    assert s["inputs"]["measured_unix"]["stream_bytes_per_sample"] > 0


def test_bad_connection_intervals_are_refused() -> None:
    proc = subprocess.run([sys.executable, "-m", "beltline.cli", "bench", "power", "--ci",
                           "50,30"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "connection intervals" in proc.stderr
