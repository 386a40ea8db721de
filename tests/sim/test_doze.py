"""The belt unit's doze (``firmware/doze.py``) on the virtual unit — the firmware under the real
``micropython`` binary — left alone with no host: who dozes and who stays awake. Waits are on
the unit's own clock, never on a wall-clock window."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from beltline.firmware import app, config, doze

from beltline.sim import offline
from beltline.sim.devicesim import recording
from beltline.sim.unit import ODR

pytestmark = pytest.mark.usefixtures("micropython")


def _alone(tmp_path: Path, seconds: float, imu: str, **settings: Any) -> dict[str, Any]:
    """The unit's figures after ``seconds`` of walking with no host (then a button press)."""
    flash = tmp_path / "flash"
    flash.mkdir()
    cfg = dict(config.DEFAULTS, **settings)
    (flash / "settings.json").write_text(json.dumps(cfg))
    rec = recording(seconds, ODR[imu], "healthy_walk", 7)

    async def run() -> dict[str, Any]:
        walk = await offline.walk_without_host(rec, "doze test", 77, imu=imu, flash=flash)
        return await walk.close()

    return asyncio.run(run())


def test_training_mode_stays_awake_for_the_alerts(tmp_path: Path) -> None:
    r = _alone(tmp_path, app.PAIRING_WINDOW_S + 40.0, "lsm6dso", mode=1)
    assert r["mode"] == 1
    assert r["doze_sleeps"] == 0  # the alerts need the 25-Hz polls: never dozes
    assert r["samples"] >= int((app.PAIRING_WINDOW_S + 40.0) * 104) - 1


def test_the_mpu6050s_small_fifo_is_read_in_time_while_dozing(tmp_path: Path) -> None:
    seconds = app.PAIRING_WINDOW_S + 40.0
    r = _alone(tmp_path, seconds, "mpu6050")
    assert doze.Doze(100.0, 85).poll_ms == 425  # half its 0.85-s FIFO
    assert r["doze_sleeps"] > 40 / 0.425 * 0.5  # it dozed ...
    assert r["imu_overruns"] == 0  # ... and its FIFO never overflowed
    assert r["samples"] >= int(seconds * 100) - 1


def test_the_doze_plan() -> None:
    d = doze.Doze(100.0)
    assert d.plan(0, quiet=True, linked=False) == doze.SLEEP  # nothing needs it awake
    assert d.plan(10, quiet=False, linked=False) == doze.AWAKE  # (the pairing window...)
    assert d.plan(20, quiet=True, linked=True) == doze.AWAKE  # a host: awake ...
    after = 20 + doze.AWAKE_AFTER_LINK_S * 100
    assert d.plan(after - 1, quiet=True, linked=False) == doze.AWAKE  # ... a minute after
    states = [d.plan(after + k, quiet=True, linked=False)
              for k in range(doze.PERIOD_S * 100 * 3)]
    share = states.count(doze.WINDOW) / len(states)
    assert share == pytest.approx(doze.WINDOW_S / doze.PERIOD_S)
    assert states[0] == doze.SLEEP
    assert d.windows == 3
