"""Where a PostgreSQL store's keys live when nobody says: outside the database, on purpose.

The data keys that seal memories are kept in a keystore file (``cortex.privacy.keys``),
never in the database, so destroying a subject's key (crypto-shredding) also reaches
database backups, replicas and dumps. A database has no folder beside it, so the default
is a per-user folder, one pair of files per database (named by a hash of its host, port
and name — not the user, password or options, which may change)::

    ~/.cortex/pg-<hash>.master-key   the master key (created 0600 on first use)
    ~/.cortex/pg-<hash>.keys         the wrapped data keys

That is right for one node. Several API nodes must share one keystore and master key:
entry points take them from ``CORTEX_KEYSTORE`` and ``CORTEX_MASTER_KEY(_FILE)``
(``cortex.wiring.open_sealer``); docs/security.md says how.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cortex.privacy.keys import KeyStore, LocalMasterKey
from cortex.privacy.sealing import Sealer

KEY_FOLDER = ".cortex"


def database_identity(url: str) -> str:
    """``host:port/dbname`` of a PostgreSQL URL (libpq's parsing; no user or password)."""
    import psycopg

    info = psycopg.conninfo.conninfo_to_dict(url)
    host, port = str(info.get("host") or ""), str(info.get("port") or "5432")
    return f"{host}:{port}/{info.get('dbname') or info.get('user') or ''}"


def default_key_paths(url: str, home: Path | None = None) -> tuple[Path, Path]:
    """(master key file, keystore file) of a database when no setting names them."""
    digest = hashlib.sha256(database_identity(url).encode("utf-8")).hexdigest()[:16]
    base = (home or Path.home()) / KEY_FOLDER / f"pg-{digest}"
    return Path(f"{base}.master-key"), Path(f"{base}.keys")


def default_sealer(url: str) -> Sealer:
    """The sealer a store builds for itself when none is passed (library use, one node)."""
    master, keystore = default_key_paths(url)
    return Sealer(KeyStore(keystore, LocalMasterKey.from_file(master)))


__all__ = ["KEY_FOLDER", "database_identity", "default_key_paths", "default_sealer"]
