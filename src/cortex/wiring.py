"""Building the engine from ``Settings``: shared by the CLI, the HTTP API and the MCP server.

The library itself takes explicit arguments (``Cortex.open(url, ...)``); only entry
points read settings, and they all assemble the engine here, the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cortex.core.config import Settings
from cortex.store import sqlite_path

if TYPE_CHECKING:
    from cortex.embed import Embedder
    from cortex.engine import Cortex
    from cortex.working import WorkingMemory


def open_engine(settings: Settings, embedder: Embedder | None = None) -> Cortex:
    from cortex.engine import Cortex, Limits

    limits = Limits(max_text_bytes=settings.max_text_bytes,
                    max_metadata_bytes=settings.max_metadata_bytes, batch_size=settings.batch_size)
    engine = Cortex.open(settings.store_url, embedder=embedder or settings.embedder,
                         tenant=settings.tenant, limits=limits, audit_key=settings.audit_key_file)
    engine.working = open_working(settings)
    return engine


def open_working(settings: Settings) -> WorkingMemory:
    """Sessions live beside the memories, so every worker process and restart sees them."""
    from cortex.working import LocalWorkingMemory

    if settings.store_url.startswith("sqlite:"):
        from cortex.working.sqlite import SQLiteWorkingMemory

        return SQLiteWorkingMemory(sqlite_path(settings.store_url),
                                   max_messages=settings.working_max_messages,
                                   max_tokens=settings.working_max_tokens)
    return LocalWorkingMemory(max_messages=settings.working_max_messages,
                              max_tokens=settings.working_max_tokens)
