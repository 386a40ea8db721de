"""Readers for the recordings users already have, besides the common raw CSV.

``rawcsv.read`` looks at the header and hands the file to one of these:

- **Xsens MT Manager text export** (MTw Awinda, MTi): optional comment lines (``// Update Rate:
  100.0Hz`` or ``Acquisition frequency: 100 Hz``), then a header with ``PacketCounter`` (and
  often ``SampleTimeFine``), ``Acc_X/Y/Z`` (m/s², gravity included) and ``Gyr_X/Y/Z`` (rad/s),
  separated by tabs, commas or semicolons. Time comes from ``SampleTimeFine`` (10 kHz ticks)
  when present, else from the packet counter and the update rate, so packets the recorder
  dropped are real holes in the time line (the pipeline reports them as gaps). Both counters
  wrap (16 and 32 bits) and are unwrapped.
- **mobgap / gaitmap column style**: ``acc_x, acc_y, acc_z`` (m/s²) and ``gyr_x, gyr_y,
  gyr_z`` in **deg/s** (mobgap's documented units, "Common Datatypes"; gaitmap uses the same),
  with the time in a column ``t_s``/``time_s``/``t``/``time``/``timestamp`` (seconds or ISO
  date-times), or only a sample index (``samples``; or none) and a known rate.

The sensor's axes may be any: the pipeline finds the pelvis axes from the data. Units are
checked as for the common format (a gyroscope in the other unit is caught by its magnitude).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from beltline.errors import DataError
from beltline.sessions import rawcsv

log = logging.getLogger(__name__)

XSENS_ACC = ("acc_x", "acc_y", "acc_z")
XSENS_GYR = ("gyr_x", "gyr_y", "gyr_z")
TIME_COLUMNS = ("t_s", "time_s", "t", "time", "timestamp", "time_stamp")
INDEX_COLUMNS = ("samples", "sample", "index", "")
DEFAULT_RATE_HZ = 100.0  # Xsens MTw and the Mobilise-D lower-back units record at 100 Hz
_RATE = re.compile(r"(?:update rate|acquisition frequency|sampling rate|sample rate|"
                   r"sampling frequency|output rate)\s*[:=]?\s*([0-9]+(?:\.[0-9]+)?)\s*hz",
                   re.IGNORECASE)


@dataclass(frozen=True)
class Header:
    """What the first lines of a text recording say: ``kind`` ("common", "xsens", "columns"
    or "unknown"), the header's line index, its delimiter, the column names (as written) and
    a sample rate stated in a comment line, if any."""

    kind: str
    line: int
    delimiter: str
    names: list[str]
    rate_hz: float | None


def sniff(path: Path, lines: int = 60) -> Header:
    """The format of ``path`` from its first lines (see the module docstring)."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as f:
            head = [f.readline() for _ in range(lines)]
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text file ({exc.reason})") from exc
    rate = None
    first: Header | None = None
    for i, line in enumerate(head):
        text = line.strip().lstrip("\ufeff")
        if not text:
            continue
        m = _RATE.search(text)
        if m and rate is None:
            rate = float(m.group(1))
        if text.startswith(("//", "#")):
            continue
        delim = max((",", "\t", ";"), key=text.count)
        names = [n.strip().strip('"') for n in text.split(delim)]
        low = [n.lower() for n in names]
        if "packetcounter" in low or "sampletimefine" in low or (
                "Acc_X" in names and "Gyr_X" in names):
            return Header("xsens", i, delim, names, rate)
        if all(c in low for c in XSENS_ACC) and all(c in low for c in XSENS_GYR):
            return Header("columns", i, delim, names, rate)
        if "t_s" in low or {"ax", "gx"} & set(low):
            return Header("common", i, delim, names, rate)
        if first is None:
            first = Header("unknown", i, delim, names, rate)
        if not _is_number(names[0]):
            continue  # a title line ("Acquisition frequency: 100 Hz")
        break
    return first or Header("unknown", 0, ",", [], rate)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _table(path: Path, h: Header) -> dict[str, np.ndarray]:
    """The columns under the header, as text-free float arrays where they are numbers and
    object arrays where not (date-times)."""
    import pandas as pd

    try:
        df = pd.read_csv(path, sep=h.delimiter, skiprows=h.line, header=0, dtype=str,
                         encoding="utf-8-sig", skip_blank_lines=True, engine="c")
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the table ({exc}); a truncated or damaged "
                        "file?") from exc
    out: dict[str, np.ndarray] = {}
    for name in df.columns:
        key = str(name).strip().lower()
        if key.startswith("unnamed:"):
            key = ""
        out[key] = df[name].to_numpy(dtype=object)
    return out


def _numbers(path: Path, h: Header, col: dict[str, np.ndarray], name: str) -> np.ndarray:
    import pandas as pd

    text = pd.Series(col[name], dtype=object)
    v = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    blank = text.isna().to_numpy() | (text.astype(str).str.strip() == "").to_numpy()
    bad = np.flatnonzero(np.isnan(v) & ~blank)
    if len(bad):
        i = int(bad[0])
        raise DataError(f"{path}: line {h.line + i + 2}, column {name}: {text.iloc[i]!r} is not "
                        "a number; a damaged file?")
    return v


def _unwrap(counter: np.ndarray, modulus: float) -> np.ndarray:
    d = np.diff(counter)
    wraps = np.concatenate([[0.0], np.cumsum(np.where(d < -modulus / 2, modulus, 0.0))])
    return counter + wraps


def read_xsens(path: Path, h: Header, acc_unit: str | None = None, gyro_unit: str | None = None,
               rate_hz: float | None = None) -> rawcsv.Raw:
    """An Xsens MT Manager text export (see the module docstring)."""
    col = _table(path, h)
    missing = [c for c in (*XSENS_ACC, *XSENS_GYR) if c not in col]
    if missing:
        raise DataError(f"{path}: an Xsens export without {', '.join(m.title() for m in missing)}"
                        "; export calibrated acceleration (Acc) and rate of turn (Gyr)")
    acc = np.column_stack([_numbers(path, h, col, c) for c in XSENS_ACC])
    gyr = np.column_stack([_numbers(path, h, col, c) for c in XSENS_GYR])
    # rows without inertial data (a status-only packet) carry no sample
    keep = np.isfinite(acc).all(axis=1) & np.isfinite(gyr).all(axis=1)
    if "sampletimefine" in col:
        ticks = _unwrap(_numbers(path, h, col, "sampletimefine")[keep], 2.0**32)
        t = ticks / 10_000.0
        how = "SampleTimeFine"
    elif "packetcounter" in col:
        rate = rate_hz or h.rate_hz
        if rate is None:
            rate = DEFAULT_RATE_HZ
            log.warning("%s: no update rate in the file: assuming %.0f Hz (the Xsens MTw "
                        "default); pass --rate if it was another", path, rate)
        t = _unwrap(_numbers(path, h, col, "packetcounter")[keep], 65536.0) / rate
        how = f"PacketCounter at {rate:g} Hz"
    else:
        raise DataError(f"{path}: an Xsens export needs PacketCounter or SampleTimeFine for the "
                        "time; export it with the packet counter")
    acc, gyr = acc[keep], gyr[keep]
    log.debug("%s: Xsens export, %d samples, time from %s", path, len(t), how)
    return _finish(path, t, acc, gyr, acc_unit or "m/s2", gyro_unit or "rad/s")


def read_columns(path: Path, h: Header, acc_unit: str | None = None,
                 gyro_unit: str | None = None, rate_hz: float | None = None) -> rawcsv.Raw:
    """The mobgap / gaitmap column style (see the module docstring)."""
    col = _table(path, h)
    acc = np.column_stack([_numbers(path, h, col, c) for c in XSENS_ACC])
    gyr = np.column_stack([_numbers(path, h, col, c) for c in XSENS_GYR])
    name = next((c for c in TIME_COLUMNS if c in col), None)
    if name is not None:
        t = _seconds(path, h, col[name], name)
    else:
        rate = rate_hz or h.rate_hz
        if rate is None:
            rate = DEFAULT_RATE_HZ
            log.warning("%s: no time column and no rate: assuming %.0f Hz (pass --rate if it "
                        "was another)", path, rate)
        idx = next((c for c in INDEX_COLUMNS if c in col), None)
        k = _numbers(path, h, col, idx) if idx is not None else np.arange(len(acc), dtype=float)
        t = (k - k[0]) / rate
    return _finish(path, t, acc, gyr, acc_unit or "m/s2", gyro_unit or "deg/s")


def _seconds(path: Path, h: Header, values: np.ndarray, name: str) -> np.ndarray:
    """A time column as seconds: numbers as they are, ISO date-times from their first."""
    first = str(values[0]).strip()
    if _is_number(first):
        return _numbers(path, h, {name: values}, name)
    try:
        stamps = np.array([np.datetime64(str(x).strip().replace("+00:00", "").rstrip("Z"), "ns")
                           for x in values])
    except ValueError:
        raise DataError(f"{path}: column {name}: {first!r} is neither seconds nor an ISO "
                        "date-time") from None
    return (stamps - stamps[0]).astype("timedelta64[ns]").astype(float) / 1e9


def _finish(path: Path, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, acc_unit: str,
            gyro_unit: str) -> rawcsv.Raw:
    bad = ~(np.isfinite(acc).all(axis=1) & np.isfinite(gyr).all(axis=1) & np.isfinite(t))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: {int(bad.sum())} sample(s) with missing or non-numeric "
                        f"values, the first in data row {i + 1}; remove or repair them")
    raw = rawcsv.Raw(t, acc * rawcsv.ACC_UNITS[acc_unit], gyr * rawcsv.GYRO_UNITS[gyro_unit])
    rawcsv.check(raw, str(path))
    if gyro_unit == "deg/s":
        _not_rad_s(raw, str(path))
    return raw


def _not_rad_s(raw: rawcsv.Raw, name: str) -> None:
    """A gyroscope declared in deg/s that never turns faster than a few deg/s while the
    accelerometer shows walking was written in rad/s."""
    moving = float(np.percentile(np.abs(np.linalg.norm(raw.acc, axis=1) - rawcsv.G), 99))
    top = float(np.degrees(np.percentile(np.abs(raw.gyr), 99.9)))
    if moving > 2.0 and top < 3.0:
        raise DataError(f"{name}: the gyroscope reads at most {top:.2f} deg/s while the "
                        "accelerometer shows movement: the values look like rad/s; pass "
                        "--gyro-unit rad/s")


def load_walker(path: Path) -> tuple[rawcsv.Raw, list[tuple[float, str]],
                                     tuple[float, float]]:
    """One lower-back walker trial (Voisard et al., IPOL 2023): raw data on its own clock
    (``PacketCounter`` at 100 Hz, so the recorder's dropped packets are real holes), the heel
    strikes with the striking foot, and the trial's walking span (start, end) in s."""
    path = Path(path)
    raw = read_xsens(path, sniff(path))
    meta = json.loads(path.with_name(path.name.replace("_lb.txt", ".json")).read_text())
    truth = sorted([(e[1] / 100.0, "left") for e in meta["LeftFootEvents"]]
                   + [(e[1] / 100.0, "right") for e in meta["RightFootEvents"]])
    a, b = (x / 100.0 for x in meta["TrialBoundaries"])
    return raw, [x for x in truth if x[0] <= raw.t[-1]], (a, b)


def walker_meta(path: Path) -> dict[str, object]:
    """The trial's JSON (subject, labels, turn boundaries in samples)."""
    path = Path(path)
    data = json.loads(path.with_name(path.name.replace("_lb.txt", ".json")).read_text())
    assert isinstance(data, dict)
    return data


__all__ = ["Header", "load_walker", "read_columns", "read_xsens", "sniff", "walker_meta"]
