"""Parquet export of a session, for a clinic querying many wearers (DuckDB, Spark, Dask)."""

from __future__ import annotations

import json
from pathlib import Path

from beltline import privacy
from beltline.errors import BeltlineError
from beltline.sessions.store import Store

from .session import load_store


def export(store: Store, sid: int, out_dir: Path) -> list[Path]:
    """``samples.parquet``, ``steps.parquet`` and ``episodes.parquet`` (every row carrying the
    session id and start time, so a folder of exports is queried as one table: README, DuckDB)
    and ``session.json``."""
    require_pyarrow()
    out_dir = Path(out_dir)
    privacy.private_dir(out_dir)
    meta = store.meta(sid)
    s = load_store(store, sid)
    paths = []
    for name, df in (("samples", s.samples), ("steps", s.steps), ("episodes", s.episodes)):
        df = df.copy()
        df.insert(0, "started_unix", float(meta["started_unix"]))  # type: ignore[arg-type]
        df.insert(0, "session_id", sid)
        path = out_dir / f"{name}.parquet"
        df.to_parquet(privacy.private_file(path), index=False)
        paths.append(path)
    privacy.write_text(out_dir / "session.json", json.dumps(meta, indent=2))
    return [*paths, out_dir / "session.json"]


def require_pyarrow() -> None:
    """Say how to get pyarrow (an extra: only Parquet needs it) instead of pandas' ImportError."""
    try:
        import pyarrow  # noqa: F401  (pandas' Parquet engine)
    except ImportError:
        raise BeltlineError(
            "Parquet export needs pyarrow: pip install 'beltline[parquet]'") from None
