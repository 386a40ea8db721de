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
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from beltline.errors import DataError
from beltline.pipeline.settings import Settings, as_dict
from beltline.privacy import open_private, private_dir
from beltline.records import RawBlock, RawFormat, Rows
from beltline.sessions import finish, rawcsv, tables
from beltline.sessions.exportmeta import read_meta
from beltline.sessions.store import Store

log = logging.getLogger(__name__)

EXPORT_FILES = ("samples.csv", "steps.csv", "episodes.csv", "raw.csv", "session.json")
REQUIRED = ("samples", "steps", "episodes")  # raw is optional: exports before v2 had none
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
    meta, rows = store.meta(sid), store.rows(sid)
    try:
        return _export(store, sid, out_dir, meta, rows)
    except BaseException:
        # a full disk half-way: no export that looks whole (an old session.json beside new
        # tables) is left behind
        for name in EXPORT_FILES:
            (out_dir / name).unlink(missing_ok=True)
        raise


def _export(store: Store, sid: int, out_dir: Path, meta: dict[str, object],
            rows: Rows) -> list[Path]:
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
