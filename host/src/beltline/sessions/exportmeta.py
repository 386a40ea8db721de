"""``session.json`` of an export folder read back: every field the import uses checked, with
one line naming the field and the value when it is wrong (unknown keys are ignored)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from beltline.errors import DataError
from beltline.pipeline.settings import Settings, as_dict, with_overrides
from beltline.records import GapRow, RawFormat
from beltline.sessions import tables
from beltline.sessions.store import EXPORT_FORMAT, EXPORT_VERSION

MAX_JSON_BYTES = 16 << 20


def read_meta(path: Path) -> dict[str, object]:
    """``session.json``, every field this import uses checked (unknown keys are ignored)."""
    size = tables.check_file(path)
    if size > MAX_JSON_BYTES:
        raise DataError(f"{path}: {size} bytes is far more than a session.json holds")
    data = path.read_bytes()
    if b"\0" in data:
        raise DataError(f"{path}: not a text file (binary data at byte {data.index(0)})")
    try:
        meta = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from exc
    except RecursionError:
        raise DataError(f"{path}: not a session.json (JSON nested far too deeply)") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    _check_format(path, meta)
    f = _Fields(path, meta)
    out: dict[str, object] = {
        "name": f.text("name"), "device": f.text("device"), "firmware": f.text("firmware"),
        "link": f.text("link"), "note": f.text("note", 2000),
        "started_unix": f.number("started_unix", 0, 1e11, None),
        "ended_unix": f.number("ended_unix", 0, 1e11, None),
        "analysed_unix": f.number("analysed_unix", 0, 1e11, None),
        "final": f.flag("final"),
    }
    if out["started_unix"] is None:
        out["started_unix"] = out["ended_unix"]
    settings = meta.get("settings") or {}
    if not isinstance(settings, dict):
        raise DataError(f"{path}: field settings: expected an object, got "
                        f"{type(settings).__name__}")
    try:
        out["settings"] = dict(as_dict(with_overrides(Settings(), settings)))
    except DataError as exc:
        raise DataError(f"{path}: field settings: {exc}") from exc
    out["calibration"] = _calibration_field(f, meta.get("calibration"))
    out["gaps"] = f.gaps()
    out["raw_format"] = f.raw_format()
    out["clock"] = f.clock()
    files = meta.get("files") or {}
    if not isinstance(files, dict):
        raise DataError(f"{path}: field files: expected an object")
    counts = {}
    for k, v in files.items():
        n = v.get("rows") if isinstance(v, dict) else None
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise DataError(f"{path}: field files.{k}.rows: {n!r} is not a row count")
        counts[str(k)] = n
    out["files"] = counts
    out["kind"], out["results"] = _kind_results(path, meta)
    return out


def _check_format(path: Path, meta: dict[str, object]) -> None:
    """What wrote the file: a Beltline export of a version this one reads (the fields are
    optional: hand-made folders and the first exports lack them)."""
    fmt = meta.get("format", EXPORT_FORMAT)
    if fmt != EXPORT_FORMAT:
        raise DataError(f"{path}: field format: {str(fmt)[:60]!r} is not a Beltline session "
                        f"({EXPORT_FORMAT!r})")
    ver = meta.get("format_version", 1)
    if not isinstance(ver, int) or isinstance(ver, bool) or ver < 1:
        raise DataError(f"{path}: field format_version: {str(ver)[:60]!r} is not a version "
                        "number")
    if ver > EXPORT_VERSION:
        raise DataError(f"{path}: field format_version: {ver} is newer than this Beltline "
                        f"reads ({EXPORT_VERSION}); update Beltline to import it")


def _kind_results(path: Path, meta: dict[str, object]) -> tuple[str, dict[str, object] | None]:
    """A test's or a set's kind and results document (exports before schema 5: a walk)."""
    from beltline.sessions import exresults
    from beltline.sessions.schema import KINDS

    kind = meta.get("kind", "walk")
    if kind not in KINDS:
        raise DataError(f"{path}: field kind: {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "walk":
        return "walk", None
    doc = exresults.check(meta.get("results"), f"{path}: field results")
    if exresults.kind_of(doc) != kind:
        raise DataError(f"{path}: field results: the results of a {exresults.kind_of(doc)} in "
                        f"a session of kind {kind}")
    return str(kind), doc


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


class _Fields:
    def __init__(self, path: Path, meta: dict[str, object]) -> None:
        self.path, self.meta = path, meta

    def bad(self, field: str, value: object, why: str) -> DataError:
        s = repr(value)
        return DataError(f"{self.path}: field {field}: {s[:60]} {why}")

    def text(self, field: str, limit: int = 200) -> str:
        v = self.meta.get(field, "")
        if v is None:
            return ""
        if not isinstance(v, str):
            raise self.bad(field, v, "is not text")
        if len(v) > limit or any(ord(ch) < 32 for ch in v):
            raise self.bad(field, v, f"is not a line of text of at most {limit} characters")
        return v

    def number(self, field: str, lo: float, hi: float, default: float | None,
               where: dict[str, object] | None = None, name: str | None = None) -> float | None:
        src = self.meta if where is None else where
        v = src.get(field, default)
        label = name or field
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.bad(label, v, "is not a number")
        if not math.isfinite(v) or not lo <= v <= hi:
            raise self.bad(label, v, f"is outside {lo:g} to {hi:g}")
        return float(v)

    def flag(self, field: str) -> bool:
        v = self.meta.get(field, False)
        if not isinstance(v, bool):
            raise self.bad(field, v, "is not true or false")
        return v

    def gaps(self) -> list[GapRow]:
        v = self.meta.get("gaps") or []
        if not isinstance(v, list):
            raise self.bad("gaps", v, "is not a list")
        out = []
        for i, g in enumerate(v):
            if not isinstance(g, dict):
                raise self.bad(f"gaps[{i}]", g, "is not an object")
            a = self.number("start_s", -tables.MAX_T_S, tables.MAX_T_S, None, g,
                            f"gaps[{i}].start_s")
            b = self.number("end_s", -tables.MAX_T_S, tables.MAX_T_S, None, g,
                            f"gaps[{i}].end_s")
            if a is None or b is None or b <= a:
                raise self.bad(f"gaps[{i}]", g, "needs start_s before end_s")
            out.append(GapRow(a, b))
        return out

    def raw_format(self) -> RawFormat | None:
        v = self.meta.get("raw")
        if v is None:
            return None
        if not isinstance(v, dict):
            raise self.bad("raw", v, "is not an object")
        hz = self.number("tick_hz", 1.0, 1e7, None, v, "raw.tick_hz")
        a = self.number("acc_lsb", 1e-9, 1.0, None, v, "raw.acc_lsb")
        g = self.number("gyr_lsb", 1e-9, 1.0, None, v, "raw.gyr_lsb")
        bits = v.get("bits", 16)
        if bits not in (16, 32) or isinstance(bits, bool):
            raise self.bad("raw.bits", bits, "is not 16 or 32")
        if hz is None or a is None or g is None:
            raise self.bad("raw", v, "needs tick_hz, acc_lsb and gyr_lsb")
        return RawFormat(hz, a, g, int(bits))

    def clock(self) -> list[dict[str, object]]:
        v = self.meta.get("clock") or []
        if not isinstance(v, list):
            raise self.bad("clock", v, "is not a list of points")
        out = []
        for i, p in enumerate(v):
            if not isinstance(p, dict):
                raise self.bad(f"clock[{i}]", p, "is not an object")
            host = self.number("host_unix", 0, 1e11, None, p, f"clock[{i}].host_unix")
            tick, epoch = p.get("device_tick"), p.get("epoch", 0)
            for name, x in (("device_tick", tick), ("epoch", epoch)):
                if not isinstance(x, int) or isinstance(x, bool) or not 0 <= x < 2**62:
                    raise self.bad(f"clock[{i}].{name}", x, "is not a whole number >= 0")
            if host is None:
                raise self.bad(f"clock[{i}].host_unix", None, "is missing")
            point: dict[str, object] = {"host_unix": host, "device_tick": tick, "epoch": epoch}
            if "rate_hz" in p:
                point["rate_hz"] = self.number("rate_hz", 1.0, 1e7, None, p,
                                               f"clock[{i}].rate_hz")
            out.append(point)
        return out


def _calibration_field(f: _Fields, v: object) -> dict[str, object] | None:
    """A calibration as ``Calibration.as_dict`` writes it (what the review reads back)."""
    if v is None:
        return None
    if not isinstance(v, dict):
        raise f.bad("calibration", v, "is not an object")
    R = v.get("R")
    ok = isinstance(R, list) and len(R) == 3 and all(
        isinstance(r, list) and len(r) == 3 and all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            and abs(x) <= 1.0 + 1e-6 for x in r) for r in R)
    if not ok:
        raise f.bad("calibration.R", R, "is not a 3x3 rotation")
    m = np.array(R, float)
    if not np.allclose(m @ m.T, np.eye(3), atol=1e-4):
        raise f.bad("calibration.R", R, "is not a rotation (its rows must be orthonormal)")
    drop = v.get("walk_drop_deg", [4.0, 4.0])
    if not (isinstance(drop, list) and len(drop) == 2 and all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            and abs(x) <= 90 for x in drop)):
        raise f.bad("calibration.walk_drop_deg", drop, "is not two angles in degrees")
    f.number("walk_tilt_deg", -90, 90, 0.0, v, "calibration.walk_tilt_deg")
    for span in ("stand_s", "walk_s"):
        s = v.get(span)
        if s is not None and not (isinstance(s, list) and len(s) == 2 and all(
                isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
                for x in s) and s[0] <= s[1]):
            raise f.bad(f"calibration.{span}", s, "is not a span [start, end] in seconds")
    note = v.get("note", "")
    if not isinstance(note, str) or len(note) > 2000:
        raise f.bad("calibration.note", note, "is not a line of text")
    return v
