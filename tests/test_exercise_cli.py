"""``beltline test trendelenburg`` and ``beltline exercise NAME`` as a person runs them."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from beltline.cli import main
from beltline.exercise_records import REP_COLUMNS
from beltline.sessions import rawcsv
from beltline.sim import exercises as simex
from beltline.sim import trendelenburg as simtest


@pytest.fixture(autouse=True)
def _own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands keep their sessions in the store: each test its own."""
    monkeypatch.setenv("BELTLINE_HOME", str(tmp_path / "home"))


def _write_test(path: Path, left: float, right: float, seed: int = 4) -> simtest.TestRecording:
    legs = {"left": simtest.LegPlan(left, 30.0), "right": simtest.LegPlan(right, 30.0)}
    rec = simtest.simulate_test(simtest.TestPlan(legs, ("right", "left")), 100.0, seed=seed,
                                misalign_deg=(3.0, 5.0, -4.0))
    rawcsv.write(path, rawcsv.Raw(rec.samples.t, rec.samples.acc, rec.samples.gyr))
    return rec


def test_the_test_from_a_recording_writes_the_result(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    rec = _write_test(tmp_path / "raw.csv", 0.5, 7.5)
    out = tmp_path / "result.json"
    assert main(["test", "trendelenburg", "--from", str(tmp_path / "raw.csv"), "--out",
                 str(out), "--no-walk"]) == 0
    res = json.loads(out.read_text())
    assert set(res["legs"]) == {"left", "right"}
    for leg in ("left", "right"):
        got = res["legs"][leg]
        assert {"drop_deg", "peak_drop_deg", "hold_s", "verdict"} <= set(got)
        assert got["drop_deg"] == pytest.approx(rec.truth.legs[leg].drop_deg, abs=1.0)
    assert res["legs"]["right"]["verdict"] == "positive"
    assert res["legs"]["left"]["verdict"] == "negative"
    assert res["threshold_deg"] == 4.5
    assert "Hardcastle" in res["threshold_source"]
    said = capsys.readouterr().out
    assert "Standing on the right leg your left side dropped" in said
    assert "a positive test" in said


def test_a_wearer_s_own_threshold_changes_the_verdict(tmp_path: Path) -> None:
    _write_test(tmp_path / "raw.csv", 0.5, 7.5)
    out = tmp_path / "result.json"
    assert main(["test", "trendelenburg", "--from", str(tmp_path / "raw.csv"), "--out",
                 str(out), "--no-walk", "--set", "test_drop_deg=9"]) == 0
    assert json.loads(out.read_text())["legs"]["right"]["verdict"] == "negative"


def test_an_exercise_from_a_recording_writes_one_row_per_rep(tmp_path: Path) -> None:
    plan = simex.random_plan("clamshell", np.random.default_rng(7), reps=6, compensated=0.5)
    rec = simex.simulate_set(plan, 100.0, seed=7, misalign_deg=(2.0, -3.0, 4.0))
    raw = tmp_path / "set.csv"
    rawcsv.write(raw, rawcsv.Raw(rec.samples.t, rec.samples.acc, rec.samples.gyr))
    reps, summary = tmp_path / "reps.csv", tmp_path / "summary.json"
    assert main(["exercise", "clamshell", "--from", str(raw), "--reps", str(reps),
                 "--summary", str(summary), "--no-walk"]) == 0
    with reps.open() as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == REP_COLUMNS
    assert len(rows) == 1 + len(rec.truth)
    assert [r[4] for r in rows[1:]] == [r.flag for r in rec.truth]
    s = json.loads(summary.read_text())
    assert s["summary"]["reps"] == 6
    assert s["limits_deg"]["rotation"] == 6.0


@pytest.mark.usefixtures("micropython")
def test_the_virtual_test_guides_then_says_the_result(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["test", "trendelenburg", "--virtual", "--drop-left", "8", "--drop-right", "0",
                 "--first", "left", "--speed", "5000", "--out", str(out), "--no-walk"]) == 0
    said = capsys.readouterr().out
    assert said.index("Stand still on both feet") < said.index("stand on your left leg") < \
        said.index("stand on your right leg")
    assert "Standing on the left leg your right side dropped" in said
    res = json.loads(out.read_text())
    assert res["legs"]["left"]["verdict"] == "positive"
    assert res["legs"]["right"]["verdict"] == "negative"
    assert "pending" not in res
    # the guide's lines came as the unit's data did: before the result, in the guide's order
    assert said.index("Put your foot down. Stand still: done.") < \
        said.index("Standing on the left leg")
    from beltline.sessions.store import Store

    with Store(None) as st:
        (info,) = st.sessions()
        assert info.kind == "test"
        doc = st.results(info.id)
        assert doc is not None
        assert doc["legs"]["left"]["verdict"] == "positive"  # type: ignore[index]


@pytest.mark.usefixtures("micropython")
def test_a_virtual_set_runs_live_on_the_virtual_unit(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    reps = tmp_path / "reps.csv"
    assert main(["exercise", "glute_bridge", "--virtual", "--reps-count", "4", "--seed", "2",
                 "--no-walk", "--speed", "20", "--set", "alert_mode=training", "--reps",
                 str(reps), "--page", "--port", "0"]) == 0
    said = capsys.readouterr().out
    assert "Live page: http://127.0.0.1:" in said
    assert [f"rep {i} (both legs): " in said for i in range(1, 5)] == [True] * 4
    assert "rep 5" not in said
    assert "Glute bridge, both legs: 4 reps" in said
    with reps.open() as f:
        assert len(list(csv.reader(f))) == 1 + 4
    from beltline.sessions.store import Store

    with Store(None) as st:  # (BELTLINE_HOME: this test's own)
        (info,) = st.sessions()
        assert info.kind == "exercise"
        assert info.raw_samples > 0


def test_a_live_set_or_test_finds_the_unit_nearby(monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    from beltline.link import ble

    found: list[tuple[str, str, int | None]] = []

    async def scan(timeout: float = 5.0) -> list[tuple[str, str, int | None]]:
        return list(found)

    monkeypatch.setattr(ble, "scan", scan)
    assert main(["exercise", "clamshell"]) == 1
    assert "no belt unit" in caplog.text
    found += [("Beltline", "F0:F1:F2:F3:F4:F5", -60), ("Beltline", "F0:F1:F2:F3:F4:F6", -70)]
    assert main(["test", "trendelenburg"]) == 2
    assert "choose one with --address" in caplog.text
    assert main(["exercise", "clamshell", "--address", "F0:F1:F2:F3:F4:F7"]) == 1
    assert "no belt unit at F0:F1:F2:F3:F4:F7" in caplog.text


def test_bad_command_lines_and_bad_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert main(["test", "trendelenburg", "--virtual", "--address", "F0:F1:F2:F3:F4:F5"]) == 2
    assert main(["exercise", "plank", "--virtual"]) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,ax,ay,az,gx,gy,gz\n0,1,2\n")
    assert main(["exercise", "clamshell", "--from", str(bad)]) == 1
    assert "cannot read the numbers" in caplog.text
    assert main(["test", "trendelenburg", "--virtual", "--set", "test_drop_deg=x"]) == 1
    assert "needs a number" in caplog.text


@pytest.mark.parametrize("args", [["test"], ["test", "trendelenburg"], ["exercise"],
                                  ["bench", "exercise"]])
def test_the_new_commands_have_manuals(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "beltline.cli", *args, "--help"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0
    assert "usage: beltline" in proc.stdout
    assert len(proc.stdout.splitlines()) > 5


def test_simulate_writes_an_exercise_scenario_with_its_truth(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    assert main(["simulate", "--scenario", "trendelenburg_test", "--seed", "3", "--out",
                 str(out)]) == 0
    truth = json.loads((out / "truth.json").read_text())
    assert set(truth["legs"]) == {"left", "right"}
    assert (out / "raw.csv").read_text().startswith("t_s,ax,ay,az,gx,gy,gz")


def test_bench_exercise_ends_with_json() -> None:
    proc = subprocess.run([sys.executable, "-m", "beltline.cli", "bench", "exercise", "--sets",
                           "5", "--tests", "2", "--live", "1"], capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["sets"] == 5
    assert res["tests"] == 2
    assert 0 <= res["count_exact"] <= 1
    assert res["flag_f1"] >= 0
    assert set(res["per_mount"]) == {"back", "left", "right", "front", "back-upside-down"}
    # one live set per exercise, scored against the final analysis
    assert sum(int(v.split("/")[1]) for v in res["live_per_exercise"].values()) == 5
    assert 0 <= res["live_equals_final"] <= 1
