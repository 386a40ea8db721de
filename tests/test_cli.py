"""The ``beltline`` command as a person runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from beltline.cli import main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "beltline.cli", *args], capture_output=True,
                          text=True, timeout=600, check=False)


@pytest.mark.parametrize("args", [
    [], ["bench"], ["bench", "fusion"], ["bench", "detection"], ["bench", "pipeline"],
    ["bench", "sim"], ["bench", "gait"], ["bench", "report"], ["bench", "dashboard"],
    ["bench", "power"],
    ["device"], ["device", "simulate"], ["device", "flash"], ["report"], ["trends"],
    ["monitor"], ["analyze"], ["simulate"], ["sessions"], ["export"], ["import"]])
def test_every_command_has_a_manual(args: list[str]) -> None:
    proc = _run(*args, "--help")
    assert proc.returncode == 0
    assert "usage: beltline" in proc.stdout
    assert len(proc.stdout.splitlines()) > 5


def test_bench_fusion_prints_a_table_then_one_json_line(broad_dir: Path) -> None:
    proc = _run("bench", "fusion", "--data", str(broad_dir), "--trials", "10", "--rate", "100")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert "beltline_deg" in lines[0]
    summary = json.loads(lines[-1])
    for key in ("inclination_rmse_deg", "vqf_inclination_rmse_deg", "trials", "rate_hz",
                "micropython_us_per_update", "cpython_us_per_update"):
        assert summary[key] is not None, key
    assert summary["trials"] == ["10_undisturbed_slow_translation_A"]
    # accuracy on this trial: measured 0.290 deg (VQF 0.290)
    assert summary["inclination_rmse_deg"] <= 1.02 * summary["vqf_inclination_rmse_deg"]
    assert summary["micropython_us_per_update"] > 0
    assert summary["cpython_us_per_update"] > 0
    assert 0 < summary["micropython_heap_blocks_per_update"] <= 120


def test_missing_data_is_a_clear_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert main(["bench", "fusion", "--data", str(tmp_path / "nowhere")]) == 1
    assert "BROAD data folder not found" in caplog.text


def test_bad_trial_list_is_refused() -> None:
    proc = _run("bench", "fusion", "--trials", "ten")
    assert proc.returncode == 2
    assert "expected trial numbers" in proc.stderr


def test_bench_detection_and_pipeline_end_with_json(tmp_path: Path) -> None:
    proc = _run("bench", "detection", "--sessions", "2", "--minutes", "2", "--walkers",
                str(tmp_path / "none"))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(result["virtual"]) >= {"hip_drop", "anterior_tilt", "pelvic_obliquity"}
    assert result["walkers"] is None
    assert "walkers suite skipped" in proc.stderr
    proc = _run("bench", "pipeline", "--minutes", "2", "--hours", "0", "--days", "0.02",
                "--repeats", "1")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["batch_samples_per_s"] > 0
    assert result["live_us_per_sample"] > 0
    assert result["analyze_vs_floor"] > 0
    assert result["analyze_samples_vs_floor"] > 0
    assert 0 < result["peak_mib_1h"] < 2000
    assert 0 < result["peak_mib_week"] < 2000
    assert result["week_rows"] >= 0.02 * 86400 * 90  # the long file really was that long


def test_bench_sim_ends_with_json() -> None:
    proc = _run("bench", "sim", "--minutes", "2", "--seconds", "2")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["realtime_packets"] > 0
    assert 0 < result["realtime_total_core_share"] < 1


def test_version_from_the_command_and_python_m() -> None:
    from beltline import __version__

    # the console script pip installs beside this interpreter (the project's venv)
    script = Path(sys.executable).with_name("beltline")
    assert script.exists(), f"{script} missing: pip install -e ."
    for cmd in ([str(script), "--version"], [sys.executable, "-m", "beltline", "--version"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == f"beltline {__version__}\n", cmd


def test_each_command_is_built_by_the_group_that_registers_it() -> None:
    """``beltline CMD`` builds only CMD's group (start-up cost): the table must say which."""
    import argparse

    from beltline import cli

    for module in cli.COMMANDS:
        p = argparse.ArgumentParser()
        sub = p.add_subparsers()
        module.register(sub)
        for name in sub.choices:
            assert cli.GROUP_OF[name] is module, name
    full = cli.build_parser()
    names = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(names) == set(cli.GROUP_OF)


def test_analyze_imports_only_its_own_command(tmp_path: Path) -> None:
    """Start-up cost: ``beltline analyze`` (off a terminal) imports neither the other commands
    nor what only they need (asyncio, sqlite3) nor the progress bar it would not show."""
    from beltline.sessions import rawcsv
    from beltline.sim import scenarios, wearer

    rec = wearer.simulate(scenarios.build("healthy_walk", 1.0, 2), 100.0, seed=2)
    raw = tmp_path / "raw.csv"
    rawcsv.write(raw, rawcsv.Raw(rec.t, rec.acc, rec.gyr))
    code = ("import sys\n"
            "from beltline.cli import main\n"
            f"code = main(['analyze', {str(raw)!r}, '--episodes', {str(tmp_path / 'e.csv')!r}])\n"
            "print(code, sorted(m for m in ('asyncio', 'sqlite3', 'tqdm', 'beltline.cli.sync', "
            "'beltline.cli.sessions', 'beltline.cli.device') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"


def test_a_session_store_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    import sqlite3

    from beltline.cli import analyze

    def fail(_args: object) -> None:
        raise sqlite3.OperationalError("database is locked\nsecond line")

    monkeypatch.setattr(analyze, "run", fail)
    raw = tmp_path / "raw.csv"
    raw.write_text("t_s,ax,ay,az,gx,gy,gz\n")
    assert main(["analyze", str(raw), "--episodes", str(tmp_path / "e.csv")]) == 1
    assert "session store: database is locked" in caplog.text
    assert "second line" not in caplog.text
