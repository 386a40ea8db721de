"""Real lower-back recordings (Voisard et al., IPOL 2023): heel strikes, sides, no episodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from beltline import analyze
from beltline.bench.detection import TOLERANCE_S, load_walker


def test_heel_strikes_sides_and_no_episodes_on_healthy_walkers(walkers_dir: Path) -> None:
    files = sorted(walkers_dir.glob("*-[36]_lb.txt"))  # two trials of every subject
    assert len(files) >= 10
    tp = fp = fn = right = 0
    for f in files:
        raw, truth, (a, b) = load_walker(f)
        res = analyze.run(raw)
        assert res.episodes == [], f.name  # healthy walkers: nothing sustained
        truth = [x for x in truth if a - TOLERANCE_S <= x[0] <= b + TOLERANCE_S]
        det = [x for x in res.steps if a - TOLERANCE_S <= x[0] <= b + TOLERANCE_S]
        dt = np.array([d for d, _ in det])
        used: set[int] = set()
        for h, side in truth:
            j = int(np.argmin(np.abs(dt - h))) if len(dt) else -1
            if j >= 0 and j not in used and abs(dt[j] - h) <= TOLERANCE_S:
                used.add(j)
                tp += 1
                right += det[j][1] == side
        fp += len(det) - len(used)
        fn += len(truth) - len(used)
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert f1 > 0.92
    assert right / tp > 0.97
