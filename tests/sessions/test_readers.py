"""The recordings users already have: Xsens MT Manager exports and mobgap/gaitmap columns,
told apart by their header, with the unit checks; the shared walkers straight from disk."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from beltline.cli import main
from beltline.errors import DataError
from beltline.sessions import rawcsv, readers
from beltline.sim import scenarios
from beltline.sim.wearer import simulate


@pytest.fixture(scope="module")
def rec() -> object:
    return simulate(scenarios.build("hip_drop_right", 2.5, 12), 100.0, seed=12, mount="left")


def _xsens(path: Path, rec: object, drop: slice | None = None, counter0: int = 65000,
           fine: bool = False, sep: str = "\t", rate_line: str = "// Update Rate: 100.0Hz"
           ) -> np.ndarray:
    """An MT Manager text export of ``rec`` resampled to 100 Hz, its packet counter starting
    near the 16-bit wrap, optionally with dropped packets."""
    t = np.arange(0, rec.t[-1], 0.01)  # type: ignore[attr-defined]
    acc = np.stack([np.interp(t, rec.t, rec.acc[:, i]) for i in range(3)], 1)  # type: ignore
    gyr = np.stack([np.interp(t, rec.t, rec.gyr[:, i]) for i in range(3)], 1)  # type: ignore
    n = np.arange(len(t))
    keep = np.ones(len(t), bool)
    if drop is not None:
        keep[drop] = False
    lines = ["// Start Time: Unknown", rate_line, "// Filter Profile: human (46.1)",
             "// Firmware Version: 4.0.2"]
    cols = ["PacketCounter", *(["SampleTimeFine"] if fine else []), "Acc_X", "Acc_Y", "Acc_Z",
            "Gyr_X", "Gyr_Y", "Gyr_Z", "Mag_X", "Mag_Y", "Mag_Z"]
    lines.append(sep.join(cols))
    for k in n[keep]:
        row = [str((counter0 + k) % 65536)]
        if fine:
            row.append(str((4_294_900_000 + 100 * k) % 2**32))
        row += [f"{v:.6f}" for v in (*acc[k], *gyr[k])] + ["0.1", "0.2", "-0.8"]
        lines.append(sep.join(row))
    path.write_text("\n".join(lines) + "\n")
    return t[keep]


@pytest.mark.parametrize(("fine", "sep"), [(False, "\t"), (True, ";"), (True, ",")])
def test_an_xsens_export_reads_with_its_clock_and_holes(rec: object, tmp_path: Path,
                                                        fine: bool, sep: str) -> None:
    path = tmp_path / "mt.txt"
    t = _xsens(path, rec, drop=slice(6000, 6050), fine=fine, sep=sep)
    assert readers.sniff(path).kind == "xsens"
    raw = rawcsv.read(path)
    assert len(raw.t) == len(t)
    np.testing.assert_allclose(np.diff(raw.t), np.diff(t), atol=1e-6)  # counters unwrapped
    ep, st = tmp_path / "e.csv", tmp_path / "s.csv"
    assert main(["analyze", str(path), "--episodes", str(ep), "--steps", str(st)]) == 0
    with ep.open() as f:
        kinds = {(r["kind"], r["side"]) for r in csv.DictReader(f)}
    assert kinds == {("hip_drop", "right")}


def test_an_xsens_export_without_a_rate_takes_the_flag_or_100_hz(rec: object,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "mt.txt"
    _xsens(path, rec, rate_line="// no rate here")
    raw = rawcsv.read(path, rate_hz=50.0)
    assert raw.rate_hz == pytest.approx(50.0)
    assert rawcsv.read(path).rate_hz == pytest.approx(100.0)


def _columns(path: Path, rec: object, time: str, gyro_scale: float = 180.0 / np.pi) -> None:
    t, acc, gyr = rec.t, rec.acc, rec.gyr * gyro_scale  # type: ignore[attr-defined]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        head = {"seconds": ["time_s"], "iso": ["time"], "samples": ["samples"],
                "none": []}[time]
        w.writerow([*head, "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"])
        for i in range(len(t)):
            stamp = {"seconds": [f"{t[i]:.5f}"],
                     "iso": [str(np.datetime64("2024-05-01T09:00:00", "ns")
                                 + np.timedelta64(int(t[i] * 1e9), "ns")) + "+00:00"],
                     "samples": [str(i)], "none": []}[time]
            w.writerow([*stamp, *(f"{v:.6f}" for v in (*acc[i], *gyr[i]))])


@pytest.mark.parametrize("time", ["seconds", "iso", "samples"])
def test_mobgap_columns_read_in_deg_s_with_any_time(rec: object, tmp_path: Path,
                                                    time: str) -> None:
    path = tmp_path / "mobgap.csv"
    _columns(path, rec, time)
    assert readers.sniff(path).kind == "columns"
    raw = rawcsv.read(path)
    np.testing.assert_allclose(raw.gyr, rec.gyr, atol=1e-5)  # type: ignore[attr-defined]
    if time != "samples":  # a sample index assumes the stated (or a 100 Hz) rate
        np.testing.assert_allclose(raw.t - raw.t[0], rec.t - rec.t[0],  # type: ignore
                                   atol=2e-5)


def test_mobgap_columns_in_rad_s_are_caught(rec: object, tmp_path: Path) -> None:
    path = tmp_path / "mobgap.csv"
    _columns(path, rec, "seconds", gyro_scale=1.0)
    with pytest.raises(DataError, match="look like rad/s; pass --gyro-unit rad/s"):
        rawcsv.read(path)
    np.testing.assert_allclose(rawcsv.read(path, gyro_unit="rad/s").gyr,
                               rec.gyr, atol=1e-5)  # type: ignore[attr-defined]


def test_an_unknown_header_names_the_formats(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("time,a,b,c\n0,1,2,3\n")
    with pytest.raises(DataError, match=r"missing column.*Xsens.*mobgap"):
        rawcsv.read(path)


def test_the_shared_walkers_analyse_straight_from_disk(walkers_dir: Path,
                                                       tmp_path: Path) -> None:
    f = walkers_dir / "1-1_lb.txt"
    ep, st, sm = tmp_path / "e.csv", tmp_path / "s.csv", tmp_path / "m.csv"
    assert main(["analyze", str(f), "--episodes", str(ep), "--steps", str(st),
                 "--step-measures", str(sm)]) == 0
    with st.open() as fh:
        steps = list(csv.DictReader(fh))
    assert list(steps[0]) == ["t_s", "side"]
    assert len(steps) > 25
    assert {s["side"] for s in steps} <= {"left", "right", "unknown"}
    with sm.open() as fh:
        head = next(csv.reader(fh))
    assert "hike_deg" in head
    assert "drop_deg" in head
    assert ep.read_text().splitlines()[1:] == []  # a healthy walker: no episode
