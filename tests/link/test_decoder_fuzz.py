"""Property-based fuzzing of the host decoder and timeline: bad bytes give a typed error or a
counted gap -- never a crash, never a silent misread."""

from __future__ import annotations

import random

import pytest
from beltline.firmware import wire as fw
from hypothesis import given, settings
from hypothesis import strategies as st

from beltline.errors import ChecksumError, MalformedPacket, VersionMismatch, WireError
from beltline.link import wire
from beltline.link.timeline import Gap, Samples, Timeline


def make_packets(n_samples: int, mtu: int, start_tick: int = 0) -> list[bytes]:
    b = fw.Batcher(mtu)
    out = []
    for i in range(n_samples):
        p = b.add_full(start_tick + i, i * 0.01, -i * 0.01, 0.1, 0.2, 9.81, 0.01, 0.02, 0.03)
        if p is not None:
            out.append(bytes(p))
    p = b.flush()
    if p is not None:
        out.append(bytes(p))
    return out


@given(st.binary(max_size=600))
@settings(max_examples=500)
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    try:
        batch = wire.decode(data)
    except WireError:
        return
    # the rare random input that passes every check is a well-formed packet
    assert batch.n >= 1


@given(st.sampled_from([23, 64, 185, 517]), st.integers(1, 40), st.data())
def test_truncation_is_a_typed_error(mtu: int, n: int, data: st.DataObject) -> None:
    pkt = make_packets(n, mtu)[0]
    cut = data.draw(st.integers(0, len(pkt) - 1))
    try:
        wire.decode(pkt[:cut])
    except (MalformedPacket, ChecksumError):
        return
    raise AssertionError("a truncated packet decoded")


@given(st.sampled_from([23, 64, 185, 517]), st.integers(1, 40), st.data())
def test_any_single_corrupted_byte_is_detected(mtu: int, n: int, data: st.DataObject) -> None:
    pkt = bytearray(make_packets(n, mtu)[0])
    pos = data.draw(st.integers(0, len(pkt) - 1))
    pkt[pos] ^= data.draw(st.integers(1, 255))
    try:
        wire.decode(bytes(pkt))
    except (MalformedPacket, ChecksumError, VersionMismatch):
        return
    raise AssertionError(f"corruption at byte {pos} decoded silently")


@given(st.integers(0, 255).filter(lambda v: v != fw.VERSION))
def test_wrong_version_names_both_versions(version: int) -> None:
    pkt = bytearray(make_packets(5, 185)[0])
    pkt[0] = version
    with pytest.raises(VersionMismatch) as info:
        wire.decode(bytes(pkt))
    assert info.value.got == version
    assert info.value.expected == fw.VERSION
    assert str(version) in str(info.value)


def _replay(tl: Timeline, packets: list[bytes]) -> list[Samples | Gap]:
    events: list[Samples | Gap] = []
    for p in packets:
        events += tl.push(p)
    return events + tl.flush()


@given(
    st.sampled_from([23, 64, 185]),
    st.integers(20, 400),
    st.integers(0, 2**32 - 1),
    st.randoms(use_true_random=False),
    st.floats(0.0, 0.3),
    st.floats(0.0, 0.3),
    st.floats(0.0, 0.3),
)
@settings(max_examples=200, deadline=None)
def test_timeline_accounts_for_every_sample(
    mtu: int, n: int, start: int, rnd: random.Random, p_drop: float, p_dup: float, p_swap: float
) -> None:
    sent = make_packets(n, mtu, start_tick=start)
    stream = []
    for p in sent:
        if rnd.random() < p_drop:
            continue
        stream.append(p)
        if rnd.random() < p_dup:
            stream.append(p)
    for i in range(len(stream) - 1):
        if rnd.random() < p_swap:
            stream[i], stream[i + 1] = stream[i + 1], stream[i]
    if rnd.random() < 0.3 and stream:  # and some junk
        stream.insert(rnd.randrange(len(stream)), stream[0][:5])
    tl = Timeline(reorder_window=4)
    events = _replay(tl, stream)
    got: list[int] = []
    for e in events:
        if isinstance(e, Samples):
            got += list(e.batch.ticks - e.batch.tick + e.tick)
    # each sample delivered at most once, with its true tick (u32 wrap unwrapped)
    assert len(got) == len(set(got))
    # expected: the samples of every packet that arrived, on the unwrapped tick axis
    expected_ticks = set()
    arrived = set(stream)
    offset = 0
    for p in sent:
        n_p = wire.decode(p).n
        if p in arrived:
            expected_ticks |= {start + offset + k for k in range(n_p)}
        offset += n_p
    if got:  # the timeline unwraps relative to the first packet it saw: compare shapes
        shift = min(expected_ticks) - min(got)
        assert shift % 2**32 == 0
        got = [g + shift for g in got]
    assert set(got) == expected_ticks
    st_ = tl.stats
    assert st_.samples == len(got)
    # what is missing between the first and last delivered sample is counted, not hidden
    if got:
        span = max(got) - min(got) + 1
        assert st_.samples + st_.missing_samples == span
    assert st_.rejected_total == sum(1 for p in stream if len(p) <= 5)


def test_gap_is_reported_and_late_packet_fills_it() -> None:
    pkts = make_packets(60, 64)  # 3 samples per packet
    tl = Timeline(reorder_window=1)
    events = []
    for p in pkts[:2] + pkts[3:6]:
        events += tl.push(p)
    gaps = [e for e in events if isinstance(e, Gap)]
    assert len(gaps) == 1
    assert (gaps[0].start, gaps[0].end, gaps[0].missing) == (6, 9, 3)
    assert tl.stats.missing_samples == 3
    late = tl.push(pkts[2])
    assert len(late) == 1
    assert isinstance(late[0], Samples)
    assert late[0].late
    assert late[0].tick == 6
    assert tl.stats.missing_samples == 0
    assert tl.stats.late == 1
    assert tl.push(pkts[2]) == []
    assert tl.stats.duplicates == 1


def test_u32_tick_wrap_is_continuous() -> None:
    pkts = make_packets(30, 64, start_tick=2**32 - 7)
    tl = Timeline()
    events = _replay(tl, pkts)
    ticks = [e.tick for e in events if isinstance(e, Samples)]
    assert ticks == [2**32 - 7 + 3 * k for k in range(10)]
    assert tl.stats.gaps == 0
