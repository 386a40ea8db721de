"""An export folder tampered with as an attacker would: every damage is refused with one line
naming the file (and the field and value where there is one), and the store is unchanged."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from beltline.analysis import parquet

from beltline.cli import main
from beltline.errors import DataError
from beltline.pipeline.settings import Settings
from beltline.sessions import exchange, rawcsv
from beltline.sessions.store import Store
from beltline.sim import scenarios
from beltline.sim.wearer import simulate


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("tamper")
    rec = simulate(scenarios.build("hip_drop_left", 2.0, 4), 100.0, seed=4, mount="left")
    rawcsv.write(d / "walk.csv", rawcsv.Raw(rec.t, rec.acc, rec.gyr))
    store = Store(d / "b.db")
    sid = exchange.import_raw(store, d / "walk.csv", Settings())
    exchange.export(store, sid, d / "csv")
    parquet.export(store, sid, d / "pq")
    store.close()
    return d / "b.db", d / "csv", d / "pq"


def _lines(p: Path) -> list[str]:
    return p.read_text().splitlines(keepends=True)


def _edit_line(name: str, line: int, old: str, new: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        rows = _lines(d / name)
        assert old in rows[line], (rows[line], old)
        rows[line] = rows[line].replace(old, new, 1)
        (d / name).write_text("".join(rows))
    return f


def _field(name: str, line: int, col: int, value: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        rows = _lines(d / name)
        cells = rows[line].rstrip("\n").split(",")
        cells[col] = value
        rows[line] = ",".join(cells) + "\n"
        (d / name).write_text("".join(rows))
    return f


def _json(change: Callable[[dict[str, object]], None]) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        meta = json.loads((d / "session.json").read_text())
        change(meta)
        (d / "session.json").write_text(json.dumps(meta))
    return f


def _truncate_mid_line(d: Path) -> None:
    text = (d / "samples.csv").read_text()
    (d / "samples.csv").write_text(text[: len(text) // 2].rsplit(",", 2)[0])


def _truncate_at_a_line(d: Path) -> None:
    rows = _lines(d / "raw.csv")
    (d / "raw.csv").write_text("".join(rows[: len(rows) // 3]))


def _swap(name: str, i: int) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        rows = _lines(d / name)
        rows[i], rows[i + 1] = rows[i + 1], rows[i]
        (d / name).write_text("".join(rows))
    return f


def _drop_column(name: str, col: int) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        rows = [",".join(r.rstrip("\n").split(",")[:col] + r.rstrip("\n").split(",")[col + 1:])
                + "\n" for r in _lines(d / name)]
        (d / name).write_text("".join(rows))
    return f


def _add_column(name: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        rows = _lines(d / name)
        out = [rows[0].rstrip("\n") + ",extra\n"] + [r.rstrip("\n") + ",1\n" for r in rows[1:]]
        (d / name).write_text("".join(out))
    return f


def _header_again(d: Path) -> None:
    rows = _lines(d / "samples.csv")
    rows.insert(50, rows[0])
    (d / "samples.csv").write_text("".join(rows))


def _header_twice(d: Path) -> None:
    rows = _lines(d / "steps.csv")
    rows[0] = rows[0].replace("tilt_deg", "drop_deg")
    (d / "steps.csv").write_text("".join(rows))


def _binary(d: Path) -> None:
    (d / "raw.csv").write_bytes(os.urandom(4096))


def _binary_after_header(d: Path) -> None:
    (d / "episodes.csv").write_bytes(_lines(d / "episodes.csv")[0].encode() + b"\x00\xff" * 50)


def _symlink(d: Path) -> None:
    (d / "samples.csv").unlink()
    (d / "samples.csv").symlink_to("/etc/passwd")


def _sparse_gigabyte(d: Path) -> None:
    with (d / "raw.csv").open("r+b") as f:
        f.truncate(1 << 30)  # the file's own rows, then a gigabyte of holes (NUL bytes)


def _folder(d: Path) -> None:
    (d / "steps.csv").unlink()
    (d / "steps.csv").mkdir()


def _empty(d: Path) -> None:
    (d / "steps.csv").write_bytes(b"")


def _not_utf8(d: Path) -> None:
    (d / "session.json").write_bytes((d / "session.json").read_bytes().replace(
        b'"name": "walk.csv"', b'"name": "\xff\xfe"'))


def _json_list(d: Path) -> None:
    (d / "session.json").write_text("[1, 2, 3]")


def _json_nan(d: Path) -> None:
    text = (d / "session.json").read_text()
    (d / "session.json").write_text(text.replace('"started_unix": ', '"started_unix": NaN, '
                                                 '"x": ', 1))


def _deep_json(d: Path) -> None:
    (d / "session.json").write_text('{"a": ' * 100_000)


def _remove(name: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        (d / name).unlink()
    return f


def _no_json(d: Path) -> None:
    (d / "session.json").unlink()


def _set(path: str, value: object) -> Callable[[dict[str, object]], None]:
    def f(meta: dict[str, object]) -> None:
        keys = path.split(".")
        obj: object = meta
        for k in keys[:-1]:
            obj = obj[int(k)] if isinstance(obj, list) else obj[k]  # type: ignore[index]
        obj[int(keys[-1]) if isinstance(obj, list) else keys[-1]] = value  # type: ignore
    return f


CSV_CASES: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    # name: (tamper, words the one-line message must contain)
    "truncated mid-line": (_truncate_mid_line, ("samples.csv", "fields")),
    "truncated at a line": (_truncate_at_a_line, ("raw.csv", "rows", "session.json")),
    "NaN time": (_field("samples.csv", 5, 0, "NaN"), ("samples.csv", "line 6", "t_s", "NaN")),
    "inf value": (_field("raw.csv", 9, 1, "inf"), ("raw.csv", "line 10", "ax", "inf")),
    "text in a number": (_field("steps.csv", 3, 2, "abc"), ("steps.csv", "drop_deg", "abc")),
    "huge value": (_field("raw.csv", 20, 4, "1e30"), ("raw.csv", "gx", "1e30")),
    "huge time": (_field("samples.csv", 7, 0, "1e300"), ("samples.csv", "t_s", "1e300")),
    "hex number": (_field("raw.csv", 3, 6, "0x1F"), ("raw.csv", "gz", "0x1F")),
    "wrong kind": (_field("episodes.csv", 1, 0, "hip_wobble"),
                   ("episodes.csv", "kind", "hip_wobble")),
    "wrong side": (_field("steps.csv", 2, 1, "middle"), ("steps.csv", "side", "middle")),
    "wrong activity": (_field("samples.csv", 9, 3, "dancing"), ("samples.csv", "dancing")),
    "angle out of range": (_field("samples.csv", 11, 1, "720"), ("obliquity_deg", "720")),
    "fractional step count": (_field("episodes.csv", 1, 7, "2.5"), ("episodes.csv", "steps")),
    "episode ends first": (_field("episodes.csv", 1, 3, "-5"), ("episodes.csv", "end_s")),
    "missing column": (_drop_column("samples.csv", 2), ("samples.csv", "missing", "tilt_deg")),
    "extra column": (_add_column("episodes.csv"), ("episodes.csv", "unexpected", "extra")),
    "header again inside": (_header_again, ("samples.csv", "line 51", "t_s")),
    "a column twice": (_header_twice, ("steps.csv", "drop_deg", "more than once")),
    "raw time backwards": (_swap("raw.csv", 100), ("raw.csv", "line 102", "t_s", "increase")),
    "samples time backwards": (_swap("samples.csv", 30), ("samples.csv", "t_s", "increase")),
    "binary junk": (_binary, ("raw.csv",)),
    "NUL bytes after the header": (_binary_after_header, ("episodes.csv", "binary")),
    "symlink to /etc/passwd": (_symlink, ("samples.csv", "symbolic link")),
    "1-GB sparse file": (_sparse_gigabyte, ("raw.csv", "binary")),
    "a folder for a file": (_folder, ("steps.csv", "regular file")),
    "empty file": (_empty, ("steps.csv", "empty")),
    "no session.json": (_no_json, ("session.json", "not found")),
    "session.json not UTF-8": (_not_utf8, ("session.json", "UTF-8")),
    "session.json a list": (_json_list, ("session.json", "object")),
    "NaN in session.json": (_json_nan, ("session.json", "NaN")),
    "started_unix as text": (_json(_set("started_unix", "yesterday")),
                             ("session.json", "started_unix", "yesterday")),
    "name not text": (_json(_set("name", {"a": 1})), ("session.json", "name")),
    "control characters in name": (_json(_set("name", "a\nb")), ("session.json", "name")),
    "setting out of range": (_json(_set("settings.hip_drop_deg", 999)),
                             ("session.json", "settings", "hip_drop_deg", "999")),
    "setting as text": (_json(_set("settings.hip_drop_deg", "high")),
                        ("session.json", "hip_drop_deg", "high")),
    "unknown setting": (_json(_set("settings.evil", 1)), ("session.json", "evil")),
    "calibration not a rotation": (_json(_set("calibration.R", [[1, 0, 0], [0, 1, 0], [0, 0, 5]])),
                                   ("session.json", "calibration.R")),
    "calibration drops as text": (_json(_set("calibration.walk_drop_deg", ["a", "b"])),
                                  ("session.json", "walk_drop_deg")),
    "gap backwards": (_json(_set("gaps", [{"start_s": 9.0, "end_s": 3.0}])),
                      ("session.json", "gaps[0]")),
    "gaps not a list": (_json(_set("gaps", "none")), ("session.json", "gaps")),
    "clock tick negative": (_json(_set("clock", [{"host_unix": 1.7e9, "device_tick": -4,
                                                  "epoch": 0}])),
                            ("session.json", "clock[0].device_tick", "-4")),
    "raw bits": (_json(_set("raw.bits", 12)), ("session.json", "raw.bits", "12")),
    "row count as text": (_json(lambda m: m["files"].update(  # type: ignore[attr-defined]
        {"raw.csv": {"rows": "many"}})),
                          ("session.json", "files.raw.csv.rows", "many")),
    "final as text": (_json(_set("final", "yes")), ("session.json", "final", "yes")),
    "not a Beltline session": (_json(_set("format", "other-app")),
                               ("session.json", "format", "other-app")),
    "from a newer Beltline": (_json(_set("format_version", 99)),
                              ("session.json", "format_version", "99", "newer")),
    "JSON nested far too deeply": (_deep_json, ("session.json", "nested")),
    "raw.csv removed": (_remove("raw.csv"), ("raw.csv", "missing", "session.json")),
}


def _dump(store: Store) -> str:
    return "\n".join(store.db.iterdump())


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_a_tampered_csv_export_is_refused_and_the_store_unchanged(
        case: str, exported: tuple[Path, Path, Path], tmp_path: Path) -> None:
    db, src, _ = exported
    tamper, words = CSV_CASES[case]
    d = tmp_path / "exp"
    shutil.copytree(src, d)
    tamper(d)
    shutil.copy(db, tmp_path / "b.db")
    store = Store(tmp_path / "b.db")
    before = _dump(store)
    with pytest.raises(DataError) as err:
        exchange.import_export(store, d)
    msg = str(err.value)
    assert "\n" not in msg, msg
    assert len(msg) < 400, msg
    for w in words:
        assert w in msg, (w, msg)
    assert _dump(store) == before
    store.close()


def _parquet_column_as_text(d: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pq.read_table(d / "raw.parquet")
    col = pa.array([str(x) for x in t.column("t_s").to_pylist()])
    pq.write_table(t.set_column(t.column_names.index("t_s"), "t_s", col), d / "raw.parquet")


def _parquet_nan(d: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pq.read_table(d / "steps.parquet")
    v = t.column("t_s").to_pylist()
    v[3] = float("nan")
    pq.write_table(t.set_column(t.column_names.index("t_s"), "t_s", pa.array(v)),
                   d / "steps.parquet")


def _parquet_truncated(d: Path) -> None:
    data = (d / "samples.parquet").read_bytes()
    (d / "samples.parquet").write_bytes(data[: len(data) // 2])


PARQUET_CASES = {
    "text column": (_parquet_column_as_text, ("raw.parquet", "t_s", "type")),
    "NaN time": (_parquet_nan, ("steps.parquet", "row 4", "t_s")),
    "truncated": (_parquet_truncated, ("samples.parquet", "Parquet")),
}


@pytest.mark.parametrize("case", sorted(PARQUET_CASES))
def test_a_tampered_parquet_export_is_refused(case: str, exported: tuple[Path, Path, Path],
                                              tmp_path: Path) -> None:
    db, _, src = exported
    tamper, words = PARQUET_CASES[case]
    d = tmp_path / "exp"
    shutil.copytree(src, d)
    tamper(d)
    shutil.copy(db, tmp_path / "b.db")
    store = Store(tmp_path / "b.db")
    before = _dump(store)
    with pytest.raises(DataError) as err:
        exchange.import_export(store, d)
    msg = str(err.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    assert _dump(store) == before


def test_the_command_says_it_in_one_line(exported: tuple[Path, Path, Path], tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    db, src, _ = exported
    d = tmp_path / "exp"
    shutil.copytree(src, d)
    _field("raw.csv", 9, 1, "9.81abc")(d)
    shutil.copy(db, tmp_path / "b.db")
    assert main(["import", str(d), "--store", str(tmp_path / "b.db")]) == 1
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert "\n" not in errors[0].getMessage()
    assert "raw.csv: line 10, field ax: '9.81abc' is not a number" in errors[0].getMessage()
    assert "Traceback" not in caplog.text
    assert len(CSV_CASES) + len(PARQUET_CASES) >= 20
