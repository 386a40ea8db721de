"""The store's connection: opening (created 0600 in a 0700 folder, migrated, or read-only),
sqlite3's errors as one-line ``StoreError``s, and transactions. ``Store`` (``sessions.store``)
builds on it; see there for what the store holds."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from beltline.errors import DataError, StoreError
from beltline.privacy import FILE_MODE, private_dir
from beltline.sessions.schema import MIGRATIONS, run_migration

log = logging.getLogger("beltline.sessions.store")

SCHEMA_VERSION = len(MIGRATIONS)
BUSY_MS = 10000  # wait this long for another program's write before giving up


def data_dir() -> Path:
    """Where Beltline keeps the store: ``$BELTLINE_HOME`` if set, else the platform's user
    data folder from ``platformdirs`` (``$XDG_DATA_HOME/beltline``, ``~/.local/share/beltline``
    when that is unset, empty or relative; Application Support on macOS; LOCALAPPDATA on
    Windows). Never the current folder."""
    env = os.environ.get("BELTLINE_HOME", "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    p = Path(platformdirs.user_data_dir("beltline", appauthor=False))
    if not p.is_absolute():  # the XDG spec: a relative $XDG_DATA_HOME is ignored
        p = Path.home() / ".local" / "share" / "beltline"
    return p


def default_path() -> Path:
    return data_dir() / "beltline.db"


class StoreDB:
    """A connection to the store file (created and migrated on open). ``read_only``: open for
    review only (also chosen by itself when the file cannot be written)."""

    def __init__(self, path: Path | None = None, read_only: bool = False) -> None:
        own = path is None
        self.path = Path(path) if path else default_path()
        self._depth = 0
        self._tick_hz: dict[int, float] = {}  # sessions whose tick rate is set (this connection)
        exists = self.path.exists()
        if read_only or (exists and not os.access(self.path, os.W_OK)):
            self.read_only = True
            self.db = self._connect_ro()
        else:
            self.read_only = False
            try:
                self.db = self._connect_rw(exists, own)
            except StoreError as exc:
                if exc.reason != "readonly":
                    raise
                log.info("%s cannot be written: opened read-only for review", self.path)
                self.read_only = True
                self.db = self._connect_ro()
        self._check_version()

    # --- opening ----------------------------------------------------------------------------
    def _connect_rw(self, exists: bool, own: bool) -> sqlite3.Connection:
        try:
            private_dir(self.path.parent, tighten=own)
            if not exists:  # 0600 before SQLite writes a byte (its -wal/-shm copy the mode)
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE))
            elif os.name == "posix" and self.path.stat().st_mode & 0o077:
                os.chmod(self.path, FILE_MODE)
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot create the session store {self.path}: {exc.strerror}",
                             "readonly" if exists else "other") from exc
        with self._errors("open"):
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
            db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            if db.execute("PRAGMA page_count").fetchone()[0] == 0:
                # a new file: freed pages (a deleted session, a live preview replaced) can go
                # back to the disk (``vacuum()``); an older file would need a full VACUUM
                db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                db.close()
                raise StoreError(f"{self.path}: cannot switch to WAL mode", "readonly")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: never torn, durable at checkpoints
            db.execute("PRAGMA secure_delete=ON")  # a deleted session's pages are zeroed
        self.db = db
        self._migrate()  # with foreign keys off: a migration may rebuild a parent table
        with self._errors("open"):
            db.execute("PRAGMA foreign_keys=ON")
        return db

    def _connect_ro(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise StoreError(f"no session store at {self.path}", "other")
        uri = self.path.resolve().as_uri()
        with self._errors("open"):
            try:
                db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                # a WAL file without its -shm in a folder we cannot write: read the file as it
                # is, unless a WAL holds changes that would then be missed
                wal = self.path.with_name(self.path.name + "-wal")
                if wal.exists() and wal.stat().st_size:
                    raise
                db = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True,
                                     isolation_level=None)
            db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        return db

    def _check_version(self) -> None:
        with self._errors("read"):
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise DataError(f"{self.path} has schema version {version}, newer than this "
                            f"Beltline understands ({SCHEMA_VERSION}); update Beltline")
        if version < SCHEMA_VERSION:
            raise StoreError(f"{self.path} is read-only and from an older Beltline (schema "
                             f"{version}); make it writable once so it can be upgraded",
                             "readonly")

    def _migrate(self) -> None:
        with self._errors("upgrade"):
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                return  # refused with a message by _check_version
            for v in range(version, SCHEMA_VERSION):
                log.info("upgrading %s to schema version %d", self.path, v + 1)
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    run_migration(self.db, MIGRATIONS[v])
                    bad = self.db.execute("PRAGMA foreign_key_check").fetchall()
                    if bad:  # rows of no session: nothing can show them; say so and go on
                        log.warning("%s: %d rows belong to no session", self.path, len(bad))
                    self.db.execute(f"PRAGMA user_version={v + 1}")
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise
                self.db.execute("COMMIT")

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """sqlite3's exceptions as one-line ``StoreError``s naming the store."""
        try:
            yield
        except sqlite3.Error as exc:
            raise _store_error(self.path, what, exc) from exc

    # --- transactions -----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write; nested uses join the outermost (all or nothing)."""
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only: this needs a writable store",
                             "readonly")
        if self._depth:
            self._depth += 1
            try:
                yield self.db
            finally:
                self._depth -= 1
            return
        with self._errors("write"):
            self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.db
        except BaseException as exc:
            self._depth = 0
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite may have rolled back already (a full disk)
            if isinstance(exc, sqlite3.Error):
                raise _store_error(self.path, "write", exc) from exc
            raise
        self._depth = 0
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise _store_error(self.path, "write", exc) from exc

    def _q(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._errors("read"):
            return self.db.execute(sql, args).fetchall()

    def vacuum(self) -> None:
        """Give freed pages back to the disk (stores made by this version; older ones keep
        them for reuse)."""
        if self.read_only:
            return
        with self._errors("write"):
            if self.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2 and not self._depth:
                # executescript steps it to the end (execute() frees one page per step)
                self.db.executescript("PRAGMA incremental_vacuum;")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _store_error(path: Path, what: str, exc: sqlite3.Error) -> StoreError:
    ext = getattr(exc, "sqlite_errorcode", None)
    code = ext & 0xFF if isinstance(ext, int) else None  # the primary code of an extended one
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if code == sqlite3.SQLITE_FULL or "is full" in msg:
        return StoreError(f"session store {path}: the disk (or the store's size limit) is "
                          f"full; free some space ({msg})", "full")
    if code == sqlite3.SQLITE_READONLY or "readonly" in msg:
        return StoreError(f"session store {path} cannot be written ({msg})", "readonly")
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in msg:
        return StoreError(f"session store {path} is busy: another Beltline is writing to it "
                          f"({msg}); try again", "busy")
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT) or "not a database" in msg \
            or "malformed" in msg:
        return StoreError(f"{path} is not a readable Beltline session store ({msg})",
                          "damaged")
    if code == sqlite3.SQLITE_CANTOPEN or "unable to open" in msg:
        return StoreError(f"cannot open the session store {path} ({msg})", "readonly")
    return StoreError(f"session store {path}: {what} failed ({msg})", "other")


