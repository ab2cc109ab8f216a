"""Opening SQLite files the way Cortex needs them, and translating driver errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cortex.core.errors import StoreCorrupt, StoreError, StoreUnavailable

BUSY_TIMEOUT_MS = 5_000


def connect(path: Path, *, readonly: bool = False,
            busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection in autocommit mode; callers open transactions explicitly."""
    with translate_errors(path):
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                   check_same_thread=False, timeout=busy_timeout_ms / 1000)
        else:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                   timeout=busy_timeout_ms / 1000)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            # WAL: readers never block the writer. FULL: an acknowledged commit survives
            # power loss too, not just a killed process (fsync is ~0.1 ms here).
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreUnavailable(f"{path}: could not switch to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MiB page cache
        conn.execute("PRAGMA mmap_size = 268435456")
        return conn


@contextmanager
def translate_errors(path: Path | str) -> Iterator[None]:
    """Driver exceptions become typed Cortex errors at the backend edge."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise StoreUnavailable(f"{path}: database is locked by another writer") from exc
        if "unable to open" in text or "readonly" in text or "read-only" in text:
            raise StoreUnavailable(f"{path}: {text}") from exc
        if "not a database" in text:
            raise StoreCorrupt(f"{path}: not a database file, or it is corrupt") from exc
        if "malformed" in text:
            raise StoreCorrupt(f"{path}: database file is corrupt ({text})") from exc
        raise StoreError(f"{path}: {text}") from exc
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "not a database" in text:
            raise StoreCorrupt(f"{path}: not a database file, or it is corrupt") from exc
        if "malformed" in text or "corrupt" in text:
            raise StoreCorrupt(f"{path}: database file is corrupt ({text})") from exc
        raise StoreError(f"{path}: {text}") from exc


@contextmanager
def write_transaction(conn: sqlite3.Connection, path: Path) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT; any failure rolls the whole transaction back."""
    with translate_errors(path):
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


@contextmanager
def read_transaction(conn: sqlite3.Connection, path: Path) -> Iterator[sqlite3.Connection]:
    """One consistent snapshot for several reads."""
    with translate_errors(path):
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")
