"""The timeline against what a radio and a logbook really do: overlapping and straddling
packets, many holes backfilled late, and clock jumps from a corrupted (CRC-valid) header."""

from __future__ import annotations

import random

import numpy as np
from beltline.firmware import wire as fw
from hypothesis import given, settings
from hypothesis import strategies as st

from beltline.link.receiver import Receiver
from beltline.link.timeline import Gap, Samples, Timeline


def packet(tick: int, n: int) -> bytes:
    """``n`` full samples from ``tick`` whose ax holds (tick mod 30000) in counts, so every
    delivered sample can be checked against the tick it is delivered at."""
    b = fw.Batcher(247, max_samples=n)
    out = None
    for i in range(n):
        k = tick + i
        out = b.add_full(k, 0.0, 0.0, (k % 30000) * fw.ACC_LSB, 0.0, 9.81, 0.0, 0.0, 0.0)
    assert out is not None
    return bytes(out)


def delivered(events: list[Samples | Gap]) -> list[int]:
    ticks = []
    for e in events:
        if isinstance(e, Samples):
            t = e.tick + np.arange(e.batch.n) * e.batch.stride
            ax = np.rint(e.batch.values["ax"] / fw.ACC_LSB).astype(int)
            assert (ax == t % 30000).all(), "a sample delivered at the wrong tick"
            ticks += t.tolist()
    return ticks


def test_a_straddling_packet_keeps_its_new_samples_and_nothing_twice() -> None:
    tl = Timeline(reorder_window=0)
    got = delivered(tl.push(packet(0, 10)))
    got += delivered(tl.push(packet(5, 10)))  # 5..14: 5..9 already delivered
    assert got == list(range(15))
    assert tl.stats.overlap_samples == 5
    assert tl.stats.samples == 15
    assert tl.stats.missing_samples == 0


def test_overlapping_packets_held_back_are_trimmed_on_release() -> None:
    tl = Timeline(reorder_window=4)
    events = []
    for t, n in [(0, 10), (20, 10), (8, 10), (15, 10), (30, 4)]:
        events += tl.push(packet(t, n))
    events += tl.flush()
    got = delivered(events)
    assert got == sorted(set(got)) == list(range(34))
    assert tl.stats.samples + tl.stats.missing_samples == 34


def test_a_replay_over_a_hole_and_its_edges_gives_just_the_hole() -> None:
    tl = Timeline(reorder_window=0)
    events = tl.push(packet(0, 10)) + tl.push(packet(20, 10))
    assert [(g.start, g.end) for g in events if isinstance(g, Gap)] == [(10, 20)]
    late = tl.push(packet(8, 14))  # 8..21: only 10..19 are new
    assert all(isinstance(e, Samples) and e.late for e in late)
    assert delivered(late) == list(range(10, 20))
    assert tl.open_gaps == []
    assert tl.stats.missing_samples == 0
    assert tl.push(packet(8, 14)) == []
    assert tl.stats.duplicates == 1


def test_more_than_64_holes_are_all_backfilled() -> None:
    tl = Timeline(reorder_window=0)
    for k in range(200):  # 200 holes of 5 samples
        tl.push(packet(k * 10, 5))
    assert len(tl.open_gaps) == 199
    late = []
    for k in random.Random(3).sample(range(199), 199):
        late += tl.push(packet(k * 10 + 5, 5))
    assert sorted(delivered(late)) == [k * 10 + 5 + i for k in range(199) for i in range(5)]
    assert tl.open_gaps == []
    assert tl.stats.missing_samples == 0


def test_a_crc_valid_tick_jump_is_refused_and_counted() -> None:
    tl = Timeline(reorder_window=0)
    got = delivered(tl.push(packet(1000, 10)))
    for bad in (1000 + 2**31, 1000 + 2**31 - 1, (1000 - 2**31) % 2**32, 1000 + 2**30):
        assert tl.push(packet(bad % 2**32, 10)) == []
        got += delivered(tl.push(packet(1010 + len(got) - 10, 10)))  # the stream goes on
    assert got == list(range(1000, 1050))
    assert tl.stats.rejected["clock_jump"] == 4
    assert tl.stats.gaps == 0
    assert tl.stats.missing_samples == 0


def test_a_real_jump_of_the_units_clock_is_taken_once_confirmed() -> None:
    tl = Timeline(reorder_window=0)
    delivered(tl.push(packet(0, 10)))
    far = 10 + (1 << 23)  # the host was away for a day
    events = []
    for k in range(3):
        events += tl.push(packet(far + 10 * k, 10))
    gaps = [e for e in events if isinstance(e, Gap)]
    assert [(g.start, g.end) for g in gaps] == [(10, far)]
    assert delivered(events) == list(range(far, far + 30))
    assert tl.stats.clock_jumps == 1
    assert "clock_jump" not in tl.stats.rejected


@given(st.integers(1, 60), st.data())
@settings(max_examples=150, deadline=None)
def test_any_mix_of_overlaps_replays_and_loss_delivers_each_sample_once(
        n_packets: int, data: st.DataObject) -> None:
    """Packets of any length starting anywhere near the stream, in any order: every tick that
    some packet carried is delivered exactly once (at its own tick), and what is missing in
    between is counted."""
    tl = Timeline(reorder_window=data.draw(st.integers(0, 6)))
    sent: set[int] = set()
    events: list[Samples | Gap] = []
    for _ in range(n_packets):
        t = data.draw(st.integers(0, 300))
        n = data.draw(st.integers(1, 14))
        sent.update(range(t, t + n))
        events += tl.push(packet(t, n))
    events += tl.flush()
    got = delivered(events)
    assert len(got) == len(set(got))
    assert set(got) == sent
    s = tl.stats
    assert s.samples == len(got)
    assert s.samples + s.missing_samples == max(got) - min(got) + 1


def test_the_receiver_keeps_late_samples_for_the_store() -> None:
    rx = Receiver(100.0, keep_late=True)
    rx.timeline.reorder_window = 0
    chunks = list(rx.push(packet(0, 10))) + list(rx.push(packet(20, 10)))
    assert [len(c.t) for c in chunks] == [10, 10]
    assert not any(c.late for c in chunks)
    assert list(rx.push(packet(10, 10))) == []  # never fed to the live pipeline
    (late,) = rx.take_late()
    assert late.late
    assert late.ticks is not None
    assert late.ticks.tolist() == list(range(10, 20))
    np.testing.assert_allclose(late.t, np.arange(10, 20) / 100.0)
    assert rx.late_not_analysed == 10
    assert rx.take_late() == []
    plain = Receiver(100.0)  # without keep_late: counted, not kept
    plain.timeline.reorder_window = 0
    list(plain.push(packet(0, 10)))
    list(plain.push(packet(20, 10)))
    list(plain.push(packet(10, 10)))
    assert plain.take_late() == []
    assert plain.late_not_analysed == 10
