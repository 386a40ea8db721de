"""Small mistakes on the command line: one clear line, the right exit status (2 for a command
line that cannot work, said before any work starts; 1 for a runtime problem), no traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from beltline.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("mistakes")
    (d / "raw.csv").write_text("t_s,ax,ay,az,gx,gy,gz\n0,0,0,9.81,0,0,0\n")
    (d / "truth.csv").write_text("t_s,obliquity_deg\n0,0\n")
    (d / "folder").mkdir()
    return d


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s.getsockname()[1]
    s.close()


MISTAKES = [
    (["analyze", "{d}/raw.csv", "--episodes", "{d}/nowhere/ep.csv"], 2,
     "folder {d}/nowhere does not exist; create it first"),
    (["analyze", "{d}/folder", "--episodes", "{d}/ep.csv"], 2, "is a folder, not a file"),
    (["analyze", "{d}/raw.csv", "--episodes", "{d}/folder"], 2,
     "is a folder; give a file name in it"),
    (["analyze", "{d}/raw.csv", "--episodes", "/proc/ep.csv"], 2, "cannot write in /proc"),
    (["analyze", "{d}/truth.csv", "--episodes", "{d}/ep.csv"], 1, "missing column(s)"),
    (["analyze", "{d}/raw.csv", "--episodes", "{d}/ep.csv", "--set", "nope=1"], 1,
     "unknown setting 'nope'"),
    (["monitor", "--virtual", "--speed", "-1"], 2, "argument --speed: must be > 0.0, got -1"),
    (["monitor", "--virtual", "--port", "70000"], 2, "--port: must be 1 to 65535, got 70000"),
    (["monitor", "--virtual", "--minutes", "0"], 2, "--minutes: must be > 0.0, got 0"),
    (["monitor", "--virtual", "--seed", "-3"], 2, "--seed: must be >= 0, got -3"),
    (["monitor", "--virtual", "--host", "0.0.0.0"], 2, "add --allow-network"),
    (["monitor", "--virtual", "--no-browser", "--port", "{port}"], 1,
     "is already in use (another program, or another `beltline monitor`): choose another "
     "one with --port"),
    (["report", "{d}/folder", "--out", "{d}/r.html"], 2, "is a folder but not a Beltline export"),
    (["report", "{d}/nothing.csv", "--out", "{d}/r.html"], 2, "nothing.csv not found"),
    (["report", "1", "--out", "{d}/nowhere/r.html"], 2, "does not exist; create it first"),
    (["report", "7", "--out", "{d}/r.html", "--store", "{d}/empty.db"], 1,
     "no session 7 in"),
    (["report", "1", "--out", "{d}/r.html", "--store", "{d}/folder"], 2,
     "--store: {d}/folder is a folder; the store is a file"),
    (["trends", "--out", "{d}/t.html", "--csv", "{d}/nowhere/t.csv"], 2, "does not exist"),
    (["export", "1", "--out", "{d}/raw.csv"], 2, "raw.csv is a file, not a folder"),
    (["export", "0", "--out", "{d}/exp"], 2, "SESSION: must be >= 1, got 0"),
    (["import", "{d}/nothing"], 2, "nothing not found"),
    (["sessions", "--store", "{d}/raw.csv/b.db"], 2, "raw.csv is a file"),
    (["simulate", "--seed", "-1"], 2, "--seed: must be >= 0, got -1"),
    (["simulate", "--out", "{d}/raw.csv"], 2, "raw.csv is a file, not a folder"),
    (["device", "simulate", "--seconds", "-5"], 2, "--seconds: must be > 0.0, got -5"),
    (["bench", "report", "--hours", "0"], 2, "--hours: must be > 0.0, got 0"),
    (["bench", "dashboard", "--speed", "0"], 2, "--speed: must be > 0.0, got 0"),
]


@pytest.mark.parametrize(("args", "code", "message"), MISTAKES,
                         ids=[" ".join(m[0][:2]) + f"-{i}" for i, m in enumerate(MISTAKES)])
def test_a_small_mistake_is_one_line_and_an_exit_status(
        args: list[str], code: int, message: str, files: Path, busy_port: int,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    if "/proc/ep.csv" in args and not Path("/proc").is_dir():
        pytest.skip("needs Linux's /proc (a folder nothing can be written in)")
    fill = {"d": str(files), "port": str(busy_port)}
    argv = [a.format(**fill) for a in args]
    assert main(argv) == code
    err = capsys.readouterr().err + caplog.text
    assert "Traceback" not in err
    want = message.format(**fill)
    said = [line for line in err.splitlines() if want in line]
    assert len(said) == 1, err  # one line says it
    assert not list(files.glob("*.html"))
    assert not (files / "ep.csv").exists()


def test_a_headless_machine_is_told_to_open_the_page(tmp_path: Path) -> None:
    """No display, no $BROWSER: no browser is tried, the URL is given; Ctrl-C ends cleanly."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                              "BROWSER")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "beltline.cli", "monitor", "--virtual", "--minutes", "0.5",
         "--port", str(free_port()), "--store", str(tmp_path / "b.db")], env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert lines[0].startswith("Beltline dashboard: http://127.0.0.1:"), lines
        url = lines[0].split()[2]
        assert lines[1].startswith(f"No browser could be opened on this machine: open {url}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode in (0, 130), err
    assert "Traceback" not in err


def test_the_page_is_refused_to_a_foreign_host_on_the_real_command(tmp_path: Path) -> None:
    """`beltline monitor --virtual`, as launched: a rebinding domain in Host and a foreign
    Origin are refused with 403 and no data."""
    import http.client
    import json

    proc = subprocess.Popen(
        [sys.executable, "-m", "beltline.cli", "monitor", "--virtual", "--minutes", "0.5",
         "--port", str(free_port()), "--no-browser", "--store", str(tmp_path / "b.db")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[2]
        port = int(url.rstrip("/").rsplit(":", 1)[1])

        def ask(method: str, path: str, headers: dict[str, str], body: bytes | None = None
                ) -> tuple[int, bytes]:
            for _ in range(50):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    c.request(method, path, body=body, headers=headers)
                    r = c.getresponse()
                    return r.status, r.read()
                except ConnectionRefusedError:
                    time.sleep(0.1)
            raise AssertionError("the server never answered")

        status, body = ask("GET", "/", {"Host": f"rebind.example:{port}"})
        assert status == 403
        assert b"Beltline" not in body
        assert b"_dash" not in body
        status, _page = ask("GET", "/", {"Host": f"127.0.0.1:{port}"})
        assert status == 200
        call = json.dumps({"output": "pick.options", "outputs": {"id": "pick",
                                                                 "property": "options"},
                           "inputs": [], "changedPropIds": []}).encode()
        status, body = ask("POST", "/_dash-update-component",
                           {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example",
                            "Content-Type": "application/json"}, call)
        assert status == 403
        assert b"session" not in body.lower().replace(b"forbidden", b"")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
