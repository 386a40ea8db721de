"""``beltline device flash`` and ``info`` against a fake mpremote that records its arguments
(BELTLINE_MPREMOTE names the command to run instead of ``python -m mpremote``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from beltline.cli import main

FAKE = """\
import json, os, sys
with open(os.environ["FAKE_MPREMOTE_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
for i, a in enumerate(sys.argv):  # keep what would be copied, to check it is real .mpy
    if a == "cp":
        src = sys.argv[i + 1]
        with open(src, "rb") as s, open(os.environ["FAKE_MPREMOTE_LOG"] + "." +
                                        os.path.basename(src), "wb") as d:
            d.write(s.read())
if "exec" in sys.argv and "app.FIRMWARE" in sys.argv[-1]:
    print(json.dumps({"firmware": "0.2.0", "settings": {"mode": 1, "drop_deg": 6.5},
                      "settings_refused": 1, "bonds": 2}))
sys.exit(int(os.environ.get("FAKE_MPREMOTE_RC", "0")))
"""


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "fake_mpremote.py"
    script.write_text(FAKE)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("BELTLINE_MPREMOTE", f"{sys.executable} {script}")
    monkeypatch.setenv("FAKE_MPREMOTE_LOG", str(log))
    return log


def test_flash_copies_compiled_modules_and_main_then_resets(fake: Path,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    assert main(["device", "flash", "--port", "/dev/ttyACM0"]) == 0
    (call,) = [json.loads(x) for x in fake.read_text().splitlines()]
    assert call[:3] == ["connect", "/dev/ttyACM0", "exec"]
    assert "os.remove" in call[3]
    assert "'app.py'" in call[3]
    dests = [call[i + 2] for i, a in enumerate(call) if a == "cp"]
    assert ":main.py" in dests
    assert ":app.mpy" in dests
    assert ":gatt.mpy" in dests
    assert not any(d.endswith(".py") and d != ":main.py" for d in dests)
    assert ":__init__.py" not in dests
    assert call[-1] == "reset"
    mpy = (fake.parent / "calls.log.app.mpy").read_bytes()
    assert mpy[:1] == b"M"  # a MicroPython .mpy file (mpy-cross -march=xtensawin)
    assert "0.2.0" in capsys.readouterr().out


def test_info_prints_the_units_version_settings_and_bonds(
        fake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["device", "info"]) == 0
    out = capsys.readouterr().out
    assert "firmware 0.2.0; 2 bonded host(s)" in out
    assert "mode = 1" in out
    assert "1 stored value(s) were invalid" in out
    (call,) = [json.loads(x) for x in fake.read_text().splitlines()]
    assert call[:3] == ["connect", "auto", "exec"]


def test_a_failing_mpremote_is_a_clear_error(fake: Path, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("FAKE_MPREMOTE_RC", "1")
    assert main(["device", "flash"]) == 1
    assert "is the board connected" in caplog.text
