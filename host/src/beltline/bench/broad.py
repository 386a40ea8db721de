"""Reader for the BROAD benchmark trials (Laidig et al., Data 6(7), 2021, CC BY 4.0).

Gives each trial resampled to a device rate, with the true "up" direction in the sensor frame
and the mask of samples to score, following the dataset's own conventions: ``opt_quat`` is the
IMU's orientation w.r.t. an ENU frame (w, x, y, z; NaN where the cameras lost it) and
``movement`` marks the samples to score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from beltline.errors import BeltlineError, DataError
from beltline.frames import up_from_quat


@dataclass(frozen=True)
class Trial:
    """One trial at ``rate_hz``: ``gyr`` (N×3 rad/s), ``acc`` (N×3 m/s²), ``up_true`` (N×3 unit,
    sensor frame, NaN where unknown) and ``score`` (N bool)."""

    name: str
    rate_hz: float
    gyr: np.ndarray
    acc: np.ndarray
    up_true: np.ndarray
    score: np.ndarray


def trial_files(data_dir: Path, trials: list[str] | None = None) -> list[Path]:
    """The trial files in ``data_dir``, optionally only those whose number is in ``trials``."""
    if not data_dir.is_dir():
        raise DataError(f"BROAD data folder not found: {data_dir}")
    files = sorted(data_dir.glob("*.hdf5"))
    if trials:
        wanted = {t.zfill(2) for t in trials}
        files = [f for f in files if f.name.split("_")[0] in wanted]
        found = {f.name.split("_")[0] for f in files}
        if wanted - found:
            raise DataError(f"trials not found in {data_dir}: {', '.join(sorted(wanted - found))}")
    if not files:
        raise DataError(f"no BROAD trial (*.hdf5) in {data_dir}")
    return files


def trial_groups(data_dir: Path) -> dict[str, list[str]]:
    """Group names of each trial from the dataset's ``trials.json`` (empty if absent)."""
    path = data_dir / "trials.json"
    if not path.exists():
        return {}
    info = json.loads(path.read_text())
    return {t["name"]: list(t.get("groups", [])) for t in info.get("trials", [])}


def load_trial(path: Path, rate_hz: float = 100.0, settle_s: float = 5.0) -> Trial:
    """Load a trial and resample it to ``rate_hz`` by linear interpolation.

    The truth is interpolated on the up vector (then renormalised); any interpolation that
    touches a NaN stays NaN, and only samples fully inside a movement phase, after the first
    ``settle_s`` seconds, are scored.
    """
    try:
        import h5py  # an extra: only this benchmark reads HDF5
    except ImportError:
        raise BeltlineError(
            "the BROAD benchmark needs h5py: pip install 'beltline[bench]'") from None

    with h5py.File(path, "r") as h:
        fs = float(h.attrs["sampling_rate"])
        acc = np.asarray(h["imu_acc"], dtype=np.float64)
        gyr = np.asarray(h["imu_gyr"], dtype=np.float64)
        quat = np.asarray(h["opt_quat"], dtype=np.float64)
        movement = np.asarray(h["movement"], dtype=bool)
    t = np.arange(len(acc)) / fs
    tn = np.arange(0.0, t[-1], 1.0 / rate_hz)

    def resample(x: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(tn, t, x[:, i]) for i in range(x.shape[1])], axis=1)

    up = resample(up_from_quat(quat))
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    score = (np.interp(tn, t, movement.astype(float)) > 0.999) & np.isfinite(up[:, 0])
    score &= tn >= settle_s
    return Trial(path.stem, rate_hz, resample(gyr), resample(acc), up, score)


def inclination_rmse_deg(up_est: np.ndarray, trial: Trial) -> float:
    """RMS angle (degrees) between estimated and true up over the scored samples."""
    cos = np.clip(np.sum(up_est[trial.score] * trial.up_true[trial.score], axis=1), -1.0, 1.0)
    return float(np.sqrt(np.mean(np.degrees(np.arccos(cos)) ** 2)))
