"""``beltline bench gait``: steps and cadence against references on real recordings.

- ``../shared/data/lowerback-walks`` (Voisard et al., IPOL 2023, AGPL-3.0): per trial, the
  cadence over the labelled walk from Beltline's heel strikes against the foot sensors' heel
  strikes, and the step counts.
- GaitPy's own lower-back demo recording (Czech & Patel 2019, MIT; the PyPI ``gaitpy`` wheel
  ships ``gaitpy/demo/demo_data.csv``, a GENEActiv at 50 Hz, accelerometer only, and the
  published ``demo_gait_features.csv``): per gait bout that GaitPy found, its step count and
  mean cadence against Beltline's accelerometer-only strikes in the same bout
  (``gait.strikes_without_gyro``; no gyroscope means no stance side and no angles).
  Install the data with ``pip install --no-deps gaitpy`` (its code's pinned dependencies are
  not needed: only the two files are read).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import statistics
from pathlib import Path

import numpy as np
from tqdm import tqdm

from beltline.frames import GRAVITY_MS2 as G
from beltline.pipeline.evaluation import TOLERANCE_S
from beltline.pipeline.gait import strikes_without_gyro
from beltline.sessions import analyze
from beltline.sessions.readers import load_walker

log = logging.getLogger(__name__)


def _cadence(times: list[float]) -> float:
    """Steps per minute from the median interval between consecutive strikes (0.3-1.3 s):
    robust to a missed strike or a stop, the same rule for Beltline and the reference."""
    d = np.diff(np.asarray(times, float))
    d = d[(d >= 0.3) & (d <= 1.3)]
    return 60.0 / float(np.median(d)) if len(d) >= 2 else float("nan")


def walkers(data_dir: Path) -> dict[str, object]:
    errs, counts = [], []
    for f in tqdm(sorted(data_dir.glob("*_lb.txt")), desc="walkers", unit="trial"):
        raw, truth, (a, b) = load_walker(f)
        res = analyze.run(raw)
        ref = [t for t, _ in truth if a - TOLERANCE_S <= t <= b + TOLERANCE_S]
        ours = [t for t, _ in res.steps if a - TOLERANCE_S <= t <= b + TOLERANCE_S]
        c_ref, c_ours = _cadence(ref), _cadence(ours)
        if c_ref == c_ref and c_ours == c_ours:
            errs.append(100.0 * (c_ours - c_ref) / c_ref)
        counts.append((len(ours), len(ref)))
    abs_err = [abs(e) for e in errs]
    return {"trials": len(errs), "cadence_error_pct_median": round(statistics.median(errs), 2),
            "cadence_abs_error_pct_median": round(statistics.median(abs_err), 2),
            "cadence_within_3pct": round(sum(e <= 3.0 for e in abs_err) / len(abs_err), 3),
            "steps_ours": sum(c[0] for c in counts), "steps_reference": sum(c[1] for c in counts)}


def gaitpy_files(folder: Path | None) -> tuple[Path, Path] | None:
    if folder is None:
        spec = importlib.util.find_spec("gaitpy")
        if spec is None or not spec.submodule_search_locations:
            return None
        folder = Path(next(iter(spec.submodule_search_locations))) / "demo"
    data, feats = folder / "demo_data.csv", folder / "demo_gait_features.csv"
    return (data, feats) if data.exists() and feats.exists() else None


def gaitpy(data: Path, feats: Path) -> dict[str, object]:
    import pandas as pd

    raw = pd.read_csv(data, skiprows=99, names=["ts", "x", "y", "z"], usecols=[0, 1, 2, 3])
    stamp = pd.to_datetime(raw["ts"], format="%Y-%m-%d %H:%M:%S:%f")
    t = ((stamp - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(float)  # unix s
    acc = raw[["x", "y", "z"]].to_numpy(float) * G
    ours = np.array(strikes_without_gyro(t, acc))
    f = pd.read_csv(feats)
    rows = []
    for _, bout in f.groupby("bout_number"):
        ics = bout["IC"].to_numpy() / 1000.0
        start = pd.Timestamp(bout["bout_start_time"].iloc[0]).value / 1e9
        end = start + float(bout["bout_length_sec"].iloc[0])
        mine = ours[(ours >= start) & (ours <= end)]
        matched = sum(np.min(np.abs(mine - x)) <= 0.2 for x in ics) if len(mine) else 0
        rows.append({"bout": int(bout["bout_number"].iloc[0]),
                     "gaitpy_steps": int(bout["steps"].iloc[0]), "beltline_steps": len(mine),
                     "gaitpy_cadence": float(bout["cadence"].mean()),
                     "beltline_cadence": _cadence(list(mine)),
                     "ics_matched_200ms": int(matched), "gaitpy_ics": len(ics)})
    df = pd.DataFrame(rows)
    err = 100 * (df["beltline_cadence"] - df["gaitpy_cadence"]) / df["gaitpy_cadence"]
    return {"bouts": len(df), "gaitpy_steps": int(df["gaitpy_steps"].sum()),
            "beltline_steps": int(df["beltline_steps"].sum()),
            "cadence_error_pct_median": round(float(err.median()), 2),
            "cadence_abs_error_pct_median": round(float(err.abs().median()), 2),
            "gaitpy_ics_matched_within_200ms": round(
                float(df["ics_matched_200ms"].sum() / df["gaitpy_ics"].sum()), 3),
            "per_bout": df.round(2).to_dict("records")}


def main(walkers_dir: Path, gaitpy_dir: Path | None) -> dict[str, object]:
    logging.getLogger("beltline.pipeline").setLevel(logging.WARNING)  # one line per trial
    result: dict[str, object] = {}
    if walkers_dir.is_dir():
        result["walkers"] = walkers(walkers_dir)
    else:
        log.warning("walkers skipped: %s not found", walkers_dir)
    files = gaitpy_files(gaitpy_dir)
    if files:
        result["gaitpy_demo"] = gaitpy(*files)
    else:
        log.warning("GaitPy demo skipped: not found (pip install --no-deps gaitpy)")
    w = result.get("walkers")
    if isinstance(w, dict):
        print(f"walkers ({w['trials']} trials): cadence error median "
              f"{w['cadence_error_pct_median']} %, |error| median "
              f"{w['cadence_abs_error_pct_median']} %, within 3 %: "
              f"{100 * w['cadence_within_3pct']:.0f} % of trials; steps {w['steps_ours']} vs "
              f"{w['steps_reference']}")
    gp = result.get("gaitpy_demo")
    if isinstance(gp, dict):
        print(f"GaitPy demo ({gp['bouts']} bouts, accelerometer only): steps "
              f"{gp['beltline_steps']} vs GaitPy {gp['gaitpy_steps']}, cadence |error| median "
              f"{gp['cadence_abs_error_pct_median']} %, GaitPy's contacts matched within "
              f"200 ms: {100 * gp['gaitpy_ics_matched_within_200ms']:.0f} %")
    print(json.dumps(result))
    return result
