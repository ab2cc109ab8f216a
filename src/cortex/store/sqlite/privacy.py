"""Sealing, the vault, subject erasure and retention in the SQLite file (migration 0006)."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from cortex.core.models import NewMemory
from cortex.privacy.keys import KeyStore, LocalMasterKey
from cortex.privacy.records import ShieldWrite, VaultEntry
from cortex.privacy.sealing import Sealer
from cortex.store.sqlite import audit, fulltext
from cortex.store.sqlite.rows import to_us

log = logging.getLogger(__name__)


def default_sealer(db_path: Path) -> Sealer:
    """Keys beside the database: ``<db>.master-key`` wraps the data keys in ``<db>.keys``.

    Entry points pass a sealer built from settings (``CORTEX_MASTER_KEY`` and friends);
    a library user who opens a file directly gets these defaults.
    """
    master = LocalMasterKey.from_file(Path(f"{db_path}.master-key"))
    return Sealer(KeyStore(Path(f"{db_path}.keys"), master))


def add_shield_write(conn: sqlite3.Connection, tenant: str, item: NewMemory, extra: ShieldWrite,
                     sealer: Sealer) -> None:
    """The vault items and privacy leaves of one memory, in its transaction."""
    key = sealer.key(tenant, item.subject)
    for entry in extra.vault:
        conn.execute("INSERT INTO vault (tenant, memory_id, placeholder, entity, subject, sealed, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (tenant, item.id, entry.placeholder, entry.entity, item.subject,
                      Sealer.seal(key, item.id, "vault:" + entry.placeholder, entry.value.encode("utf-8")),
                      to_us(item.created_at)))
    for event in extra.events:
        audit.append(conn, event)


def vault_entries(conn: sqlite3.Connection, tenant: str, memory_ids: Sequence[str],
                  sealer: Sealer) -> dict[str, list[VaultEntry]]:
    found: dict[str, list[VaultEntry]] = {}
    for memory_id in memory_ids:
        rows = conn.execute("SELECT placeholder, entity, sealed FROM vault WHERE tenant = ? AND memory_id = ?"
                            " ORDER BY placeholder", (tenant, memory_id)).fetchall()
        for placeholder, entity, sealed in rows:
            value = sealer.open_text(tenant, memory_id, "vault:" + placeholder, sealed)
            entry = VaultEntry(placeholder=placeholder, entity=entity, value=value)
            found.setdefault(memory_id, []).append(entry)
    return found


def seal_legacy_rows(conn: sqlite3.Connection, sealer: Sealer) -> int:
    """After migration 0006: seal rows written in the clear, give every row its blind-index
    tokens and its (contentless) full-text row. A no-op once done."""
    legacy = conn.execute("SELECT m.seq, m.id, m.tenant, m.subject, m.text, m.metadata FROM memories m"
                          " WHERE NOT EXISTS (SELECT 1 FROM fts_source f WHERE f.seq = m.seq)"
                          " ORDER BY m.seq").fetchall()
    if not legacy:
        return 0
    log.info("sealing %d memories written before encryption at rest", len(legacy))
    for seq, memory_id, tenant, subject, text, metadata in legacy:
        if isinstance(text, str):
            key = sealer.key(tenant, subject)
            conn.execute("UPDATE memories SET text = ?, metadata = ? WHERE seq = ?",
                         (Sealer.seal(key, memory_id, "text", text.encode("utf-8")),
                          Sealer.seal(key, memory_id, "metadata", metadata.encode("utf-8")), seq))
            conn.executemany("INSERT OR IGNORE INTO memory_meta (tenant, token, seq) VALUES (?, ?, ?)",
                             [(tenant, t, seq) for t in sealer.metadata_tokens(tenant, json.loads(metadata))])
    for (seq, *_rest) in legacy:
        fulltext.write(conn, seq, sealer)
    return len(legacy)


def scrub(conn: sqlite3.Connection) -> None:
    """After an erasure: merge the full-text index so deleted terms leave its pages, and
    truncate the WAL so no copy of an overwritten page stays in it."""
    fulltext.purge(conn)


def checkpoint_wal(conn: sqlite3.Connection) -> bool:
    """True when the whole WAL was written back and truncated (no reader held it)."""
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy


__all__ = ["add_shield_write", "checkpoint_wal", "default_sealer", "scrub", "seal_legacy_rows",
           "vault_entries"]
