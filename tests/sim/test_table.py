"""The belt on and off the body (``sim.table``): one rigid body, one sensor, smooth throughout."""

from __future__ import annotations

import numpy as np

from beltline.frames import GRAVITY_MS2 as G
from beltline.sim import table

RATE = 104.0


def test_a_table_day_is_one_smooth_rigid_body_with_its_truth() -> None:
    d = table.day("table_day", 1.0, seed=4, rate_hz=RATE, stop_s=60.0)
    assert d.worn is not None
    assert d.on_body is not None
    r = d.rec
    picked, put_down = d.worn
    on, off = d.on_body
    assert picked < on < off < put_down
    # at rest on the table: gravity only, along one of the unit's axes (it lies on a face)
    rest = (r.t > 5.0) & (r.t < 35.0)
    a = r.acc[rest].mean(axis=0)
    assert abs(np.linalg.norm(a) - G) < 0.2
    assert np.max(np.abs(a)) > 0.98 * G
    assert np.std(r.gyr[rest], axis=0).max() < 0.005  # noise only (rad/s)
    # no jump at the joins (table -> carried -> worn -> carried -> table)
    for tj in (picked, on, off, put_down):
        k = (r.t > tj - 1.0) & (r.t < tj + 1.0)
        assert np.abs(np.diff(r.acc[k], axis=0)).max() < 3.0
        assert np.abs(np.diff(r.gyr[k], axis=0)).max() < 0.5
    # steps, activities and angles only while on the body
    assert r.steps
    assert all(on < t < off for t, _ in r.steps)
    body = (r.t > on + 1.0) & (r.t < off - 1.0)
    assert not np.isnan(r.obliquity_deg[body]).any()
    assert np.isnan(r.obliquity_deg[r.t < picked]).all()
    assert set(r.activity[body]) >= {"sitting", "standing", "walking"}
    # the same arguments give the same day
    again = table.day("table_day", 1.0, seed=4, rate_hz=RATE, stop_s=60.0)
    assert np.array_equal(again.rec.acc, r.acc)


def test_a_vibrating_table_shakes_at_its_frequency() -> None:
    d = table.day("table_vibration", 2.0, seed=2, rate_hz=RATE)
    v = d.plan.vibrations[0]
    k = (d.rec.t > v.start_s + 1.0) & (d.rec.t < v.start_s + v.seconds - 1.0)
    acc = d.rec.acc[k] - d.rec.acc[k].mean(axis=0)
    spec = np.abs(np.fft.rfft(acc, axis=0)).sum(axis=1)
    f = np.fft.rfftfreq(int(k.sum()), 1.0 / RATE)
    assert abs(f[int(np.argmax(spec[1:])) + 1] - v.hz) < 0.5
    amp = np.sqrt(2.0) * np.linalg.norm(acc.std(axis=0))
    assert 0.5 * v.acc_ms2 < amp < 1.5 * v.acc_ms2 + 0.05
