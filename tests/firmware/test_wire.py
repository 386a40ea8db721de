"""The wire format: bytes made by the firmware under MicroPython decode on the host to the
values that went in; packets always fit the MTU."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import SCRIPTS, run_script

sys.path.insert(0, str(SCRIPTS))
from beltline.firmware import wire as fw
from motion import wire_sample as sample

from beltline.link import wire


def _packets(out: str) -> list[tuple[int, bytes]]:
    return [(int(m), bytes.fromhex(h)) for m, h in (ln.split() for ln in out.splitlines())]


@pytest.fixture(scope="module")
def mpy_packets(micropython: str) -> list[tuple[int, bytes]]:
    return _packets(run_script([micropython], "run_wire.py", "100"))


def test_micropython_bytes_equal_cpython_bytes(mpy_packets, micropython: str) -> None:
    cpy = _packets(run_script([sys.executable], "run_wire.py", "100"))
    assert mpy_packets == cpy


def test_packets_fit_the_mtu_and_decode_to_the_values(mpy_packets) -> None:
    by_mtu: dict[int, list[wire.Batch]] = {}
    for mtu, pkt in mpy_packets:
        assert len(pkt) <= mtu - 3, (mtu, len(pkt))
        by_mtu.setdefault(mtu, []).append(wire.decode(pkt))
    assert set(by_mtu) == {23, 27, 64, 185, 247, 517}
    expected = np.array([sample(i) for i in range(100)], dtype=float)
    lsb = [fw.ANGLE_LSB, fw.ANGLE_LSB] + [fw.ACC_LSB] * 3 + [fw.GYR_LSB] * 3
    limit = 32767 * np.array(lsb)
    for mtu, batches in by_mtu.items():
        ticks = np.concatenate([b.ticks for b in batches])
        np.testing.assert_array_equal(ticks, np.arange(100))
        assert [b.seq for b in batches] == list(range(len(batches)))
        kind = batches[0].kind
        names = ["roll", "pitch", "ax", "ay", "az", "gx", "gy", "gz"]
        if kind == fw.KIND_ANGLES:
            names = names[:2]
        for j, name in enumerate(names):
            got = np.concatenate([b.values[name] for b in batches])
            want = np.clip(expected[:, 1 + j], -limit[j], limit[j])
            np.testing.assert_allclose(got, want, atol=lsb[j] / 2 + 1e-9, err_msg=f"{mtu} {name}")
        sat = np.concatenate([b.saturated for b in batches])
        if kind == fw.KIND_FULL:
            np.testing.assert_array_equal(sat, np.arange(100) % 37 == 0)


def test_default_mtu_uses_angles_and_bigger_mtus_batch_full_samples() -> None:
    assert fw.Batcher(23).kind == fw.KIND_ANGLES
    assert fw.Batcher(23).per_packet == 2
    assert fw.Batcher(247).kind == fw.KIND_FULL
    assert fw.Batcher(247).per_packet == (247 - 3 - 10) // 16
    with pytest.raises(ValueError, match="MTU"):
        fw.Batcher(12)


def test_host_crc_matches_firmware_crc() -> None:
    data = bytes(range(256)) * 3
    assert wire.crc16(data) == fw.crc16(data, len(data))
    assert wire.crc16(b"123456789") == 0x29B1  # the CRC-16/CCITT-FALSE check value


def test_device_sample_loop_runs_the_same_under_micropython(micropython: str) -> None:
    mpy = run_script([micropython], "run_stream.py").split()
    cpy = run_script([sys.executable], "run_stream.py").split()
    # MTU 64 holds 3 full samples; at 100 Hz that is 33 packets/s, over the 25/s notify budget,
    # so the loop sends every second sample: 1000 samples in 333 packets
    assert len(mpy) == 1000 // 3
    # the same bytes but for rounding of the last centi-degree where doubles differ in ulp
    same = sum(a == b for a, b in zip(mpy, cpy, strict=True))
    assert same >= 0.99 * len(mpy)
    last = wire.decode(bytes.fromhex(mpy[-1]))
    assert last.stride == 2
    assert last.tick == (len(mpy) - 1) * 3 * 2


def test_nan_and_infinite_values_go_out_as_saturated_not_as_an_exception() -> None:
    b = fw.Batcher(247, max_samples=3)
    nan, inf = float("nan"), float("inf")
    assert b.add_full(0, nan, -inf, inf, 0.0, 9.81, nan, 0.0, 0.0) is None
    assert b.add_full(1, 1.0, 2.0, 0.1, 0.2, 9.81, 0.01, 0.02, 0.03) is None
    pkt = bytes(b.add_full(2, 1.0, 2.0, 0.1, 0.2, 9.81, 0.01, 0.02, 0.03))
    batch = wire.decode(pkt)
    assert batch.values["roll"][0] == 32767 * fw.ANGLE_LSB
    assert batch.values["pitch"][0] == -32767 * fw.ANGLE_LSB
    assert batch.values["ax"][0] == 32767 * fw.ACC_LSB
    assert batch.saturated.tolist() == [True, False, False]


def test_crc16_refuses_to_read_past_the_buffer() -> None:
    with pytest.raises(ValueError, match="crc16"):
        fw.crc16(b"abc", 4)
