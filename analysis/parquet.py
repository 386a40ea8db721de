"""Parquet export of a session, for a clinic querying many wearers (DuckDB, Spark, Dask).

The same tables as the CSV export (``beltline.sessions.exchange``), raw record included, and
the same ``session.json``; ``beltline import`` reads the folder back. Written 0600 in a 0700
folder, never through a symbolic link.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from beltline.errors import BeltlineError
from beltline.privacy import open_private, private_dir
from beltline.sessions.store import Store

from .session import load_store


def export(store: Store, sid: int, out_dir: Path) -> list[Path]:
    """``samples.parquet``, ``steps.parquet``, ``episodes.parquet`` and ``raw.parquet`` (every
    row carrying the session id and start time, so a folder of exports is queried as one
    table: README, DuckDB) and ``session.json``."""
    from beltline.sessions.exchange import write_json

    require_pyarrow()
    out_dir = private_dir(Path(out_dir))
    meta = store.meta(sid)
    s = load_store(store, sid)
    frames = {"samples": s.samples, "steps": s.steps, "episodes": s.episodes}
    fmt = store.raw_format(sid)
    if fmt is not None:
        raw = store.raw(sid)
        frames["raw"] = pd.DataFrame(np.column_stack([raw.ticks / fmt.tick_hz, raw.acc,
                                                      raw.gyr]),
                                     columns=["t_s", "ax", "ay", "az", "gx", "gy", "gz"])
    paths = []
    files = {}
    for name, df in frames.items():
        df = df.copy()
        df.insert(0, "started_unix", float(meta["started_unix"]))  # type: ignore[arg-type]
        df.insert(0, "session_id", sid)
        path = out_dir / f"{name}.parquet"
        with open_private(path, "wb") as f:
            df.to_parquet(f, index=False)
        paths.append(path)
        files[f"{name}.parquet"] = {"rows": len(df)}
    meta["files"] = files
    write_json(out_dir / "session.json", meta)
    return [*paths, out_dir / "session.json"]


def require_pyarrow() -> None:
    """Say how to get pyarrow (an extra: only Parquet needs it) instead of pandas' ImportError."""
    try:
        import pyarrow  # noqa: F401  (pandas' Parquet engine)
    except ImportError:
        raise BeltlineError(
            "Parquet export needs pyarrow: pip install 'beltline[parquet]'") from None
