"""The session's CSV files, written and read in one place: ``samples.csv``, ``steps.csv``,
``episodes.csv`` (column names from ``beltline.records``). Reading checks every row and names
the file, line, field and value of anything wrong, before anything is stored."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from beltline.errors import DataError
from beltline.records import (
    EPISODE_COLUMNS,
    SAMPLE_COLUMNS,
    STEP_COLUMNS,
    EpisodeRow,
    SampleBlock,
    StepRow,
)


def write_samples(path: Path, samples: SampleBlock) -> None:
    """``t_s,obliquity_deg,tilt_deg,activity``; unknown angles are empty fields."""
    t, o, p, a = samples.t_s, samples.obliquity_deg, samples.tilt_deg, samples.activity
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        f.write(",".join(SAMPLE_COLUMNS) + "\n")
        for w, x, y, z in zip(np.char.mod("%.4f", t), np.char.mod("%.3f", o),
                              np.char.mod("%.3f", p), a, strict=True):
            f.write(f"{w},{x if x != 'nan' else ''},{y if y != 'nan' else ''},{z}\n")


def write_steps(path: Path, steps: Iterable[StepRow],
                columns: Sequence[str] = STEP_COLUMNS) -> None:
    """The steps with ``columns`` (a prefix of ``STEP_COLUMNS``: ``analyze --steps`` writes
    only ``t_s,side``)."""
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for s in steps:
            values = [getattr(s, c) for c in columns]
            w.writerow([f"{values[0]:.3f}", values[1], *(_fmt(v) for v in values[2:])])


def write_episodes(path: Path, episodes: Iterable[EpisodeRow]) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(EPISODE_COLUMNS)
        for e in episodes:
            w.writerow(e.row())


def read_samples(path: Path) -> SampleBlock:
    rows = _read(path, SAMPLE_COLUMNS)
    return SampleBlock(
        np.array([_num(path, i, r, "t_s", empty=False) for i, r in rows]),
        np.array([_num(path, i, r, "obliquity_deg") for i, r in rows]),
        np.array([_num(path, i, r, "tilt_deg") for i, r in rows]),
        np.array([_word(path, i, r, "activity", ("standing", "walking", "sitting", "other", ""))
                  for i, r in rows], "<U8"))


def read_steps(path: Path) -> list[StepRow]:
    """Steps as written by ``write_steps`` (files from before ``hike_deg`` read as NaN)."""
    return [StepRow(_num(path, i, r, "t_s", empty=False),
                    _word(path, i, r, "side", ("left", "right", "unknown", "")),
                    *(_num(path, i, r, c) if c in r else math.nan for c in STEP_COLUMNS[2:]))
            for i, r in _read(path, STEP_COLUMNS[:6])]


def read_episodes(path: Path) -> list[EpisodeRow]:
    out = []
    for i, r in _read(path, EPISODE_COLUMNS):
        steps = r["steps"].strip()
        if not steps.isdigit():
            raise DataError(f"{path}: line {i}, field steps: {steps!r} is not a count")
        out.append(EpisodeRow(
            _word(path, i, r, "kind", ("hip_drop", "hip_hike", "anterior_tilt",
                                       "pelvic_obliquity")),
            _word(path, i, r, "side", ("left", "right", "")),
            _num(path, i, r, "start_s", empty=False), _num(path, i, r, "end_s", empty=False),
            _num(path, i, r, "peak_deg"), _num(path, i, r, "mean_deg"), r["activity"],
            int(steps)))
    return out


def _read(path: Path, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    try:
        with Path(path).open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
            rows = list(enumerate(reader, start=2))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text CSV file ({exc.reason})") from exc
    except csv.Error as exc:
        raise DataError(f"{path}: not a valid CSV file ({exc})") from exc
    for i, r in rows:
        if any(r.get(c) is None for c in columns) or None in r:
            raise DataError(f"{path}: line {i} has the wrong number of fields (truncated?)")
    return rows


def _num(path: Path, line: int, row: dict[str, str], field: str, empty: bool = True) -> float:
    text = row[field].strip()
    if text == "" and empty:
        return math.nan
    try:
        v = float(text)
    except ValueError:
        raise DataError(f"{path}: line {line}, field {field}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise DataError(f"{path}: line {line}, field {field}: {text!r} is not a finite number")
    return v


def _word(path: Path, line: int, row: dict[str, str], field: str,
          allowed: Sequence[str]) -> str:
    text = row[field].strip()
    if text not in allowed:
        raise DataError(f"{path}: line {line}, field {field}: {text!r} is not one of "
                        f"{', '.join(repr(a) for a in allowed)}")
    return text


def _fmt(v: object) -> str:
    f = float(v)  # type: ignore[arg-type]
    return "" if f != f else f"{f:.3f}"
