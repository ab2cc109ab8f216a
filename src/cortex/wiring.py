"""Building the engine from ``Settings``: shared by the CLI, the HTTP API and the MCP server.

The library itself takes explicit arguments (``Cortex.open(url, ...)``); only entry
points read settings, and they all assemble the engine here, the same way.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cortex.core.config import Settings
from cortex.store import sqlite_path

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from cortex.embed import Embedder
    from cortex.engine import Cortex
    from cortex.privacy.keys import LocalMasterKey
    from cortex.privacy.sealing import Sealer
    from cortex.working import WorkingMemory


def open_engine(settings: Settings, embedder: Embedder | None = None) -> Cortex:
    from cortex.engine import Cortex, Limits

    limits = Limits(max_text_bytes=settings.max_text_bytes,
                    max_metadata_bytes=settings.max_metadata_bytes, batch_size=settings.batch_size)
    engine = Cortex.open(settings.store_url, embedder=embedder or settings.embedder,
                         tenant=settings.tenant, limits=limits, audit_key=settings.audit_key_file,
                         sealer=open_sealer(settings))
    engine.working = open_working(settings)
    if settings.redis_url is not None and settings.recall_cache_seconds > 0:
        from cortex.cache import RedisRecallCache

        engine.recall_cache = RedisRecallCache(settings.redis_url.get_secret_value(),
                                               settings.recall_cache_seconds)
    return engine


def key_paths(settings: Settings) -> tuple[Path, Path]:
    """(master key file, keystore file): settings first, else beside the SQLite file (for
    PostgreSQL: in a per-user folder, never in the database; see docs/security.md)."""
    if settings.store_url.startswith(("postgresql:", "postgres:")):
        from cortex.store.postgres.keys import default_key_paths

        master, keystore = default_key_paths(settings.store_url)
    else:
        base = (str(sqlite_path(settings.store_url)) if settings.store_url.startswith("sqlite:")
                else "cortex")
        master, keystore = Path(f"{base}.master-key"), Path(f"{base}.keys")
    return (Path(settings.master_key_file) if settings.master_key_file else master,
            Path(settings.keystore) if settings.keystore else keystore)


def open_master_key(settings: Settings) -> LocalMasterKey:
    from cortex.privacy.keys import open_master_key as from_sources

    env = settings.master_key.get_secret_value() if settings.master_key is not None else None
    return from_sources(env, key_paths(settings)[0])


def open_sealer(settings: Settings) -> Sealer:
    """Envelope encryption from settings: the master key wraps the keystore's data keys
    (every backend; all API nodes of one PostgreSQL database must share both)."""
    from cortex.core.errors import MasterKeyError
    from cortex.privacy.keys import KeyStore, LocalMasterKey
    from cortex.privacy.sealing import Sealer

    master_file, keystore = key_paths(settings)
    try:
        return Sealer(KeyStore(keystore, open_master_key(settings)))
    except MasterKeyError:
        # A rotation that committed the keystore but stopped before replacing the key file
        # left the new key beside it: finish the rotation.
        staged = master_file.with_name(master_file.name + ".new")
        if settings.master_key is not None or not staged.exists():
            raise
        sealer = Sealer(KeyStore(keystore, LocalMasterKey.from_file(staged, create=False)))
        os.replace(staged, master_file)
        return sealer


def open_working(settings: Settings) -> WorkingMemory:
    """Sessions in Redis when configured (every node), else beside the SQLite memories (every
    worker process and restart sees them)."""
    from cortex.working import LocalWorkingMemory

    if settings.redis_url is not None:  # shared by every API node
        from cortex.working.redis import RedisWorkingMemory

        return RedisWorkingMemory(settings.redis_url.get_secret_value(),
                                  max_messages=settings.working_max_messages,
                                  max_tokens=settings.working_max_tokens,
                                  ttl_seconds=settings.working_ttl_seconds)
    if settings.store_url.startswith("sqlite:"):
        from cortex.working.sqlite import SQLiteWorkingMemory

        return SQLiteWorkingMemory(sqlite_path(settings.store_url),
                                   max_messages=settings.working_max_messages,
                                   max_tokens=settings.working_max_tokens)
    log.warning("working memory is kept per process: set CORTEX_REDIS_URL so every worker and "
                "API node sees the same sessions")
    return LocalWorkingMemory(max_messages=settings.working_max_messages,
                              max_tokens=settings.working_max_tokens)
