"""Packaging: the licence and the version said once, every import declared, and the main job
running without the heavy extras (h5py for the BROAD benchmark, pyarrow for Parquet)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import signal
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest

import beltline
from beltline.cli import main

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
# code that runs under MicroPython, not CPython: its imports (machine, bluetooth) are the board's
MICROPYTHON_CODE = ("host/src/beltline/sim/hardware/", "host/src/beltline/bench/scripts/")
# the optional packages and the extra that brings each
EXTRAS = {"h5py": "bench", "pyarrow": "parquet"}


def _dist(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert name, requirement
    return re.sub(r"[-_.]+", "-", name.group(0)).lower()


def _third_party_imports() -> dict[str, list[str]]:
    """Top-level names imported by the host package and session review (anywhere in a module,
    lazy imports too), with the files that import each; stdlib and beltline left out."""
    found: dict[str, list[str]] = {}
    for folder in ("host/src/beltline", "analysis"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(MICROPYTHON_CODE):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in ("beltline",
                                                                          "__future__"):
                        found.setdefault(top, []).append(rel)
    return found


def test_every_third_party_import_is_a_declared_dependency() -> None:
    declared = {_dist(r) for r in PROJECT["dependencies"]}
    for reqs in PROJECT["optional-dependencies"].values():
        declared |= {_dist(r) for r in reqs}
    provided = importlib.metadata.packages_distributions()
    imports = _third_party_imports()
    assert {"numpy", "waitress", "h5py", "pyarrow"} <= imports.keys()  # the scan sees them
    missing = {}
    for module, files in imports.items():
        # a package not installed here (mpremote, of the device extra) is named as it imports
        dists = {_dist(d) for d in provided.get(module, [module])}
        if not dists & declared:
            missing[module] = sorted(set(files))
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_the_heavy_packages_are_extras_not_dependencies() -> None:
    core = {_dist(r) for r in PROJECT["dependencies"]}
    for package, extra in EXTRAS.items():
        assert package not in core
        assert package in {_dist(r) for r in PROJECT["optional-dependencies"][extra]}
    # the test extra pulls every extra the suite needs, so `pip install -e ".[test]"` runs it all
    assert "beltline[bench,parquet]" in PROJECT["optional-dependencies"]["test"]


def test_the_version_is_defined_once() -> None:
    assert "version" not in PROJECT
    assert PROJECT["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "beltline.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", beltline.__version__)
    definitions = [p for p in (ROOT / "host" / "src").rglob("*.py")
                   if re.search(r"^__version__\s*=", p.read_text(encoding="utf-8"), re.M)]
    assert definitions == [ROOT / "host" / "src" / "beltline" / "__init__.py"]
    assert importlib.metadata.version("beltline") == beltline.__version__, (
        "the installed metadata is stale: pip install -e .")


def test_the_licence_file_matches_pyproject() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "MIT License"
    assert "Copyright (c) 2026 Beltline contributors" in text
    assert "Permission is hereby granted, free of charge" in text


def test_parquet_export_without_pyarrow_says_how_to_get_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what `import pyarrow` does when absent
    out = tmp_path / "export"
    # the check comes before any work, so an empty store is enough to see it
    assert main(["export", "1", "--out", str(out), "--parquet",
                 "--store", str(tmp_path / "b.db")]) == 1
    assert "Parquet export needs pyarrow: pip install 'beltline[parquet]'" in caplog.text
    assert "Traceback" not in caplog.text
    assert not out.exists()  # nothing half-written


def test_broad_benchmark_without_h5py_says_how_to_get_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "10_undisturbed_slow_translation_A.hdf5").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "h5py", None)
    assert main(["bench", "fusion", "--data", str(tmp_path), "--trials", "10"]) == 1
    assert "the BROAD benchmark needs h5py: pip install 'beltline[bench]'" in caplog.text


# Runs `beltline` with the extras' packages unimportable, exactly as in an install without them.
WITHOUT_EXTRAS = (
    "import sys\n"
    f"for name in {sorted(EXTRAS)!r}:\n"
    "    sys.modules[name] = None\n"
    "from beltline.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _beltline_without_extras(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS, *args], capture_output=True,
                          text=True, timeout=600, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_the_main_job_needs_no_extra(tmp_path: Path) -> None:
    sim, store = tmp_path / "sim", str(tmp_path / "b.db")
    assert _beltline_without_extras("simulate", "--scenario", "hip_drop_left", "--minutes", "1",
                                    "--out", str(sim)).returncode == 0
    proc = _beltline_without_extras("analyze", str(sim / "raw.csv"), "--episodes",
                                    str(tmp_path / "ep.csv"), "--steps", str(tmp_path / "st.csv"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ep.csv").read_text().startswith("kind,side,start_s,end_s")
    assert len((tmp_path / "st.csv").read_text().splitlines()) > 50  # a minute of steps
    assert _beltline_without_extras("import", str(sim / "raw.csv"), "--store",
                                    store).returncode == 0
    assert _beltline_without_extras("export", "1", "--out", str(tmp_path / "csv"), "--store",
                                    store).returncode == 0
    proc = _beltline_without_extras("export", "1", "--out", str(tmp_path / "pq"), "--parquet",
                                    "--store", store)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "ERROR beltline: Parquet export needs pyarrow: pip install 'beltline[parquet]'")


def test_monitor_virtual_needs_no_extra(tmp_path: Path, free_port: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WITHOUT_EXTRAS, "monitor", "--virtual", "--minutes", "0.2",
         "--speed", "20", "--no-browser", "--port", str(free_port), "--store",
         str(tmp_path / "b.db")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(300, proc.kill)  # a hang fails instead of blocking the suite
    watchdog.start()
    try:
        assert proc.stderr is not None
        log = []
        for line in proc.stderr:  # wait on the state: the walk has ended
            log.append(line)
            if "the walk has ended" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
        proc.kill()
    text = "".join(log) + err
    assert proc.returncode == 0, text
    assert "Traceback" not in text
    assert f"Beltline dashboard: http://127.0.0.1:{free_port}/" in out


@pytest.fixture
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
