"""A disk that fills up while Beltline writes: one line naming the file, exit status 1, and no
half-written output left behind. The limit is the kernel's own: a child process whose file-size
limit (RLIMIT_FSIZE) is below what the command writes gets EFBIG from ``write``, as a full disk
gives ENOSPC (both are OSErrors that name no file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from beltline.sessions import rawcsv
from beltline.sim import scenarios
from beltline.sim.wearer import simulate

resource = pytest.importorskip("resource")  # POSIX only
LIMIT = 400_000  # bytes: more than the episodes and steps, less than the samples


def _limited() -> None:
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rec = simulate(scenarios.build("hip_drop_left", 2.0, 5), 100.0, seed=5)
    path = tmp_path_factory.mktemp("rec") / "raw.csv"
    rawcsv.write(path, rawcsv.Raw(rec.t, rec.acc, rec.gyr))
    return path


def _beltline(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "beltline", *args], cwd=cwd,
                          preexec_fn=_limited, capture_output=True, text=True, timeout=300,
                          check=False)


def test_analyze_says_which_file_and_leaves_none(recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    r = _beltline(["analyze", str(recording), "--episodes", "ep.csv", "--steps", "st.csv",
                   "--samples", "sa.csv"], out)
    assert r.returncode == 1, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last == "ERROR beltline: cannot write sa.csv: File too large", r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(os.listdir(out)) == []  # no .part file, no half table


def test_an_export_that_does_not_fit_leaves_no_export(recording: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    ok = subprocess.run([sys.executable, "-m", "beltline", "import", str(recording),
                         "--store", str(store)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    sid = ok.stdout.strip()
    # an earlier export in the same folder: it must not be left looking whole beside new tables
    old = tmp_path / "ex"
    done = subprocess.run([sys.executable, "-m", "beltline", "export", sid, "--out", str(old),
                           "--store", str(store)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (old / "session.json").exists()
    r = _beltline(["export", sid, "--out", str(old), "--store", str(store)], tmp_path)
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"ERROR beltline: cannot write {old}/")
    assert "File too large" in r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(os.listdir(old)) == []


def test_a_whole_file_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    """``privacy.write_text`` (reports, trends) is all or nothing."""
    code = ("import sys; from beltline import privacy\n"
            "try:\n"
            "    privacy.write_text(sys.argv[1], 'x' * 1_000_000)\n"
            "except Exception as e:\n"
            "    print(type(e).__name__, e)\n")
    target = tmp_path / "report.html"
    r = subprocess.run([sys.executable, "-c", code, str(target)], preexec_fn=_limited,
                       capture_output=True, text=True, check=False)
    assert r.stdout.strip() == f"DataError cannot write {target}: File too large", r.stderr
    assert not target.exists()
