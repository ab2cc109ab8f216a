"""Opening each side of a migration by URL: the store (which applies its migrations), and
the reader and writer that work on its tables."""

from __future__ import annotations

from urllib.parse import urlparse

from cortex.core.errors import ConfigError, MissingDependency, NotFound
from cortex.migrate.base import Endpoint
from cortex.privacy.sealing import Sealer
from cortex.store import SCHEMES, open_store, sqlite_path

DEFAULT_DIM = 384


def open_endpoint(url: str, *, sealer: Sealer | None = None, dim: int = DEFAULT_DIM,
                  must_exist: bool = False) -> Endpoint:
    """The store at ``url`` with its reader and writer. ``sealer`` opens and seals a SQLite
    store's text (default: the key files beside it); ``must_exist`` refuses a missing file
    instead of creating one (a source)."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        return _sqlite(url, sealer, dim, must_exist)
    if scheme in ("postgres", "postgresql"):
        return _postgres(url, sealer, dim)
    raise ConfigError(f"unknown store URL {url!r}: supported schemes are {', '.join(SCHEMES)}")


def _sqlite(url: str, sealer: Sealer | None, dim: int, must_exist: bool) -> Endpoint:
    from cortex.migrate.sqlite_reader import SQLiteReader
    from cortex.migrate.sqlite_writer import SQLiteWriter
    from cortex.store.sqlite.store import SQLiteStore

    path = sqlite_path(url)
    if must_exist and not path.is_file():
        raise NotFound(f"{url}: no such SQLite file")
    store = SQLiteStore(path, dim=dim, sealer=sealer)
    try:
        writer = SQLiteWriter(store)
    except BaseException:
        store.close()
        raise
    return Endpoint(url=store.url, kind="sqlite", store=store, reader=SQLiteReader(store), writer=writer,
                    closers=[store.close, writer.close])


def _postgres(url: str, sealer: Sealer | None, dim: int) -> Endpoint:
    try:
        from cortex.migrate.postgres_reader import PostgresReader, has_column
        from cortex.migrate.postgres_writer import PostgresWriter
        from cortex.store.postgres.connection import open_pool
        from cortex.store.postgres.store import PostgresStore
    except ImportError as exc:
        raise MissingDependency("PostgreSQL stores need the postgres extra: "
                                "pip install 'cortex-memory[postgres]'") from exc
    store = open_store(url, dim=dim, sealer=sealer)  # applies the migrations
    closers = [store.close]
    try:
        assert isinstance(store, PostgresStore)
        keys = store.sealer  # the one passed, else the store's default keystore
        pool = open_pool(url, max_size=2)
        closers.append(pool.close)
        subjects = has_column(pool, store.where, "memories", "subject")
        vault = has_column(pool, store.where, "vault", "sealed")
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    return Endpoint(url=store.where, kind="postgresql", store=store,
                    reader=PostgresReader(store, pool, keys, subjects=subjects, vault=vault),
                    writer=PostgresWriter(url, pool, store.where, keys, subjects=subjects, vault=vault),
                    subjects=subjects, vault=vault, closers=closers)

__all__ = ["DEFAULT_DIM", "open_endpoint"]
