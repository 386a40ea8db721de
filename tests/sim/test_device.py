"""The virtual device: the firmware's sample loop over a virtual wearer, through the timeline."""

from __future__ import annotations

import numpy as np
from beltline.firmware import wire as fw

from beltline.link.timeline import Gap, Samples, Timeline
from beltline.sim.device import Faults, packets
from beltline.sim.wearer import Segment, simulate

REC = simulate([Segment("stand", 5.0), Segment("walk", 40.0)], rate_hz=100.0, seed=1)


def _collect(stream: list[tuple[float, bytes]]) -> tuple[Timeline, list[Samples], list[Gap]]:
    tl = Timeline()
    events = []
    for _, p in stream:
        events += tl.push(p)
    events += tl.flush()
    return tl, [e for e in events if isinstance(e, Samples)], [e for e in events
                                                               if isinstance(e, Gap)]


def test_packets_carry_every_sample_and_decode_to_the_raw_signals() -> None:
    stream = list(packets(REC, mtu=247))
    assert all(len(p) <= 247 - 3 for _, p in stream)
    tl, samples, gaps = _collect(stream)
    assert gaps == []
    assert tl.stats.samples == len(REC.t)
    ax = np.concatenate([s.batch.values["ax"] for s in samples])
    gz = np.concatenate([s.batch.values["gz"] for s in samples])
    np.testing.assert_allclose(ax, REC.acc[:, 0], atol=fw.ACC_LSB / 2 + 1e-9)
    np.testing.assert_allclose(gz, REC.gyr[:, 2], atol=fw.GYR_LSB / 2 + 1e-9)


def test_default_mtu_streams_decimated_angles_within_the_notify_budget() -> None:
    stream = list(packets(REC, mtu=23))
    per_s = len(stream) / (REC.t[-1] - REC.t[0])
    assert per_s <= 25.5
    b = __import__("beltline.link.wire", fromlist=["decode"]).decode(stream[0][1])
    assert b.kind == fw.KIND_ANGLES
    assert b.stride > 1


def test_injected_loss_and_disconnect_are_counted_gaps() -> None:
    faults = Faults(loss=0.05, duplicate=0.05, reorder=0.05, disconnect_at_s=20.0,
                    disconnect_for_s=3.0)
    tl, _samples, gaps = _collect(list(packets(REC, mtu=247, faults=faults, seed=2)))
    assert gaps
    assert tl.stats.duplicates > 0
    span = len(REC.t)
    assert tl.stats.samples + tl.stats.missing_samples == span
    assert tl.stats.missing_samples >= 300  # the 3 s disconnect at 100 Hz at least
