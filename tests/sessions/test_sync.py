"""``beltline sync`` end to end: the firmware's own logbook (the real ``micropython`` binary on
the virtual unit) records a walk with no host, then this host's BLE link (bleak over Bumble)
pulls it into the store. Counts are compared exactly with what the unit's logbook file holds.
Every wait is on a state (the unit's clock, the link's status), never a fixed window."""

from __future__ import annotations

import asyncio
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from beltline.firmware import logbook

from beltline.cli import main
from beltline.sessions.store import Store
from beltline.sessions.sync import SyncResult, pull
from beltline.sim import offline
from beltline.sim.devicesim import recording

pytestmark = pytest.mark.usefixtures("micropython")


def _sync(store_path: Path, seconds: float, seed: int, drop: tuple[float, float] | None = None,
          corrupt: int | None = None, reboot_at_s: tuple[float, ...] = ()
          ) -> tuple[SyncResult, set[int], dict[str, Any]]:
    """Record ``seconds`` of walking with no host, optionally break logbook record number
    ``corrupt`` (its CRC no longer matches) and drop the link ``drop`` = (after s, for s)
    into the sync; then sync. Returns the result, the ticks the unit's logbook holds
    (valid records) and the unit's figures."""
    rec = recording(seconds, 104.0, "healthy_walk", seed)

    async def run() -> tuple[SyncResult, set[int], dict[str, Any]]:
        walk = await offline.walk_without_host(rec, f"test unit {seed}",
                                               offline.boot_id_for("test", seed),
                                               reboot_at_s=reboot_at_s)
        try:
            path = walk.unit.flash / "logbook.bin"
            if corrupt is not None:
                with open(path, "r+b") as f:  # flip one sample byte of that record
                    f.seek((corrupt - 1) * logbook.SLOT + 8)
                    no = struct.unpack("<I", f.read(4))[0]
                    assert no == corrupt
                    f.seek((corrupt - 1) * logbook.SLOT + logbook.HEAD + 20)
                    b = f.read(1)
                    f.seek(-1, 1)
                    f.write(bytes([b[0] ^ 0x5A]))
            held = set(offline.logbook_ticks(path))
            with Store(store_path) as store:
                task = asyncio.ensure_future(pull(walk.link, store, device=walk.device,
                                                  progress=False))
                if drop is not None:
                    # from the unit's time when the sync's stream starts (its clock is set):
                    # connecting and pairing take many unit seconds at the sync's pace
                    while walk.link.clock is None and not task.done():
                        await asyncio.sleep(0.01)
                    walk.unit.out_of_range(walk.unit.clock_s + drop[0], drop[1])
                res = await task
        finally:
            report = await walk.close()
        return res, held, report

    return asyncio.run(run())


def _raw(store_path: Path) -> list[tuple[int, int]]:
    with Store(store_path) as store:
        return [(i.id, i.raw_samples) for i in store.sessions() if i.source == "sync"]


def test_a_walk_without_the_host_syncs_whole_and_a_second_sync_adds_nothing(
        tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    res, held, report = _sync(db, 120.0, 1)
    assert report["logged"] > 800  # the whole walk went to the logbook: no host listened
    assert report["logbook_corrupt"] == 0
    assert len(res.walks) == 1
    assert res.boots == 1
    assert res.records_missing == 0
    # everything on the unit's flash, and the record still filling in its RAM (sealed for the
    # transfer), is in the store, once; only the stream's last, partly filled packet never
    # reached the logbook
    assert res.first_record == 1
    assert _raw(db) == [(res.walks[0].sid, res.samples)]
    walked = len(recording(120.0, 104.0, "healthy_walk", 1).t)
    assert 0 <= walked - res.samples < offline.FULL_PER_PACKET
    assert len(held) < res.samples
    with Store(db) as store:
        ticks = set(store.raw(res.walks[0].sid).ticks.tolist())
    assert held <= ticks
    assert res.bytes < res.samples * 11  # compact records went over the air as they are
    with Store(db) as store:
        info = store.session(res.walks[0].sid)
        assert info.closed
        assert info.source == "sync"
        assert store.steps(info.id)  # analysed in batch: the walk's steps are there
    again, held2, _ = _sync(db, 120.0, 1)  # a fresh unit, the same walk
    assert held2 == held
    # the store's mark says where the last sync ended: nothing before it is sent again
    assert again.first_record == res.next_record
    assert again.samples == 0
    assert again.records < 4  # (only what the unit logged during this sync itself)
    assert _raw(db) == [(res.walks[0].sid, res.samples)]


def test_a_drop_in_the_middle_of_a_sync_resumes_and_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    res, _held, report = _sync(db, 180.0, 2, drop=(2.0, 8.0))
    assert res.reconnects == 1  # it did drop during the sync ...
    assert report["connects"] == 2
    assert res.asked == 2  # ... and the transfer was asked for again from where it was
    assert res.records_missing == 0  # ... and nothing is missing
    walked = len(recording(180.0, 104.0, "healthy_walk", 2).t)
    assert 0 <= walked - res.samples < offline.FULL_PER_PACKET
    assert _raw(db) == [(res.walks[0].sid, res.samples)]


def test_a_corrupt_logbook_record_loses_only_its_own_samples(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    res, _held, report = _sync(db, 60.0, 3, corrupt=200)
    assert report["logbook_corrupt"] >= 1  # the firmware saw its CRC fail and skipped it
    assert res.records_missing == 1  # the host saw its number missing, and nothing else
    with Store(db) as store:
        ticks = store.raw(res.walks[0].sid).ticks
    # exactly one run of ticks is missing: that record's (it held more than one packet's)
    gaps = np.flatnonzero(np.diff(ticks) > 1)
    assert len(gaps) == 1
    lost = int(ticks[gaps[0] + 1] - ticks[gaps[0]] - 1)
    assert offline.FULL_PER_PACKET < lost < 64
    walked = len(recording(60.0, 104.0, "healthy_walk", 3).t)
    assert 0 <= walked - lost - res.samples < offline.FULL_PER_PACKET
    assert _raw(db) == [(res.walks[0].sid, res.samples)]


def test_the_walks_of_every_boot_come_home_each_as_its_own_session(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    res, held, _report = _sync(db, 90.0, 4, reboot_at_s=(40.0,))
    assert res.boots == 2  # the power-on before this one, too
    assert len(res.walks) == 2
    assert res.records_missing == 0
    with Store(db) as store:
        first, second = (store.session(w.sid) for w in res.walks)
        epochs = [[int(r[0]) for r in store._q(  # type: ignore[call-overload]
            "SELECT DISTINCT epoch FROM raw_blocks WHERE session_id=?", (w.sid,))]
            for w in res.walks]
        assert "estimate" in first.note  # its wall time: no host met that boot
        assert first.started_unix < second.started_unix
        assert store.steps(first.id)
        assert store.steps(second.id)
    assert epochs[0] != epochs[1]  # each boot its own epoch, one per session
    assert epochs[1] == [res.boot_id]
    # the kill lost only what was in the unit's RAM then: its open record, the stream's packet
    walked = len(recording(90.0, 104.0, "healthy_walk", 4).t)
    assert 0 < walked - res.samples < 64 + 2 * offline.FULL_PER_PACKET
    assert held <= set(range(walked))  # (ticks of both boots start at 0)


def test_sync_virtual_command_twice_leaves_one_session(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    db = tmp_path / "c.db"
    args = ["sync", "--virtual", "--scenario", "healthy_walk", "--minutes", "1",
            "--store", str(db), "--no-progress"]
    assert main(args) == 0
    first = capsys.readouterr().out.strip().splitlines()
    one = json.loads(first[-1])
    assert first[0].startswith(f"session {one['sessions'][0]}:")
    assert one["samples"] > 0
    assert one["added"] == one["samples"]
    assert main(args) == 0
    two = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert two["first_record"] == one["next_record"]  # only what is new is transferred
    assert two["added"] == 0
    assert _raw(db) == [(one["sessions"][0], one["samples"])]


def test_a_unit_left_alone_dozes_between_fifo_reads_and_loses_nothing(tmp_path: Path) -> None:
    # past the pairing window (120 s) with no host and nothing to buzz, the unit light-sleeps
    # between FIFO reads (firmware/doze.py) and advertises 1 s in every 15; the host's
    # arrival (a press of its button: a wake source) finds it, and the sync gets every sample
    from beltline.firmware import app, doze

    db = tmp_path / "s.db"
    seconds = 230.0
    res, _held, report = _sync(db, seconds, 4)
    assert report["imu_overruns"] == 0  # a second between reads: the FIFO never overflowed
    dozing_s = seconds - app.PAIRING_WINDOW_S
    asleep = report["doze_slept_ms"] / 1000.0
    share = 1.0 - doze.WINDOW_S / doze.PERIOD_S
    # (the unit dozes on after the sync too, until the harness stops it: a lower bound)
    assert asleep >= 0.8 * share * dozing_s
    assert report["doze_windows"] >= int(dozing_s / doze.PERIOD_S) - 1
    assert report["polls"] < report["sim_seconds"] * 1000.0 / 40 - 0.6 * asleep * 25
    walked = len(recording(seconds, 104.0, "healthy_walk", 4).t)
    assert res.records_missing == 0
    assert 0 <= walked - res.samples < offline.FULL_PER_PACKET
    with Store(db) as store:
        ticks = store.raw(res.walks[0].sid).ticks
    assert np.all(np.diff(ticks) == 1)  # not a sample missing where it slept
