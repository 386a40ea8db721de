"""No control command and no settings file can stop the belt unit's sampler: 10^5 mutated
control writes and 10^4 settings files, inside one real MicroPython process."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from conftest import run_script


def test_control_and_config_fuzz_keep_the_sampler_and_watchdog_running(
        micropython: str, tmp_path: Path) -> None:
    shm = Path("/dev/shm")  # many small writes: in memory where the system has it
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else tmp_path) as d:
        out = run_script([micropython, "-X", "heapsize=4M"], "fuzz_control.py", "100000", "7",
                         d, "10000")
    v = dict(re.findall(r"^(\w+)=(.*)$", out, flags=re.M))
    assert int(v["command_cases"]) == 100_000
    assert v["stalled"] == "False"  # samples and watchdog feeds rose after every 1250 cases
    assert v["bad_cfg"] == "False"  # the live settings were valid after every batch
    assert int(v["step_failures"]) == 0
    assert int(v["failures"]) == 0
    assert int(v["wdt_feeds"]) == int(v["polls"]) > 0
    assert int(v["applied"]) > 1000  # valid commands among the noise still took effect
    assert int(v["refused"]) > 50_000
    assert v["cfg_valid"] == v["saved_valid"] == "True"
    assert int(v["config_cases"]) == 10_000
    assert int(v["config_valid"]) == 10_000  # every loaded setting within its limits
    assert int(v["config_refused_values"]) > 0
    assert int(v["config_kept_good"]) > 0  # good values next to bad ones were kept
    assert int(v["config_boots"]) == 20
    assert "boot_failed_at" not in v
