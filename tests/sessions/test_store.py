"""The session store: schema, crash safety, export and import."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from beltline.cli import main
from beltline.errors import DataError
from beltline.pipeline.settings import Settings
from beltline.sessions import exchange as sessions
from beltline.sessions import rawcsv
from beltline.sessions.store import SCHEMA_VERSION, Store
from beltline.sim import scenarios
from beltline.sim.wearer import simulate

SCRIPT = Path(__file__).parent / "scripts" / "record_forever.py"


def test_new_store_is_wal_and_versioned(tmp_path: Path) -> None:
    s = Store(tmp_path / "b.db")
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    s.close()
    Store(tmp_path / "b.db").close()  # reopening does not migrate twice


def test_a_newer_store_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "b.db")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(DataError, match="newer than this Beltline"):
        Store(tmp_path / "b.db")


def test_a_killed_recorder_loses_at_most_the_last_second(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(db)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    last = 0.0
    for line in proc.stdout:
        if line.startswith("done"):
            break
        last = float(line)
        if last > 50.0:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert last > 50.0
    s = Store(db)
    assert s.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    info = s.sessions()[0]
    assert info.ended_unix is None  # never closed: the listing says so
    sa = s.samples(info.id)
    t, act = sa.t_s, sa.activity
    assert t[-1] >= last - 1.0
    assert np.all(np.diff(t) > 0)
    assert set(act) <= {"standing", "walking", "sitting", "other"}


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


def test_a_damaged_export_is_refused(raw_file: Path, tmp_path: Path) -> None:
    s = Store(tmp_path / "b.db")
    sid = sessions.import_raw(s, raw_file, Settings())
    sessions.export(s, sid, tmp_path / "exp")
    (tmp_path / "exp" / "steps.csv").unlink()
    with pytest.raises(DataError, match=r"missing steps\.csv"):
        sessions.import_export(s, tmp_path / "exp")
    sessions.export(s, sid, tmp_path / "exp")
    text = (tmp_path / "exp" / "samples.csv").read_text()
    (tmp_path / "exp" / "samples.csv").write_text(text[: len(text) // 2].rsplit(",", 2)[0])
    with pytest.raises(DataError, match="truncated"):
        sessions.import_export(s, tmp_path / "exp")


def test_session_commands(raw_file: Path, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "b.db")
    assert main(["import", str(raw_file), "--store", db]) == 0
    assert main(["sessions", "--store", db]) == 0
    out = capsys.readouterr().out
    assert "walk.csv" in out
    assert "2 episodes" in out
    assert main(["export", "1", "--out", str(tmp_path / "e"), "--store", db]) == 0
    assert (tmp_path / "e" / "session.json").exists()
    assert main(["export", "9", "--out", str(tmp_path / "e"), "--store", db]) == 1


def test_steps_keep_their_hike_and_an_unknown_side(tmp_path: Path) -> None:
    """Schema 2 adds the per-step hike; a file of schema 1 is upgraded in place and its steps
    read back with the hike unknown (NaN)."""
    from beltline.records import Rows, StepRow
    from beltline.sessions import tables
    from beltline.sessions.store import MIGRATIONS, Recorder

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
    s.close()
