"""The session's tables as files, written and read in one place: ``samples``, ``steps``,
``episodes`` and ``raw`` as CSV (column names from ``beltline.records`` and the raw import
format) or as the Parquet files ``beltline export --parquet`` writes.

Reading is for files that may have been damaged or tampered with: a file must be a regular
file (never a symbolic link), text without NUL bytes, with exactly the expected columns; every
cell is checked (numbers finite and within physical limits, words from their list, time in
order), and the first fault is named by file, line (or Parquet row), field and value.
Nothing is stored until every file has passed (``exchange.import_export``).
"""

from __future__ import annotations

import csv
import math
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from beltline.errors import DataError
from beltline.pipeline.activity import ACTIVITY_NAMES
from beltline.privacy import open_private
from beltline.records import (
    EPISODE_COLUMNS,
    SAMPLE_COLUMNS,
    STEP_COLUMNS,
    EpisodeRow,
    SampleBlock,
    StepRow,
)

RAW_COLUMNS = ("t_s", "ax", "ay", "az", "gx", "gy", "gz")
ACTIVITIES = ("standing", "walking", "sitting", "other", "")
KINDS = ("hip_drop", "hip_hike", "anterior_tilt", "pelvic_obliquity")
SIDES = ("left", "right", "")
PARQUET_EXTRA = ("session_id", "started_unix")  # every Parquet row carries them
MAX_FILE_BYTES = 8 << 30  # 8 GiB: two days of raw CSV at 200 Hz is ~3 GiB
MAX_T_S = 1e9  # 31 years of device clock
ACC_MAX_MS2 = 1000.0  # ~100 g: beyond any body-worn IMU's range
GYR_MAX_RADS = 100.0  # ~5700 deg/s


# --- writing --------------------------------------------------------------------------------
def write_samples(path: Path, samples: SampleBlock) -> None:
    """``t_s,obliquity_deg,tilt_deg,activity``; unknown angles are empty fields."""
    with SamplesWriter(path) as w:
        w.write_names(samples.t_s, samples.obliquity_deg, samples.tilt_deg, samples.activity)


_ROW = "{:.4f},{:.3f},{:.3f},{}\n".format
_NAMES = np.array(ACTIVITY_NAMES, object)  # index = activity code


class SamplesWriter:
    """The samples file written piece by piece (a streamed analysis), through a ``.part`` file
    beside it that replaces ``path`` only when ``close`` is reached without an error: a failed
    analysis leaves no half-written file. One format call per row (str.format in C; several
    times faster than ``np.char.mod`` per column); an unknown angle (NaN) is an empty field."""

    def __init__(self, path: Path) -> None:
        self._part = _PartFile(path, ",".join(SAMPLE_COLUMNS))
        self.rows = 0

    def write(self, t: np.ndarray, obliquity_deg: np.ndarray, tilt_deg: np.ndarray,
              code: np.ndarray) -> None:
        """Rows with the activity as a code into ``pipeline.activity.ACTIVITY_NAMES``."""
        self.write_names(t, obliquity_deg, tilt_deg, _NAMES[np.asarray(code, np.intp)])

    def write_names(self, t: np.ndarray, obliquity_deg: np.ndarray, tilt_deg: np.ndarray,
                    activity: np.ndarray) -> None:
        for i in range(0, len(t), 65536):  # bounded text per write
            sl = slice(i, i + 65536)
            text = "".join(map(_ROW, np.asarray(t[sl], float).tolist(),
                               np.asarray(obliquity_deg[sl], float).tolist(),
                               np.asarray(tilt_deg[sl], float).tolist(),
                               np.asarray(activity[sl]).tolist()))
            # "nan" is only ever a formatted NaN here (no activity name contains it)
            self._part.f.write(text.replace("nan", ""))
        self.rows += len(t)

    def close(self, ok: bool = True) -> None:
        self._part.close(ok)

    def __enter__(self) -> SamplesWriter:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        self.close(ok=kind is None)


def write_steps(path: Path, steps: Iterable[StepRow],
                columns: Sequence[str] = STEP_COLUMNS) -> None:
    """The steps with ``columns`` (a prefix of ``STEP_COLUMNS``: ``analyze --steps`` writes
    only ``t_s,side``)."""
    with StepsWriter(path, columns) as w:
        w.write(steps)


class StepsWriter:
    """The steps file written as the steps come (a streamed analysis), through a ``.part`` file
    like ``SamplesWriter``: a week of steps is never held in memory."""

    def __init__(self, path: Path, columns: Sequence[str] = STEP_COLUMNS) -> None:
        self.columns = tuple(columns)
        self._part = _PartFile(path, ",".join(self.columns))
        self.rows = 0

    def write(self, steps: Iterable[StepRow]) -> None:
        text = []
        for s in steps:
            values = [getattr(s, c) for c in self.columns]
            text.append(",".join([f"{values[0]:.3f}", values[1],
                                  *(_fmt(v) for v in values[2:])]) + "\n")
        self._part.f.write("".join(text))
        self.rows += len(text)

    def close(self, ok: bool = True) -> None:
        self._part.close(ok)

    def __enter__(self) -> StepsWriter:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        self.close(ok=kind is None)


class _PartFile:
    """A private file written as ``path.part`` and renamed to ``path`` when closed without an
    error (removed otherwise)."""

    def __init__(self, path: Path, header: str) -> None:
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + ".part")
        self.f = open_private(self.part, shown=self.path)
        self.f.write(header + "\n")

    def close(self, ok: bool) -> None:
        if self.f.closed:
            return
        try:
            self.f.close()  # its last flush may find the disk full
        except BaseException:
            self.part.unlink(missing_ok=True)
            if ok:
                raise
            return  # already failing: the first error is the one to tell
        if ok:
            os.replace(self.part, self.path)
        else:
            self.part.unlink(missing_ok=True)


def write_episodes(path: Path, episodes: Iterable[EpisodeRow]) -> None:
    with open_private(path) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(EPISODE_COLUMNS)
        for e in episodes:
            w.writerow(e.row())


def write_raw(path: Path, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
              t_decimals: int = 6, acc_decimals: int = 6, gyr_decimals: int = 6) -> int:
    """The common raw format ``t_s,ax,ay,az,gx,gy,gz`` (s, m/s², rad/s); returns the rows."""
    fmt = ",".join([f"%.{t_decimals}f"] + [f"%.{acc_decimals}f"] * 3 + [f"%.{gyr_decimals}f"] * 3)
    with open_private(path) as f:
        f.write(",".join(RAW_COLUMNS) + "\n")
        for i in range(0, len(t), 65536):  # bounded memory for long sessions
            np.savetxt(f, np.column_stack([t[i: i + 65536], acc[i: i + 65536],
                                           gyr[i: i + 65536]]), fmt=fmt, delimiter=",")
    return len(t)


def decimals(lsb: float) -> int:
    """The fewest decimals that write multiples of ``lsb`` exactly (at most 9)."""
    for d in range(10):
        if abs(round(lsb * 10**d) - lsb * 10**d) < 1e-9:
            return d
    return 9


# --- reading --------------------------------------------------------------------------------
CHUNK_ROWS = 50000  # CSV rows checked at a time: memory stays bounded for long sessions


@dataclass(frozen=True)
class Col:
    """How a column is checked: numbers within [lo, hi] (``empty``: a blank cell is NaN) or
    words from ``allowed``."""

    name: str
    lo: float = -math.inf
    hi: float = math.inf
    empty: bool = False
    allowed: tuple[str, ...] = ()
    optional: bool = False  # a column newer files have (older ones read as empty cells)


@dataclass
class Table:
    """One file's checked columns (floats, or words) and where each row came from."""

    path: Path
    columns: dict[str, np.ndarray]
    lines: np.ndarray | None  # CSV line of each row (None: Parquet, rows counted from 1)

    def where(self, i: int) -> str:
        return f"line {int(self.lines[i])}" if self.lines is not None else f"row {i + 1}"

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def bad(self, i: int, field: str, value: object, why: str) -> DataError:
        return DataError(f"{self.path}: {self.where(i)}, field {field}: {_show(value)} {why}")


def check_file(path: Path) -> int:
    """A regular file that is no symbolic link and not absurdly large; returns its size."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    if stat.S_ISLNK(st.st_mode):
        raise DataError(f"{path} is a symbolic link; an export holds plain files only")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{path} is not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise DataError(f"{path} is {st.st_size / 2**30:.1f} GiB, more than any session "
                        f"needs ({MAX_FILE_BYTES >> 30} GiB); refusing to read it")
    return st.st_size


def read_table(path: Path, cols: Sequence[Col]) -> Table:
    """``path`` (``.csv`` or ``.parquet``) with exactly the columns ``cols``, every cell
    checked."""
    path = Path(path)
    check_file(path)
    if path.suffix == ".parquet":
        return _read_parquet(path, cols)
    return _read_csv(path, cols)


def _read_csv(path: Path, cols: Sequence[Col]) -> Table:
    names = [c.name for c in cols]
    size = path.stat().st_size
    with path.open("rb") as fb:  # the head and the tail: a sparse or padded file shows at once
        for start in sorted({0, max(0, size - (1 << 16))}):
            fb.seek(start)
            piece = fb.read(1 << 16)
            if b"\0" in piece:
                pos = start + piece.index(b"\0")
                raise DataError(f"{path}: not a text CSV file (binary data at byte {pos})")
    parts: dict[str, list[np.ndarray]] = {c: [] for c in names}
    lines: list[np.ndarray] = []
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{path}: empty file; expected the header {','.join(names)}")
            header = [h.strip().lstrip("\ufeff") for h in header]
            _check_header(path, header, names, (), _optional(cols))
            present = [c for c in names if c in header]
            idx = [header.index(c) for c in present]
            width = len(header)
            done = False
            while not done:
                cells: list[list[str]] = []
                at: list[int] = []
                for row in reader:
                    if len(row) != width:
                        if not row:
                            raise DataError(f"{path}: line {reader.line_num} is empty")
                        raise DataError(f"{path}: line {reader.line_num} has {len(row)} "
                                        f"fields, expected {width} (truncated or damaged?)")
                    cells.append(row)
                    at.append(reader.line_num)
                    if len(cells) >= CHUNK_ROWS:
                        break
                else:
                    done = True
                arr = np.array(cells, dtype=str).reshape(len(cells), width)
                got = {c: arr[:, i] for c, i in zip(present, idx, strict=True)}
                blank = np.full(len(cells), "", dtype=str)
                chunk = Table(path, {c: got.get(c, blank) for c in names},
                              np.array(at, np.int64))
                for c in cols:
                    parts[c.name].append(_check(chunk, c))
                lines.append(np.array(at, np.int64))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text CSV file ({exc.reason} at byte {exc.start})") \
            from exc
    except csv.Error as exc:
        raise DataError(f"{path}: not a valid CSV file ({exc})") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from exc
    return Table(path, {c: np.concatenate(v) for c, v in parts.items()}, np.concatenate(lines))


def _read_parquet(path: Path, cols: Sequence[Col]) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        tab = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a valid Parquet file ({str(exc).splitlines()[0]})") \
            from exc
    _check_header(path, list(tab.column_names), [c.name for c in cols], PARQUET_EXTRA,
                  _optional(cols))
    raw: dict[str, np.ndarray] = {}
    for c in cols:
        if c.optional and c.name not in tab.column_names:
            raw[c.name] = np.full(tab.num_rows, np.nan)
            continue
        col = tab.column(c.name)
        typ = col.type
        numeric = pa.types.is_integer(typ) or pa.types.is_floating(typ)
        text = pa.types.is_string(typ) or pa.types.is_large_string(typ)
        if (numeric or pa.types.is_null(typ)) and not c.allowed:  # null: an empty table
            raw[c.name] = np.array(col.to_pylist(), dtype=float)
        elif (text or pa.types.is_null(typ)) and c.allowed:
            raw[c.name] = np.array(["" if v is None else v for v in col.to_pylist()], dtype=str)
        else:
            raise DataError(f"{path}: field {c.name} has the type {typ}, not "
                            f"{'text' if c.allowed else 'numbers'}")
    t = Table(path, raw, None)
    return Table(path, {c.name: _check(t, c) for c in cols}, None)


def _optional(cols: Sequence[Col]) -> tuple[str, ...]:
    return tuple(c.name for c in cols if c.optional)


def _check_header(path: Path, names: list[str], columns: Sequence[str],
                  allowed_extra: Sequence[str], optional: Sequence[str] = ()) -> None:
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"{path}: column(s) {', '.join(dup)} appear more than once")
    missing = [c for c in columns if c not in names and c not in optional]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; expected "
                        f"{','.join(columns)}")
    extra = [n for n in names if n not in columns and n not in allowed_extra]
    if extra:
        raise DataError(f"{path}: unexpected column(s) {', '.join(map(repr, extra))}; expected "
                        f"{','.join(columns)} (written by a newer Beltline, or edited?)")


def _check(tab: Table, c: Col) -> np.ndarray:
    return _words(tab, c) if c.allowed else _numbers(tab, c)


def _numbers(tab: Table, c: Col) -> np.ndarray:
    """Finite, within [lo, hi]; NaN for an empty cell where allowed."""
    col, field = tab.columns[c.name], c.name
    if col.dtype.kind in "fiu":  # Parquet: typed already; a null is an empty cell
        v = col.astype(float)
        blank = np.isnan(v) if c.empty else np.zeros(len(v), bool)
        if not c.empty and np.isnan(v).any():
            i = int(np.flatnonzero(np.isnan(v))[0])
            raise tab.bad(i, field, v[i], "is empty or not a number")
    else:
        text = np.char.strip(col)
        blank = text == ""
        if blank.any() and not c.empty:
            i = int(np.flatnonzero(blank)[0])
            raise tab.bad(i, field, "", "is empty; a number is needed")
        v = np.full(len(text), np.nan)
        try:
            v[~blank] = text[~blank].astype(float)
        except ValueError:
            for i in np.flatnonzero(~blank).tolist():
                try:
                    float(text[i])
                except ValueError:
                    raise tab.bad(i, field, col[i], "is not a number") from None
            raise
    bad = ~blank & ~np.isfinite(v)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise tab.bad(i, field, col[i], "is not a finite number")
    out = ~blank & ((v < c.lo) | (v > c.hi))
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise tab.bad(i, field, col[i], f"is outside {c.lo:g} to {c.hi:g}")
    return v


def _words(tab: Table, c: Col) -> np.ndarray:
    col = np.char.strip(tab.columns[c.name].astype(str))
    ok = np.isin(col, np.array(c.allowed, dtype=str))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise tab.bad(i, c.name, tab.columns[c.name][i],
                      f"is not one of {', '.join(repr(a) for a in c.allowed)}")
    return col


def _increasing(tab: Table, field: str, strict: bool = True) -> np.ndarray:
    t = tab.columns[field]
    d = np.diff(t)
    bad = d <= 0 if strict else d < 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0]) + 1
        raise tab.bad(i, field, float(t[i]), f"is not after the row above it ({t[i - 1]!r}); "
                      "the time must increase")
    return t


T = Col("t_s", -MAX_T_S, MAX_T_S)


def _deg(name: str, lo: float = -180.0, hi: float = 180.0) -> Col:
    return Col(name, lo, hi, empty=True)


SAMPLE_COLS = (T, _deg("obliquity_deg"), _deg("tilt_deg"), Col("activity", allowed=ACTIVITIES))
STEP_COLS = (T, Col("side", allowed=(*SIDES, "unknown")), _deg("drop_deg"), _deg("tilt_deg"),
             _deg("range_deg", 0.0, 360.0), _deg("cadence_spm", 0.0, 400.0),
             Col("hike_deg", -180.0, 180.0, empty=True, optional=True))  # hike: since schema 4
EPISODE_COLS = (Col("kind", allowed=KINDS), Col("side", allowed=SIDES),
                Col("start_s", -MAX_T_S, MAX_T_S), Col("end_s", -MAX_T_S, MAX_T_S),
                _deg("peak_deg"), _deg("mean_deg"), Col("activity", allowed=ACTIVITIES),
                Col("steps", 0, 1e7))
RAW_COLS = (T, *(Col(c, -ACC_MAX_MS2, ACC_MAX_MS2) for c in ("ax", "ay", "az")),
            *(Col(c, -GYR_MAX_RADS, GYR_MAX_RADS) for c in ("gx", "gy", "gz")))


def read_samples(path: Path) -> SampleBlock:
    tab = read_table(path, SAMPLE_COLS)
    c = tab.columns
    return SampleBlock(_increasing(tab, "t_s"), c["obliquity_deg"], c["tilt_deg"],
                       c["activity"].astype("<U8"))


def read_steps(path: Path) -> list[StepRow]:
    tab = read_table(path, STEP_COLS)
    c = tab.columns
    t = _increasing(tab, "t_s", strict=False).tolist()
    side = c["side"].tolist()
    rest = [c[n].tolist() for n in STEP_COLUMNS[2:]]
    return [StepRow(t[i], side[i], *(r[i] for r in rest)) for i in range(len(t))]


def read_episodes(path: Path) -> list[EpisodeRow]:
    tab = read_table(path, EPISODE_COLS)
    c = tab.columns
    back = c["end_s"] < c["start_s"]
    if back.any():
        i = int(np.flatnonzero(back)[0])
        raise tab.bad(i, "end_s", float(c["end_s"][i]), "is before start_s")
    steps = c["steps"]
    frac = steps != np.floor(steps)
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise tab.bad(i, "steps", float(steps[i]), "is not a count")
    cols = [c[n].tolist() for n in EPISODE_COLUMNS]
    return [EpisodeRow(k, s, a, b, p, m, act, int(n))
            for k, s, a, b, p, m, act, n in zip(*cols, strict=True)]


def read_raw(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``raw.csv``/``raw.parquet`` of an export: (t, acc N×3, gyr N×3), checked."""
    tab = read_table(path, RAW_COLS)
    c = tab.columns
    t = _increasing(tab, "t_s")
    return (t, np.column_stack([c["ax"], c["ay"], c["az"]]).reshape(-1, 3),
            np.column_stack([c["gx"], c["gy"], c["gz"]]).reshape(-1, 3))


def _show(v: object) -> str:
    s = repr(str(v)) if not isinstance(v, float) else repr(v)
    return s if len(s) <= 40 else s[:37] + "...'"


def _fmt(v: object) -> str:
    f = float(v)  # type: ignore[arg-type]
    return "" if f != f else f"{f:.3f}"


__all__ = ["RAW_COLUMNS", "Col", "Table", "check_file", "decimals", "read_episodes",
           "read_raw", "read_samples", "read_steps", "read_table", "write_episodes",
           "write_raw", "write_samples", "write_steps"]
