"""The session store: schema and migration, the raw record, crash safety (real SIGKILLs),
export and import round trips, the session commands."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from beltline.bench.store import kill_trial
from beltline.cli import main
from beltline.errors import BeltlineError, DataError, StoreError
from beltline.pipeline.settings import Settings
from beltline.records import GapRow, RawBlock, RawFormat, Rows, SampleBlock
from beltline.sessions import exchange as sessions
from beltline.sessions import rawcsv
from beltline.sessions.recorder import Recorder
from beltline.sessions.schema import V1
from beltline.sessions.store import SCHEMA_VERSION, Store, data_dir
from beltline.sim import scenarios
from beltline.sim.wearer import simulate

WIRE = RawFormat.wire(100.0)


def _raw(ticks: list[int] | np.ndarray) -> RawBlock:
    """Samples whose values follow from their tick (ax names it: order can be checked)."""
    ticks = np.asarray(ticks, np.int64)
    k = ticks[:, None] * np.array([1.0, 7.3, 13.1])
    acc = np.rint(np.sin(k) * 3.0 / WIRE.acc_lsb) * WIRE.acc_lsb
    acc[:, 0] = ticks * WIRE.acc_lsb
    gyr = np.rint(np.cos(k) * 2.0 / WIRE.gyr_lsb) * WIRE.gyr_lsb
    return RawBlock(ticks, acc, gyr)


def test_new_store_is_wal_versioned_and_private(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BELTLINE_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    s = Store()
    assert s.path == tmp_path / "xdg" / "beltline" / "beltline.db"
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    s.new_session("live")
    for p in (s.path, s.path.with_name("beltline.db-wal")):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert stat.S_IMODE(s.path.parent.stat().st_mode) == 0o700
    s.close()
    Store().close()  # reopening does not migrate twice


def test_an_empty_xdg_data_home_never_means_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BELTLINE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for value in ("", "   ", "relative/dir"):
        monkeypatch.setenv("XDG_DATA_HOME", value)
        assert data_dir() == tmp_path / ".local" / "share" / "beltline", value
    monkeypatch.setenv("BELTLINE_HOME", "")
    assert data_dir().is_absolute()


def test_a_newer_store_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "b.db")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(DataError, match="newer than this Beltline"):
        Store(tmp_path / "b.db")


def test_a_version_1_store_is_upgraded_and_its_sessions_still_list_and_export(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(V1)  # the schema Beltline wrote before the raw record
    db.execute("PRAGMA user_version=1")
    db.execute("INSERT INTO sessions(started_unix, source, name, ended_unix) "
               "VALUES (1.7e9, 'virtual', 'walk', 1.7e9 + 30)")
    db.executemany("INSERT INTO samples VALUES (1, ?, ?, ?, 'walking')",
                   [(i * 0.01, 1.234 if i != 7 else None, -0.5) for i in range(3000)])
    db.execute("INSERT INTO episodes VALUES (1, 'hip_drop', 'left', 1, 20, 6.5, 5, 'walking', "
               "30)")
    db.execute("INSERT INTO steps VALUES (1, 1.5, 'left', 4.0, 1.0, 8.0, 110)")
    db.execute("INSERT INTO settings VALUES (1, '{\"hip_drop_deg\": 3.0}')")
    db.commit()
    db.close()
    assert main(["sessions", "--json", "--store", str(path)]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    assert (info["source"], info["link"], info["closed"], info["final"]) == \
        ("live", "virtual", True, False)
    assert info["raw_samples"] == 0
    assert info["samples"] == 3000
    assert info["episodes"] == 1
    assert info["duration_s"] == pytest.approx(29.99)
    out = tmp_path / "e"
    assert main(["export", "1", "--out", str(out), "--store", str(path)]) == 0
    assert not (out / "raw.csv").exists()  # nothing to write: it was never kept
    s = Store(path)
    sa = s.samples(1)
    assert np.isnan(sa.obliquity_deg[7])
    assert sa.obliquity_deg[0] == pytest.approx(1.23)
    assert s.steps(1)[0].cadence_spm == 110
    sid = sessions.import_export(s, out)
    assert s.episodes(sid) == s.episodes(1)
    assert main(["reanalyze", "1", "--store", str(path)]) == 1  # no raw record to analyse


def test_raw_samples_go_into_their_place_and_are_kept_once(tmp_path: Path) -> None:
    s = Store(tmp_path / "b.db")
    sid = s.new_session("live", link="virtual")
    assert s.add_raw(sid, _raw(range(0, 100)), WIRE) == 100
    assert s.add_raw(sid, _raw(range(200, 300)), WIRE) == 100
    assert s.add_raw(sid, _raw([120, 100, 110, 130, 140, 145]), WIRE) == 6  # any order
    assert s.add_raw(sid, _raw(range(90, 160)), WIRE) == 70 - 10 - 6  # only what is new
    assert s.add_raw(sid, _raw(range(0, 300)), WIRE) == 300 - 260  # a copy adds the rest
    assert s.add_raw(sid, _raw(range(0, 300)), WIRE) == 0
    r = s.raw(sid)
    assert r.ticks.tolist() == list(range(300))
    np.testing.assert_array_equal(np.rint(r.acc[:, 0] / WIRE.acc_lsb), r.ticks)
    # read back in small pieces: still in order, nothing twice, the values exact
    pieces = list(s.iter_raw(sid, piece=7))
    assert np.concatenate([p.ticks for p in pieces]).tolist() == list(range(300))
    ref = _raw(range(300))
    np.testing.assert_allclose(np.concatenate([p.gyr for p in pieces]), ref.gyr, atol=1e-12)
    np.testing.assert_allclose(np.concatenate([p.acc for p in pieces]), ref.acc, atol=1e-12)
    info = s.session(sid)
    assert info.raw_samples == 300
    assert info.seconds == pytest.approx(2.99)
    with pytest.raises(DataError, match="ticks/s"):
        s.add_raw(sid, _raw([400]), RawFormat.wire(50.0))


def test_a_backfilled_gap_shrinks_to_what_never_arrived(tmp_path: Path) -> None:
    s = Store(tmp_path / "b.db")
    sid = s.new_session("live")
    rec = Recorder(s, sid)
    rec.write(Rows(gaps=[GapRow(10.0, 40.0)]))
    rec.raw(_raw(range(1000, 2000)), WIRE, late=True)  # 10.0 .. 19.99 s came back
    rec.raw(_raw(range(3000, 4000)), WIRE, late=True)  # and 30 .. 39.99 s
    rec.flush()
    assert [(g.start_s, g.end_s) for g in s.gaps(sid)] == [(19.99, 30.0)]
    rec.raw(_raw(range(2000, 3000)), WIRE, late=True)
    rec.flush()
    assert s.gaps(sid) == []  # what is left are sample intervals, not gaps


def test_the_recorder_commits_at_least_every_half_second_of_data(tmp_path: Path) -> None:
    s = Store(tmp_path / "b.db")
    now = [0.0]
    rec = Recorder(s, s.new_session("live"), clock=lambda: now[0])
    committed = []
    for k in range(200):  # 20 s in packets of 10 samples, faster than real time
        rec.raw(_raw(range(k * 10, k * 10 + 10)), WIRE)
        committed.append(s.session(rec.sid).raw_samples)
        assert k * 10 + 10 - committed[-1] <= 60  # never more than 0.6 s (0.5 + a packet)
    now[0] = 10.0
    rec.raw(_raw([5000]), WIRE)  # data trickling: wall time commits too
    assert s.session(rec.sid).raw_samples == 2001


def test_results_blocks_round_trip(tmp_path: Path) -> None:
    s = Store(tmp_path / "b.db")
    sid = s.new_session("live")
    t = 3.0 + np.arange(20000) * 0.01
    o = np.sin(t) * 10
    o[100:200] = np.nan
    act = np.array(["standing", "walking", "sitting", "other", ""] * 4000, "<U8")
    s.write_rows(sid, Rows(SampleBlock(t, o, -o, act)))
    back = s.samples(sid)
    np.testing.assert_allclose(back.t_s, t, atol=1e-9)
    np.testing.assert_allclose(back.obliquity_deg, o, atol=0.005)
    assert np.isnan(back.obliquity_deg[100:200]).all()
    assert list(back.activity) == list(act)


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rec = simulate(scenarios.build("standing_obliquity", 2.0, 8), 100.0, seed=8, mount="left")
    path = tmp_path_factory.mktemp("raw") / "walk.csv"
    rawcsv.write(path, rawcsv.Raw(rec.t, rec.acc, rec.gyr))
    return path


def test_import_export_round_trip(raw_file: Path, tmp_path: Path) -> None:
    s = Store(tmp_path / "b.db")
    sid = sessions.import_raw(s, raw_file, Settings())
    files = sessions.export(s, sid, tmp_path / "exp")
    assert [f.name for f in files] == list(sessions.EXPORT_FILES)
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "exp").stat().st_mode) == 0o700
    meta = json.loads((tmp_path / "exp" / "session.json").read_text())
    assert meta["final"]
    assert meta["raw"]["samples"] == 26000
    assert meta["clock"] == [] or {"host_unix", "device_tick", "epoch"} <= set(meta["clock"][0])
    # raw.csv is the common import format, exactly the file that was imported
    back = rawcsv.read(tmp_path / "exp" / "raw.csv")
    orig = rawcsv.read(raw_file)
    np.testing.assert_allclose(back.t, orig.t, atol=1e-6)
    np.testing.assert_allclose(back.acc, orig.acc, atol=5e-5)  # 1e-4 m/s² counts
    np.testing.assert_allclose(back.gyr, orig.gyr, atol=5e-6)
    sid2 = sessions.import_export(s, tmp_path / "exp")
    r1, r2 = s.rows(sid), s.rows(sid2)
    assert r1.gaps == r2.gaps
    for e1, e2 in zip(r1.episodes, r2.episodes, strict=True):
        assert (e1.kind, e1.side, e1.activity, e1.steps) == (e2.kind, e2.side, e2.activity,
                                                              e2.steps)
        np.testing.assert_allclose([e1.start_s, e1.end_s, e1.peak_deg, e1.mean_deg],
                                   [e2.start_s, e2.end_s, e2.peak_deg, e2.mean_deg],
                                   atol=0.006)  # export rounds to 0.01
    a, b = r1.samples, r2.samples
    np.testing.assert_allclose(a.t_s, b.t_s, atol=1e-4)
    np.testing.assert_allclose(a.obliquity_deg, b.obliquity_deg, atol=1e-3)
    assert list(a.activity) == list(b.activity)
    assert len(r1.steps) == len(r2.steps)
    np.testing.assert_allclose([x.drop_deg for x in r1.steps], [x.drop_deg for x in r2.steps],
                               atol=6e-4)
    kinds = {(e.kind, e.side) for e in r1.episodes}
    assert kinds == {("pelvic_obliquity", "right"), ("pelvic_obliquity", "left")}
    m1, m2 = s.meta(sid), s.meta(sid2)
    assert m1["calibration"] == m2["calibration"]
    assert m1["settings"] == m2["settings"]
    assert (m2["source"], m2["final"]) == ("import", True)
    raw1, raw2 = s.raw(sid), s.raw(sid2)
    np.testing.assert_array_equal(raw1.ticks, raw2.ticks)  # the raw record, exactly
    np.testing.assert_array_equal(raw1.acc, raw2.acc)
    # and re-analysed from the imported raw record, the same results
    assert main(["reanalyze", str(sid2), "--store", str(s.path)]) == 0
    assert [(e.kind, e.side) for e in s.episodes(sid2)] == [(e.kind, e.side)
                                                            for e in r1.episodes]


def test_parquet_exports_import_too(raw_file: Path, tmp_path: Path) -> None:
    from beltline.analysis import parquet

    s = Store(tmp_path / "b.db")
    sid = sessions.import_raw(s, raw_file, Settings())
    files = parquet.export(s, sid, tmp_path / "pq")
    assert {f.name for f in files} >= {"samples.parquet", "raw.parquet", "session.json"}
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    sid2 = sessions.import_export(s, tmp_path / "pq")
    assert s.episodes(sid2) == s.episodes(sid)
    np.testing.assert_array_equal(s.raw(sid2).ticks, s.raw(sid).ticks)
    assert len(s.samples(sid2)) == len(s.samples(sid))


def test_session_commands(raw_file: Path, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "b.db")
    assert main(["import", str(raw_file), "--store", db]) == 0
    assert main(["sessions", "--store", db]) == 0
    out = capsys.readouterr().out
    assert "walk.csv" in out
    assert "2 episodes" in out
    assert main(["sessions", "--json", "--store", db]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert {"id", "started_unix", "duration_s", "raw_samples", "episodes", "closed",
            "source", "final", "analysed_unix"} <= set(row)
    assert (row["source"], row["closed"], row["raw_samples"], row["episodes"]) == \
        ("import", True, 26000, 2)
    assert main(["export", "1", "--out", str(tmp_path / "e"), "--store", db]) == 0
    assert (tmp_path / "e" / "raw.csv").exists()
    assert main(["export", "9", "--out", str(tmp_path / "e"), "--store", db]) == 1
    # new settings: a much higher threshold removes the obliquity episodes
    assert main(["reanalyze", "1", "--set", "obliquity_deg=15", "--store", db]) == 0
    done = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert done["episodes"] == 0
    assert done["raw_samples"] == 26000
    assert Store(Path(db)).meta(1)["settings"]["obliquity_deg"] == 15  # type: ignore[index]
    assert main(["reanalyze", "1", "--set", "nonsense=1", "--store", db]) == 1
    assert main(["delete", "1", "--yes", "--store", db]) == 0
    assert main(["delete", "1", "--yes", "--store", db]) == 1
    assert main(["sessions", "--json", "--store", db]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_deleted_session_is_gone_from_the_file(tmp_path: Path) -> None:
    s = Store(tmp_path / "b.db")
    sid = s.new_session("live", name="SECRET-NAME-4711")
    s.add_raw(sid, _raw(range(5000)), WIRE)
    s.checkpoint()
    assert b"SECRET-NAME-4711" in (tmp_path / "b.db").read_bytes()
    s.delete_session(sid)
    for f in tmp_path.glob("b.db*"):
        assert b"SECRET-NAME-4711" not in f.read_bytes(), f
    assert s.new_session("live") == sid + 1  # ids are never reused


def test_a_store_that_is_not_a_database_is_one_line(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a readable Beltline session store"):
        Store(bad)
    assert main(["sessions", "--store", str(bad)]) == 1
    assert "not a readable Beltline session store" in caplog.text
    assert "Traceback" not in caplog.text


def test_a_read_only_store_opens_for_review(raw_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    with Store(path) as s:
        sessions.import_raw(s, raw_file, Settings())
        s.checkpoint()
    ro = Store(path, read_only=True)
    assert ro.read_only
    assert len(ro.sessions()) == 1
    assert len(ro.raw(1).ticks) == 26000
    with pytest.raises(StoreError, match="read-only"):
        ro.new_session("live")
    sessions.export(ro, 1, tmp_path / "e")  # review and export still work
    ro.close()


READ_BACK = ("import sys; from beltline.sessions.store import Store; s = Store(sys.argv[1]); "
             "print(s.read_only, len(s.sessions()), s.session(1).raw_samples)")


@pytest.fixture
def shared_store(raw_file: Path) -> Iterator[Path]:
    """A store with one session in a folder other users may enter (not pytest's 0700 one)."""
    d = Path(tempfile.mkdtemp(prefix="beltline-ro-", dir="/tmp"))
    os.chmod(d, 0o755)
    path = d / "b.db"
    with Store(path) as s:
        sessions.import_raw(s, raw_file, Settings())
        s.checkpoint()
    os.chmod(path, 0o644)  # readable by others, writable by its owner only
    yield path
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to run a check as another user")
def test_a_store_the_user_cannot_write_opens_read_only(shared_store: Path) -> None:
    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          sys.executable, "-c", READ_BACK, str(shared_store)],
                         capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "1", "26000"]


def test_a_store_on_a_read_only_disk_opens_read_only(shared_store: Path) -> None:
    d = shared_store.parent
    script = (f"mount --bind {d} {d} && mount -o remount,bind,ro {d} && "
              f"{sys.executable} -c '{READ_BACK}' {shared_store} && "
              f"{sys.executable} -m beltline sessions --store {shared_store}")
    out = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                         text=True, check=False, timeout=120)
    if out.returncode != 0 and ("Operation not permitted" in out.stderr
                                or "permission denied" in out.stderr.lower()
                                or not shutil.which("unshare")):
        pytest.skip(f"cannot mount a read-only folder here: {out.stderr.strip()[:200]}")
    assert out.returncode == 0, out.stderr
    first, listing = out.stdout.split("\n", 1)
    assert first.split() == ["True", "1", "26000"]
    assert "walk.csv" in listing
    assert "Traceback" not in out.stderr


# --- crash safety: real processes, real SIGKILL -------------------------------------------
def test_a_killed_recorder_loses_at_most_the_last_second(tmp_path: Path) -> None:
    """Killed at random instants (the first before the calibration, when the live pipeline has
    given nothing out yet): the next command finds the session, closes and analyses it, and
    the store holds everything that arrived but at most the last second."""
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    instants = [rng.uniform(2.0, 30.0), rng.uniform(45.0, 150.0), rng.uniform(2.0, 170.0)]
    for k, at in enumerate(instants):
        r = kill_trial(tmp_path / f"k{k}.db", at, speed=10.0, seed=k + 1)
        why = f"seed {seed}, kill at {at:.2f} s: {r}"
        assert r["arrived"] >= at * 100 - 20, why
        assert r["extra"] == 0, why  # never a sample that did not arrive
        assert r["lost_s"] <= 1.0, why
        assert r["closed"], why
        assert r["final"], why
    # the last store as the user sees it: listed, exported (raw.csv) and analysed again
    db = str(tmp_path / "k2.db")
    assert main(["export", "1", "--out", str(tmp_path / "e"), "--store", db]) == 0
    raw = rawcsv.read(tmp_path / "e" / "raw.csv")
    assert len(raw.t) == r["stored"]
    assert main(["reanalyze", "1", "--store", db]) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_killed_monitor_is_finished_by_the_next_command(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    proc = subprocess.Popen([sys.executable, "-m", "beltline", "monitor", "--virtual",
                             "--no-browser", "--speed", "10", "--minutes", "2", "--store",
                             str(db), "--port", str(_free_port())],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    stored = 0
    try:
        while stored < 1500 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.3)
            try:
                with Store(db, read_only=True) as s:
                    rows = s.sessions()
                    stored = rows[0].raw_samples if rows else 0
            except BeltlineError:
                continue  # not created or not upgraded yet
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert stored >= 1500, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    out = subprocess.run([sys.executable, "-m", "beltline", "sessions", "--json", "--store",
                          str(db)], capture_output=True, text=True, check=True)
    (info,) = json.loads(out.stdout)
    assert info["closed"]
    assert info["final"]
    assert info["source"] == "live"
    assert info["link"] == "ble"  # the virtual unit is reached over Bluetooth LE
    assert info["raw_samples"] >= stored
    assert info["duration_s"] >= (stored - 1) / 105  # the unit samples at 104 Hz
    assert subprocess.run([sys.executable, "-m", "beltline", "export", "1", "--out",
                           str(tmp_path / "e"), "--store", str(db)], check=False).returncode == 0
    assert len(rawcsv.read(tmp_path / "e" / "raw.csv").t) == info["raw_samples"]
    assert subprocess.run([sys.executable, "-m", "beltline", "reanalyze", "1", "--store",
                           str(db)], capture_output=True, check=False).returncode == 0


def test_a_synced_walk_is_stored_once_however_often_it_comes(tmp_path: Path) -> None:
    """The path ``beltline sync`` stores a walk through: the unit's ticks and counts, a
    session of source "sync" analysed in full; a second sync or a resumed one adds nothing
    twice."""
    rec = simulate(scenarios.build("hip_drop_left", 2.0, 4), 100.0, seed=4, mount="left")
    n = len(rec.t)
    counts = np.rint(np.column_stack([rec.acc / WIRE.acc_lsb, rec.gyr / WIRE.gyr_lsb]))
    walk = RawBlock(np.arange(n, dtype=np.int64) + 5_000_000, counts[:, :3] * WIRE.acc_lsb,
                    counts[:, 3:] * WIRE.gyr_lsb)
    s = Store(tmp_path / "b.db")
    first_half = RawBlock(walk.ticks[: n // 2], walk.acc[: n // 2], walk.gyr[: n // 2])
    sid = sessions.store_walk(s, first_half, WIRE, device="unit-7")  # a sync that dropped
    assert s.session(sid).raw_samples == n // 2
    assert sessions.store_walk(s, walk, WIRE, device="unit-7") == sid  # resumed: the rest
    assert sessions.store_walk(s, walk, WIRE, device="unit-7") == sid  # and again: nothing
    (info,) = s.sessions()
    assert (info.source, info.closed, info.final, info.raw_samples) == ("sync", True, True, n)
    assert {(e.kind, e.side) for e in s.episodes(sid)} == {("hip_drop", "left")}
    np.testing.assert_array_equal(s.raw(sid).ticks, walk.ticks)
    other = sessions.store_walk(s, walk, WIRE, device="unit-8")  # another unit's own walk
    assert other != sid


def test_a_closed_sessions_raw_record_is_rewritten_in_minute_blocks_losslessly(
        tmp_path: Path) -> None:
    s = Store(tmp_path / "b.db")
    sid = s.new_session("live")
    order = list(range(0, 30000, 50))
    late = order[100:140]
    for k in [x for x in order if x not in late] + late[::-1]:  # half-second blocks, some late
        s.add_raw(sid, _raw(range(k, k + 50)), WIRE)
    before = s.raw(sid)
    blocks = s._q("SELECT COUNT(*) FROM raw_blocks WHERE session_id=?", (sid,))[0][0]
    assert s.compact_raw(sid)
    after = s.raw(sid)
    np.testing.assert_array_equal(after.ticks, before.ticks)
    np.testing.assert_array_equal(after.acc, before.acc)
    np.testing.assert_array_equal(after.gyr, before.gyr)
    assert after.ticks.tolist() == list(range(30000))
    assert blocks == 600
    assert s._q("SELECT COUNT(*) FROM raw_blocks WHERE session_id=?", (sid,))[0][0] == 5
    assert not s.compact_raw(sid)  # already compact
    assert s.add_raw(sid, _raw(range(29990, 30010)), WIRE) == 10  # and it still takes more


def test_repair_gives_an_interrupted_final_analysis_its_turn(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = simulate(scenarios.build("hip_drop_left", 2.0, 4), 100.0, seed=4, mount="left")
    s = Store(tmp_path / "b.db")
    r = Recorder.start(s, "live", link="virtual")
    ticks = np.arange(len(rec.t), dtype=np.int64)
    for i in range(0, len(ticks), 14):
        r.raw(RawBlock(ticks[i:i + 14], rec.acc[i:i + 14], rec.gyr[i:i + 14]), WIRE)
    r.close(None)  # closed, but its final analysis never ran (killed right then)
    r.release()
    assert not s.session(r.sid).final
    assert main(["sessions", "--repair", "--json", "--store", str(s.path)]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    assert info["final"]
    assert info["episodes"] == 1
    assert info["raw_samples"] == len(ticks)


def test_a_session_being_recorded_is_left_alone(tmp_path: Path) -> None:
    s = Store(tmp_path / "b.db")
    r = Recorder.start(s, "live")
    r.raw(_raw(range(500)), WIRE)
    r.flush()
    other = Store(tmp_path / "b.db")  # another program (here: another connection) opens it
    from beltline.sessions.finish import repair

    assert repair(other) == []
    assert not other.session(r.sid).closed
    assert main(["reanalyze", str(r.sid), "--store", str(s.path)]) == 1
    r.release()  # the recorder is gone: now it is finished
    assert repair(other) == [r.sid]
    assert other.session(r.sid).closed


def test_the_unit_clock_is_kept_with_the_session(tmp_path: Path) -> None:
    s = Store(tmp_path / "c.db")
    sid = s.new_session("ble")
    s.set_clock(sid, [(7, 100, 1000.5, 104.0), (9, 52, 1030.25, 104.0)])
    s.set_clock(sid, [(7, 100, 1000.5, 104.0), (9, 52, 1030.25, 104.0)])  # replaces
    clock = s.meta(sid)["clock"]
    assert clock == [{"host_unix": 1000.5, "device_tick": 100, "epoch": 7, "rate_hz": 104.0},
                     {"host_unix": 1030.25, "device_tick": 52, "epoch": 9, "rate_hz": 104.0}]


def test_steps_keep_their_hike_and_an_unknown_side(tmp_path: Path) -> None:
    """Schema 4 adds the per-step hike; a file of schema 1 is upgraded in place and its steps
    read back with the hike unknown (NaN); a steps.csv without the column reads too."""
    from beltline.records import Rows, StepRow
    from beltline.sessions import tables
    from beltline.sessions.recorder import Recorder
    from beltline.sessions.schema import MIGRATIONS

    old = tmp_path / "old.db"
    db = sqlite3.connect(old)
    db.executescript(f"BEGIN;{MIGRATIONS[0]};PRAGMA user_version=1;COMMIT;")
    db.execute("INSERT INTO sessions VALUES (1, 0.0, 'import', '', '', '', 1.0)")
    db.execute("INSERT INTO steps VALUES (1, 1.5, 'left', 4.0, 1.0, 8.0, 110.0)")
    db.commit()
    db.close()
    s = Store(old)
    assert s.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    (step,) = s.steps(1)
    assert step.side == "left"
    assert np.isnan(step.hike_deg)
    rec = Recorder(s, 1)
    rec.write(Rows(steps=[StepRow(2.0, "right", 3.5, 0.5, 7.0, 108.0, 2.2),
                          StepRow(2.6, "unknown")]))
    rec.flush()
    back = s.steps(1)
    assert [x.side for x in back] == ["left", "right", "unknown"]
    assert back[1].hike_deg == 2.2
    path = tmp_path / "steps.csv"
    tables.write_steps(path, back)
    again = tables.read_steps(path)
    assert [x.side for x in again] == ["left", "right", "unknown"]
    assert again[1].hike_deg == pytest.approx(2.2)
    old_csv = tmp_path / "old-steps.csv"
    old_csv.write_text("t_s,side,drop_deg,tilt_deg,range_deg,cadence_spm\n1.5,left,4,1,8,110\n")
    (o,) = tables.read_steps(old_csv)
    assert o.side == "left"
    assert np.isnan(o.hike_deg)
    s.close()
