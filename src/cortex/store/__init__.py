"""Storage backends, chosen by URL through one registry."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from cortex.core.errors import ConfigError
from cortex.store.base import Progress, ScoredIds, Store

SCHEMES = ("sqlite",)


def sqlite_path(url: str) -> Path:
    """``sqlite:///relative.db`` or ``sqlite:////absolute/path.db`` to a path."""
    parsed = urlparse(url)
    raw = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
    if parsed.scheme != "sqlite" or not raw or parsed.netloc:
        raise ConfigError(f"bad SQLite URL {url!r}: use sqlite:///path/to/file.db")
    if raw == ":memory:":
        raise ConfigError("in-memory SQLite is not supported: use a file path (tmp is fine)")
    return Path(raw)


def open_store(url: str, *, dim: int = 384) -> Store:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from cortex.store.sqlite.store import SQLiteStore

        return SQLiteStore(sqlite_path(url), dim=dim)
    if scheme in ("postgres", "postgresql"):
        raise ConfigError("the PostgreSQL backend is not part of this release yet; "
                          "use sqlite:///path.db")
    raise ConfigError(f"unknown store URL {url!r}: supported schemes are {', '.join(SCHEMES)}")


__all__ = ["Progress", "ScoredIds", "Store", "open_store", "sqlite_path"]
