"""Readers for recordings in other formats than the common raw CSV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from beltline.sessions import rawcsv


def load_walker(path: Path) -> tuple[rawcsv.Raw, list[tuple[float, str]],
                                     tuple[float, float]]:
    """One lower-back walker trial: raw data on its own clock (``PacketCounter`` / 100 Hz, so
    the recorder's dropped packets are real holes), the heel strikes with the striking foot,
    and the trial's walking span (start, end) in s."""
    a = np.loadtxt(path, skiprows=2)
    meta = json.loads(path.with_name(path.name.replace("_lb.txt", ".json")).read_text())
    t = a[:, 0] / 100.0
    raw = rawcsv.Raw(t, a[:, 1:4], a[:, 4:7])
    truth = sorted([(e[1] / 100.0, "left") for e in meta["LeftFootEvents"]]
                   + [(e[1] / 100.0, "right") for e in meta["RightFootEvents"]])
    a, b = (x / 100.0 for x in meta["TrialBoundaries"])
    return raw, [x for x in truth if x[0] <= t[-1]], (a, b)
