"""Parquet export of a session, for a clinic querying many wearers (DuckDB, Spark, Dask)."""

from __future__ import annotations

import json
from pathlib import Path

from beltline.errors import BeltlineError
from beltline.sessions.store import Store

from .session import load_store


def export(store: Store, sid: int, out_dir: Path) -> list[Path]:
    """``samples.parquet``, ``steps.parquet`` and ``episodes.parquet`` (every row carrying the
    session id and start time, so a folder of exports is queried as one table: README, DuckDB)
    and ``session.json``."""
    require_pyarrow()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = store.meta(sid)
    s = load_store(store, sid)
    paths = []
    for name, df in (("samples", s.samples), ("steps", s.steps), ("episodes", s.episodes)):
        df = df.copy()
        df.insert(0, "started_unix", meta["started_unix"])
        df.insert(0, "session_id", sid)
        path = out_dir / f"{name}.parquet"
        df.to_parquet(path, index=False)
        paths.append(path)
    (out_dir / "session.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return [*paths, out_dir / "session.json"]


def require_pyarrow() -> None:
    """Say how to get pyarrow (an extra: only Parquet needs it) instead of pandas' ImportError."""
    try:
        import pyarrow  # noqa: F401  (pandas' Parquet engine)
    except ImportError:
        raise BeltlineError(
            "Parquet export needs pyarrow: pip install 'beltline[parquet]'") from None
