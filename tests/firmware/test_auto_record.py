"""Motion-triggered recording (issue 14 item 3): the virtual unit (the firmware's own app under
the real ``micropython`` binary, no host in range) logs only while the belt is worn. The truth
of wear comes from ``sim.table``; what the unit recorded is read back from its logbook file.
Every wait is on the unit's own clock, never a wall-clock window."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from beltline.firmware import logbook

from beltline.cli import main
from beltline.sessions.store import Store
from beltline.sim import offline, table
from beltline.sim.wearer import Recording, Segment, Wearer, simulate
from conftest import run_script

pytestmark = pytest.mark.usefixtures("micropython")

RATE = 104.0
STOP_S = 60.0  # the stop time the tests set (config stop_s): a short day
PRETRIGGER_S = 8.0  # firmware app.PRETRIGGER_S


def _run(rec: Recording, tmp: Path, settings: dict[str, Any] | None = None
         ) -> tuple[np.ndarray, dict[str, Any]]:
    """The unit records ``rec`` with no host; returns the logged sample ticks (sorted, unique)
    and the unit's figures."""
    flash = tmp / "flash"
    flash.mkdir()
    (flash / "settings.json").write_text(json.dumps(settings or {"stop_s": STOP_S}))

    async def run() -> tuple[list[int], dict[str, Any]]:
        walk = await offline.walk_without_host(rec, "auto test", 7, flash=flash)
        try:
            ticks = offline.logbook_ticks(walk.unit.flash / "logbook.bin")
        finally:
            report = await walk.close()
        return ticks, report

    ticks, report = asyncio.run(run())
    assert report["step_failures"] == 0
    assert report["cfg_refused"] == 0
    return np.array(sorted(set(ticks)), dtype=np.int64), report


def test_a_day_table_wear_table_records_the_worn_part_only(tmp_path: Path) -> None:
    day = table.day("table_day", 1.0, seed=3, rate_hz=RATE, stop_s=STOP_S)
    assert day.worn is not None
    assert day.rec.steps
    ticks, r = _run(day.rec, tmp_path)
    assert (r["auto_starts"], r["auto_stops"]) == (1, 1)  # two knocks before, one after: no start
    assert not r["recording"]
    assert np.all(np.diff(ticks) == 1)  # one unbroken record
    t0, t1 = ticks[0] / RATE, ticks[-1] / RATE  # (the unit's clock: within 0.1 % of true time)
    picked, put_down = day.worn
    # the record starts at most the pre-trigger before the belt was picked up ...
    assert picked - PRETRIGGER_S - 1.0 <= t0 <= picked
    # ... the recording itself started within a few seconds of it (the pre-trigger covers it)
    assert t0 + PRETRIGGER_S <= picked + 6.0
    # every step is in the record, the first ones too
    first_step, last_step = day.rec.steps[0][0], day.rec.steps[-1][0]
    assert t0 < first_step
    assert last_step < t1
    # and it stopped within the configured time of being put down (a knock there changes
    # nothing), keeping what was logged until then
    assert put_down + STOP_S - 2.0 <= t1 <= put_down + STOP_S + 3.0
    assert r["logged"] * 14 >= len(ticks)


def _desk_day() -> Recording:
    # worn from the start: standing still for minutes, then seated at a desk with a third of
    # the textbook sway (0.1 deg RMS), then a few steps
    segs = [Segment("walk", 15.0), Segment("stand", 150.0), Segment("sit_down", 2.5),
            Segment("sit", 180.0), Segment("stand_up", 2.5), Segment("walk", 10.0)]
    return simulate(segs, RATE, seed=5, wearer=Wearer(sway_deg=0.1), mount="left")


def test_standing_or_sitting_still_for_minutes_does_not_stop_the_recording(
        tmp_path: Path) -> None:
    rec = _desk_day()
    ticks, r = _run(rec, tmp_path)
    assert (r["auto_starts"], r["auto_stops"]) == (1, 0)
    assert r["recording"]
    assert np.all(np.diff(ticks) == 1)
    assert ticks[0] == 0  # the pre-trigger kept the first seconds: the calibration's samples
    # everything to the unit's last full packet (at most one packet is still being filled)
    assert ticks[-1] >= len(rec.t) - 1 - 14 * 2


@pytest.mark.parametrize(("name", "seed"), [("table_knocks", 1), ("table_vibration", 2)])
def test_a_belt_on_a_table_never_starts_a_recording(tmp_path: Path, name: str,
                                                    seed: int) -> None:
    day = table.day(name, 6.0, seed=seed, rate_hz=RATE)
    assert day.worn is None
    assert day.plan.knocks or day.plan.vibrations
    ticks, r = _run(day.rec, tmp_path, {})  # the default settings
    assert r["auto"] == 1
    assert r["motion_windows"] > 300
    assert r["auto_starts"] == 0
    assert len(ticks) == 0
    assert r["logged"] == 0


def test_auto_record_off_logs_everything_as_before(tmp_path: Path) -> None:
    day = table.day("table_knocks", 1.0, seed=4, rate_hz=RATE)
    ticks, r = _run(day.rec, tmp_path, {"auto": 0})
    assert r["auto"] == 0
    assert r["auto_starts"] == 0
    assert ticks[0] == 0
    assert np.all(np.diff(ticks) == 1)
    # all but the stream's last packet (not full yet) and the logbook's open record (written
    # when full: at most one record of 1-byte codes for 8 channels after the absolute sample)
    open_record = (logbook.MAX_RECORD - logbook.HEAD - 16) // 8 + 1
    assert len(ticks) >= len(day.rec.t) - 14 - open_record


def test_sync_of_a_table_day_yields_one_session_of_the_worn_part(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    args = ["sync", "--virtual", "--scenario", "table_day", "--minutes", "1", "--seed", "2",
            "--store", str(db), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    res = json.loads(out.strip().splitlines()[-1])
    assert len(res["sessions"]) == 1
    day = table.day("table_day", 1.0, 2, RATE)  # the same day (same arguments)
    assert day.worn is not None
    with Store(db) as store:
        (info,) = [i for i in store.sessions() if i.source == "sync"]
    worn_s = day.worn[1] - day.worn[0]
    # the worn part, plus at most the pre-trigger before and the default stop time after
    assert worn_s <= info.duration_s <= worn_s + PRETRIGGER_S + table.STOP_S + 3.0
    # (syncing twice adds nothing: tests/sessions/test_sync.py)


def test_wear_detector_cost_and_commands_on_micropython(micropython: str) -> None:
    out = run_script([micropython, "-X", "heapsize=4M"], "run_wear.py")
    v = dict(re.findall(r"^(\w+)=(.*)$", out, flags=re.M))
    # 3 boxed floats per sample (the sums) and the block and window work spread over them
    assert float(v["wear_blocks_per_sample"]) <= 4.5
    assert float(v["wear_to_stream_time"]) < 0.15  # a small share of the sample path
    assert v["auto_cmd"] == "(12, (0, 120.0))"
    assert v["auto_bad"] == "None None None None"
    assert v["cfg_bad_refused"] == "4"
    assert v["still_level"] == "0"
    assert v["worn_level"] == "2"
