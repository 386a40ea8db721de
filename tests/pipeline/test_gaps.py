"""Gaps cannot hurt: the samples before a gap are decided at the gap (not lost), and the
memory and time a gap costs do not grow with its length, before or after the calibration."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

from beltline.pipeline import Pipeline
from beltline.pipeline.output import Output
from beltline.sim import scenarios
from beltline.sim.wearer import simulate

REC = simulate(scenarios.build("healthy_walk", 2.0, 1), 100.0, seed=1)


def _with_gap(at_s: float, gap_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The recording with everything after ``at_s`` moved ``gap_s`` later."""
    t = REC.t.copy()
    t[t > at_s] += gap_s
    return t, REC.acc, REC.gyr


def _run(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, chunk: int | None = None) -> Output:
    p = Pipeline()
    out = Output()
    step = chunk or len(t)
    for i in range(0, len(t), step):
        out.extend(p.push(t[i: i + step], acc[i: i + step], gyr[i: i + step]))
    out.extend(p.finish())
    return out


def test_the_seconds_before_a_long_gap_are_kept() -> None:
    at = 100.0
    t, acc, gyr = _with_gap(at, 60.0)  # longer than the 40 s the stages look back
    out = _run(t, acc, gyr)
    before = out.t[out.t <= at]
    assert before[-1] > at - 0.02  # up to the last sample before the gap (was: 4 s short)
    assert set(out.activity[(out.t > at - 4.0) & (out.t <= at)]) <= {"walking", "standing"}
    assert not ((out.t > at + 0.02) & (out.t < at + 60.0)).any()
    assert out.t[-1] > t[-1] - 0.02
    # the same, fed as a live stream of packets: live equals batch across the gap
    live = _run(t, acc, gyr, chunk=14)
    np.testing.assert_array_equal(live.t, out.t)
    np.testing.assert_allclose(live.obliquity_deg, out.obliquity_deg)
    assert list(live.activity) == list(out.activity)
    assert [e.kind for e in live.episodes] == [e.kind for e in out.episodes]


def _cost(at_s: float, gap_s: float) -> tuple[int, float, Output]:
    t, acc, gyr = _with_gap(at_s, gap_s)
    tracemalloc.start()
    t0 = time.process_time()
    out = _run(t, acc, gyr)
    cpu = time.process_time() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, cpu, out


@pytest.mark.parametrize("at_s", [20.0, 100.0], ids=["before-calibration", "after"])
def test_a_gap_costs_the_same_memory_and_time_whatever_its_length(at_s: float) -> None:
    short_peak, short_cpu, short = _cost(at_s, 60.0)
    long_peak, long_cpu, long = _cost(at_s, 10 * 86400.0)  # ten days: 86 M grid samples
    # a NaN array across ten days would be 690 MB per channel
    assert long_peak < 1.3 * short_peak + 2e6
    assert long_cpu < 3 * short_cpu + 1.0
    assert len(long.t) == len(short.t)
    # (times ten days later carry ~1e-10 s less precision: a micro-degree is the same answer)
    np.testing.assert_allclose(long.obliquity_deg, short.obliquity_deg, atol=1e-6)
    assert [g.seconds for g in long.gaps] == pytest.approx([g.seconds + 10 * 86400.0 - 60.0
                                                            for g in short.gaps], abs=1e-3)
