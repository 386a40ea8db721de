"""Sessions in and out of the store: import a raw file, export a session, import it back.

An export folder holds ``samples.csv``, ``steps.csv``, ``episodes.csv``, ``raw.csv`` (the
common import format, ``t_s`` on the unit's own clock) and ``session.json`` (device,
firmware, calibration, settings, gaps, the raw format and the device-tick <-> wall-clock
points, the row count of each file); ``--parquet`` writes the tables as Parquet instead
(``beltline.analysis.parquet``). Everything is written 0600 in a 0700 folder.

An import checks every file and field before it writes anything, then stores the session in
one transaction: a damaged or tampered export leaves the store exactly as it was, with one
line naming the file, the field and the value.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from beltline.errors import DataError
from beltline.pipeline.settings import Settings, as_dict, with_overrides
from beltline.privacy import open_private, private_dir
from beltline.records import GapRow, RawBlock, RawFormat, Rows
from beltline.sessions import finish, rawcsv, tables
from beltline.sessions.store import EXPORT_FORMAT, EXPORT_VERSION, Store

log = logging.getLogger(__name__)

EXPORT_FILES = ("samples.csv", "steps.csv", "episodes.csv", "raw.csv", "session.json")
REQUIRED = ("samples", "steps", "episodes")  # raw is optional: exports before v2 had none
MAX_JSON_BYTES = 16 << 20
FINE_TICK_HZ = 1e6  # an irregular clock is kept in microseconds


def store_raw(store: Store, sid: int, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
              fmt: RawFormat | None = None) -> RawFormat:
    """Raw samples on seconds ``t`` into session ``sid`` (an import's path; a sync, which has
    the unit's ticks, uses ``store_walk``). ``fmt``: the format they came in; kept exactly if
    the data fit it, otherwise a fine format that holds them (``raw_format_for``)."""
    fmt = raw_format_for(t, acc, gyr, fmt)
    ticks = np.rint(np.asarray(t, float) * fmt.tick_hz).astype(np.int64)
    store.add_raw(sid, RawBlock(ticks, acc, gyr), fmt)
    return fmt


def raw_format_for(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
                   fmt: RawFormat | None = None) -> RawFormat:
    """``fmt`` if its ticks and counts hold these samples exactly (a Beltline export of the
    unit's own data); else a regular clock at the median rate if the times sit on it, else
    microseconds, with ``RawFormat.fine`` counts."""
    if fmt is not None and _exact(t, 1.0 / fmt.tick_hz) and _exact(acc, fmt.acc_lsb) and \
            _exact(gyr, fmt.gyr_lsb):
        lim = (2**(fmt.bits - 1) - 1)
        if max(np.abs(acc).max(initial=0) / fmt.acc_lsb,
               np.abs(gyr).max(initial=0) / fmt.gyr_lsb) <= lim:
            return fmt
    hz = FINE_TICK_HZ
    if len(t) > 1:
        rate = round(1.0 / float(np.median(np.diff(t))))
        if 1 <= rate <= 100000 and _exact(t, 1.0 / rate):
            hz = float(rate)
    return RawFormat.fine(hz)


def _exact(x: np.ndarray, lsb: float) -> bool:
    """Every value a whole multiple of ``lsb`` (to the 6 decimals raw.csv is written with)."""
    q = np.asarray(x, float) / lsb
    return bool(np.all(np.abs(q - np.rint(q)) * lsb <= 5e-7 + 1e-9 * np.abs(x)))


def import_raw(store: Store, path: Path, settings: Settings, acc_unit: str | None = None,
               gyro_unit: str | None = None, rate_hz: float | None = None) -> int:
    """A raw CSV as a new session: its samples kept and analysed in full (the analysis runs
    before the one short transaction that stores it all); returns its id."""
    raw = rawcsv.read(path, acc_unit, gyro_unit, rate_hz)
    return store_samples(store, raw.t, raw.acc, raw.gyr, settings, "import",
                         name=Path(path).name, what=str(path))


def store_samples(store: Store, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
                  settings: Settings, source: str, name: str = "", link: str = "",
                  kind: str = "walk", results: Mapping[str, object] | None = None,
                  what: str = "") -> int:
    """Raw samples on seconds ``t`` as a new closed session of ``source``, analysed in full
    (a test's or a set's session also gets its ``kind`` and ``results`` document,
    ``sessions.exresults``); returns its id. The analysis runs before the one short
    transaction that stores it all."""
    fmt = raw_format_for(t, acc, gyr)
    block = quantised(t, acc, gyr, fmt)  # exactly what the store will hold
    a = finish.analyse([block], fmt.tick_hz, settings, len(block))
    if a.note and kind == "walk":
        log.warning("%s: %s; its raw record is kept (`beltline reanalyze` can try again)",
                    what or name or "the recording", a.note)
    with store.transaction():
        sid = store.new_session(source, name=name, settings=as_dict(settings), link=link)
        store.add_raw(sid, block, fmt)
        store.replace_results(sid, a.rows, a.encoded, a.calibration, dict(as_dict(settings)),
                              a.note if kind == "walk" else "")
        if kind != "walk":
            store.set_results(sid, kind, results or {})
        store.close_session(sid, None)
    return sid


def store_walk(store: Store, block: RawBlock, fmt: RawFormat, source: str = "sync",
               name: str = "", device: str = "", firmware: str = "",
               started_unix: float | None = None, settings: Settings | None = None,
               join_s: float = 0.0) -> int:
    """A walk that came as raw samples (the unit's logbook, synced after a walk without the
    host) as a session of ``source``, closed and analysed in full; returns its id.

    Idempotent: if a session of the same ``device`` already holds samples of this boot
    (``block.epoch``) within ``join_s`` of these ticks (a second sync, a sync resumed after a
    drop), the samples join it (those it holds already are dropped) and it is analysed again;
    storing the same walk twice changes nothing. A new walk's analysis runs before the one
    short transaction that stores it."""
    if not len(block):
        raise DataError("a walk without samples")
    cfg = settings or Settings()
    first, last = int(block.ticks.min()), int(block.ticks.max())
    join = int(join_s * fmt.tick_hz)
    hit = store._q(
        "SELECT DISTINCT b.session_id FROM raw_blocks b JOIN sessions s ON s.id = b.session_id "
        "WHERE s.device = ? AND s.source = ? AND b.epoch = ? AND b.last_tick >= ? AND "
        "b.tick <= ? ORDER BY b.session_id", (device, source, block.epoch, first - join,
                                             last + join))
    if hit:
        sid = int(hit[0][0])  # type: ignore[call-overload]
        if store.add_raw(sid, block, fmt):
            finish.finalise(store, sid, settings)
        return sid
    a = finish.analyse([block], fmt.tick_hz, cfg, len(block))
    with store.transaction():
        sid = store.new_session(source, name=name, device=device, firmware=firmware,
                                settings=as_dict(cfg), started_unix=started_unix)
        store.add_raw(sid, block, fmt)
        store.replace_results(sid, a.rows, a.encoded, a.calibration, dict(as_dict(cfg)),
                              a.note)
        store.close_session(sid, None)
    return sid


def quantised(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, fmt: RawFormat) -> RawBlock:
    """The samples as ``fmt`` keeps them (ticks, values on its counts)."""
    ticks = np.rint(np.asarray(t, float) * fmt.tick_hz).astype(np.int64)
    return RawBlock(ticks, np.rint(acc / fmt.acc_lsb) * fmt.acc_lsb,
                    np.rint(gyr / fmt.gyr_lsb) * fmt.gyr_lsb)


def export(store: Store, sid: int, out_dir: Path) -> list[Path]:
    """Write session ``sid`` into ``out_dir`` (see the module docstring)."""
    out_dir = private_dir(Path(out_dir))
    meta = store.meta(sid)
    rows = store.rows(sid)
    tables.write_samples(out_dir / "samples.csv", rows.samples)
    tables.write_steps(out_dir / "steps.csv", rows.steps)
    tables.write_episodes(out_dir / "episodes.csv", rows.episodes)
    files = {"samples.csv": len(rows.samples), "steps.csv": len(rows.steps),
             "episodes.csv": len(rows.episodes)}
    written = [out_dir / "samples.csv", out_dir / "steps.csv", out_dir / "episodes.csv"]
    fmt = store.raw_format(sid)
    if fmt is not None:
        files["raw.csv"] = write_raw_csv(store, sid, out_dir / "raw.csv", fmt)
        written.append(out_dir / "raw.csv")
    meta["files"] = {k: {"rows": v} for k, v in files.items()}
    write_json(out_dir / "session.json", meta)
    return [*written, out_dir / "session.json"]


def write_raw_csv(store: Store, sid: int, path: Path, fmt: RawFormat) -> int:
    """``raw.csv``: t_s = tick / tick_hz (the unit's clock) and the values in SI, with as
    many decimals as the stored counts need (so reading it back is exact)."""
    n = 0
    t_dec = tables.decimals(1.0 / fmt.tick_hz) if fmt.tick_hz <= 1e6 else 9
    with open_private(path) as f:
        f.write(",".join(tables.RAW_COLUMNS) + "\n")
        fmtline = ",".join([f"%.{min(t_dec, 9)}f"] + [f"%.{tables.decimals(fmt.acc_lsb)}f"] * 3
                           + [f"%.{tables.decimals(fmt.gyr_lsb)}f"] * 3)
        for b in store.iter_raw(sid):
            np.savetxt(f, np.column_stack([b.ticks / fmt.tick_hz, b.acc, b.gyr]), fmt=fmtline,
                       delimiter=",")
            n += len(b)
    return n


def write_json(path: Path, meta: dict[str, object]) -> None:
    with open_private(path) as f:
        f.write(json.dumps(meta, indent=2, allow_nan=False) + "\n")


# --- import of an export folder ---------------------------------------------------------
def import_export(store: Store, export_dir: Path) -> int:
    """An export folder (CSV or Parquet) back as a new session; returns its id."""
    d = Path(export_dir)
    if not d.is_dir():
        raise DataError(f"{d} is not a folder")
    meta_path = d / "session.json"
    meta = read_meta(meta_path)
    found: dict[str, Path] = {}
    for name in (*REQUIRED, "raw"):
        pq, csv = d / f"{name}.parquet", d / f"{name}.csv"
        if pq.exists() or pq.is_symlink():
            found[name] = pq
        elif csv.exists() or csv.is_symlink():
            found[name] = csv
    missing = [f"{n}.csv" for n in REQUIRED if n not in found]
    if missing:
        raise DataError(f"{d} is not a Beltline export: missing {', '.join(missing)}")
    counts = meta["files"]
    assert isinstance(counts, dict)
    listed = [k for k in counts if k.rsplit(".", 1)[0] not in found]
    if listed:  # a file the export wrote is gone: importing the rest would lose it silently
        raise DataError(f"{d}: missing {listed[0]}, which {meta_path.name} lists with "
                        f"{counts[listed[0]]} rows")
    rows = Rows(tables.read_samples(found["samples"]), tables.read_steps(found["steps"]),
                tables.read_episodes(found["episodes"]), meta["gaps"])  # type: ignore[arg-type]
    raw = tables.read_raw(found["raw"]) if "raw" in found else None
    for name, path in found.items():
        want = counts.get(f"{name}.csv", counts.get(f"{name}.parquet"))
        got = len(raw[0]) if name == "raw" and raw is not None else \
            len(getattr(rows, name)) if name != "raw" else 0
        if want is not None and want != got:
            raise DataError(f"{path}: {got} rows, but {meta_path.name} says {want} "
                            "(truncated or edited?)")
    fmt = meta["raw_format"]
    with store.transaction():
        sid = store.new_session("import", name=str(meta["name"] or d.name),
                                device=str(meta["device"]), firmware=str(meta["firmware"]),
                                settings=meta["settings"],  # type: ignore[arg-type]
                                started_unix=meta["started_unix"],  # type: ignore[arg-type]
                                link=str(meta["link"]))
        if raw is not None:
            store_raw(store, sid, *raw, fmt)  # type: ignore[arg-type]
            clock = meta["clock"]
            if clock:
                p = clock[0]  # type: ignore[index]
                store.db.execute("UPDATE sessions SET raw_unix=?, raw_unix_tick=? WHERE id=?",
                                 (p["host_unix"], p["device_tick"], sid))
                synced = [(int(q["epoch"]), int(q["device_tick"]), float(q["host_unix"]),
                           float(q["rate_hz"])) for q in clock  # type: ignore[attr-defined]
                          if q.get("rate_hz") is not None]
                if synced:
                    store.set_clock(sid, synced)
        store.write_rows(sid, rows)
        store.close_session(sid, meta["calibration"],  # type: ignore[arg-type]
                            ended_unix=meta["ended_unix"],  # type: ignore[arg-type]
                            note=str(meta["note"]))
        if meta["kind"] != "walk":
            store.set_results(sid, str(meta["kind"]), meta["results"])  # type: ignore[arg-type]
        store.db.execute("UPDATE sessions SET final=?, analysed_unix=? WHERE id=?",
                         (int(bool(meta["final"])), meta["analysed_unix"], sid))
    return sid


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
