"""Storage backends, chosen by URL through one registry."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from cortex.core.errors import ConfigError, MissingDependency
from cortex.privacy.sealing import Sealer
from cortex.store.base import Progress, ScoredIds, Store

SCHEMES = ("sqlite", "postgresql", "postgres")


def sqlite_path(url: str) -> Path:
    """``sqlite:///relative.db`` or ``sqlite:////absolute/path.db`` to a path."""
    parsed = urlparse(url)
    raw = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
    if parsed.scheme != "sqlite" or not raw or parsed.netloc:
        raise ConfigError(f"bad SQLite URL {url!r}: use sqlite:///path/to/file.db")
    if raw == ":memory:":
        raise ConfigError("in-memory SQLite is not supported: use a file path (tmp is fine)")
    return Path(raw)


def open_store(url: str, *, dim: int = 384, sealer: Sealer | None = None) -> Store:
    """The backend ``url`` names; ``sealer`` encrypts text and metadata at rest."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from cortex.store.sqlite.store import SQLiteStore

        return SQLiteStore(sqlite_path(url), dim=dim, sealer=sealer)
    if scheme in ("postgres", "postgresql"):
        try:
            from cortex.store.postgres.store import PostgresStore
        except ImportError as exc:
            raise MissingDependency("PostgreSQL stores need the postgres extra: "
                                    "pip install 'cortex-memory[postgres]'") from exc
        return PostgresStore(url, dim=dim, sealer=sealer)
    raise ConfigError(f"unknown store URL {url!r}: supported schemes are {', '.join(SCHEMES)}")


__all__ = ["Progress", "ScoredIds", "Store", "open_store", "sqlite_path"]
