"""Test and exercise sessions in the store: kept by the commands with their raw record and
results, listed with their kind, exported and imported back, analysed again, deleted; an old
store migrates (its sessions are walks); a tampered results document is one clear line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from beltline.cli import main
from beltline.errors import DataError
from beltline.sessions import exchange, exresults, rawcsv
from beltline.sessions.schema import MIGRATIONS
from beltline.sessions.store import SCHEMA_VERSION, Store
from beltline.sim import exercises as simex
from beltline.sim import trendelenburg as simtest


@pytest.fixture(scope="module")
def test_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    legs = {"left": simtest.LegPlan(0.5, 30.0), "right": simtest.LegPlan(7.5, 30.0)}
    rec = simtest.simulate_test(simtest.TestPlan(legs, ("right", "left")), 100.0, seed=4)
    path = tmp_path_factory.mktemp("ex") / "test.csv"
    rawcsv.write(path, rawcsv.Raw(rec.samples.t, rec.samples.acc, rec.samples.gyr))
    return path


@pytest.fixture(scope="module")
def set_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, simex.SetRecording]:
    plan = simex.random_plan("clamshell", np.random.default_rng(7), reps=6, compensated=0.5)
    rec = simex.simulate_set(plan, 100.0, seed=7)
    path = tmp_path_factory.mktemp("ex") / "set.csv"
    rawcsv.write(path, rawcsv.Raw(rec.samples.t, rec.samples.acc, rec.samples.gyr))
    return path, rec


def _json(capsys: pytest.CaptureFixture[str], args: list[str]) -> object:
    capsys.readouterr()
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_the_commands_keep_the_test_and_the_set_with_raw_and_results(
        test_csv: Path, set_csv: tuple[Path, simex.SetRecording], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "b.db")
    out = tmp_path / "r.json"
    assert main(["test", "trendelenburg", "--from", str(test_csv), "--out", str(out),
                 "--no-walk", "--store", db]) == 0
    raw, rec = set_csv
    assert main(["exercise", "clamshell", "--from", str(raw), "--reps", str(tmp_path / "r.csv"),
                 "--no-walk", "--store", db]) == 0
    assert main(["exercise", "clamshell", "--from", str(raw), "--no-walk", "--no-store",
                 "--store", db]) == 0
    rows = _json(capsys, ["sessions", "--json", "--store", db])
    assert isinstance(rows, list)
    assert [(r["id"], r["kind"], r["source"], r["name"]) for r in rows] == [
        (1, "test", "import", "test.csv"), (2, "exercise", "import", "set.csv")]
    assert rows[0]["raw_samples"] == len(rawcsv.read(test_csv).t)
    s = Store(Path(db))
    doc = s.results(1)
    assert doc is not None
    # the document holds exactly what --out wrote
    assert doc["legs"] == json.loads(out.read_text())["legs"]
    assert doc["legs"]["right"]["verdict"] == "positive"  # type: ignore[index]
    got = exresults.reps(s.results(2) or {})
    assert [r.flag for r in got] == [r.flag for r in rec.truth]
    assert s.session(2).note == ""  # a set is no walk: no "cannot calibrate" note
    s.close()

    # export and import round-trip the kind and the results
    assert main(["export", "2", "--out", str(tmp_path / "e"), "--store", db]) == 0
    assert main(["import", str(tmp_path / "e"), "--store", db]) == 0
    s = Store(Path(db))
    assert s.session(3).kind == "exercise"
    assert s.results(3) == s.results(2)
    s.close()

    # analysed again from the raw record (new limits stored with it would apply)
    assert main(["reanalyze", "1", "--store", db]) == 0
    s = Store(Path(db))
    assert s.results(1) == doc
    s.close()

    # delete removes the results too
    assert main(["delete", "2", "--yes", "--store", db]) == 0
    s = Store(Path(db))
    assert s._q("SELECT session_id FROM results ORDER BY session_id") == [(1,), (3,)]
    s.close()


def test_a_schema_4_store_migrates_and_its_sessions_are_walks(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    db = sqlite3.connect(old)
    db.executescript(f"BEGIN;{MIGRATIONS[0]};PRAGMA user_version=1;COMMIT;")
    db.execute("INSERT INTO sessions VALUES (1, 0.0, 'import', 'w', '', '', 1.0)")
    db.commit()
    db.close()
    s = Store(old)
    assert s.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    (info,) = s.sessions()
    assert info.kind == "walk"
    assert info.as_json()["kind"] == "walk"
    assert s.results(1) is None


def test_a_tampered_results_document_is_refused_with_one_line(
        test_csv: Path, tmp_path: Path) -> None:
    s = Store(tmp_path / "b.db")
    raw = rawcsv.read(test_csv)
    from beltline.pipeline import exercise_run
    from beltline.pipeline.exercise_settings import ExerciseSettings

    cfg = ExerciseSettings()
    res = exercise_run.trendelenburg_test(raw.t, raw.acc, raw.gyr, cfg, try_walk=False)
    sid = exresults.store_recording(s, raw.t, raw.acc, raw.gyr, exresults.test_doc(res, cfg),
                                    "import", name="t")
    exchange.export(s, sid, tmp_path / "e")
    meta_path = tmp_path / "e" / "session.json"
    meta = json.loads(meta_path.read_text())
    before = len(s.sessions())
    for field, value, said in [
            (("legs", "left", "verdict"), "maybe", "results.legs.left.verdict: 'maybe'"),
            (("legs", "right", "drop_deg"), "6", "results.legs.right.drop_deg: '6'"),
            (("format",), "x", "results.format: 'x'")]:
        bad = json.loads(json.dumps(meta))
        d = bad["results"]
        for k in field[:-1]:
            d = d[k]
        d[field[-1]] = value
        meta_path.write_text(json.dumps(bad))
        with pytest.raises(DataError) as e:
            exchange.import_export(s, tmp_path / "e")
        assert said in str(e.value)
        assert "\n" not in str(e.value)
    bad = dict(meta, kind="exercise")
    meta_path.write_text(json.dumps(bad))
    with pytest.raises(DataError, match="the results of a test in a session of kind exercise"):
        exchange.import_export(s, tmp_path / "e")
    assert len(s.sessions()) == before  # nothing written
