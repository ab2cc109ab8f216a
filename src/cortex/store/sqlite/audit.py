"""The audit log's tables (migration 0003): append a leaf inside a write, read leaves back."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from cortex.audit.events import AuditEvent, leaf_hash
from cortex.audit.records import AuditLeaf, StoredCheckpoint
from cortex.store.sqlite.rows import from_us, to_us


def append(conn: sqlite3.Connection, event: AuditEvent) -> AuditLeaf:
    """Add ``event`` as the tenant's next leaf; the caller's transaction makes it atomic."""
    size = conn.execute("SELECT coalesce(max(idx) + 1, 0) FROM audit_log WHERE tenant = ?",
                        (event.tenant,)).fetchone()[0]
    body = event.canonical()
    digest = leaf_hash(body)
    conn.execute("INSERT INTO audit_log (tenant, idx, leaf_hash, event, memory_id) VALUES (?, ?, ?, ?, ?)",
                 (event.tenant, size, digest, body.decode("utf-8"), event.memory_id))
    return AuditLeaf(index=size, leaf_hash=digest, event=body.decode("utf-8"))


def size(conn: sqlite3.Connection, tenant: str) -> int:
    return int(conn.execute("SELECT coalesce(max(idx) + 1, 0) FROM audit_log WHERE tenant = ?",
                            (tenant,)).fetchone()[0])


def leaves(conn: sqlite3.Connection, tenant: str, start: int, end: int) -> list[AuditLeaf]:
    rows = conn.execute("SELECT idx, leaf_hash, event FROM audit_log WHERE tenant = ? AND idx >= ?"
                        " AND idx < ? ORDER BY idx", (tenant, start, end))
    return [AuditLeaf(index=r[0], leaf_hash=bytes(r[1]), event=r[2]) for r in rows]


def leaf_hashes(conn: sqlite3.Connection, tenant: str, end: int) -> list[bytes]:
    rows = conn.execute("SELECT leaf_hash FROM audit_log WHERE tenant = ? AND idx < ? ORDER BY idx",
                        (tenant, end))
    return [bytes(r[0]) for r in rows]


def leaves_for(conn: sqlite3.Connection, tenant: str, memory_id: str) -> list[AuditLeaf]:
    rows = conn.execute("SELECT idx, leaf_hash, event FROM audit_log WHERE tenant = ? AND memory_id = ?"
                        " ORDER BY idx", (tenant, memory_id))
    return [AuditLeaf(index=r[0], leaf_hash=bytes(r[1]), event=r[2]) for r in rows]


def tenants(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT tenant FROM audit_log ORDER BY tenant")]


def add_checkpoint(conn: sqlite3.Connection, checkpoint: StoredCheckpoint) -> None:
    conn.execute("INSERT OR IGNORE INTO audit_checkpoints (tenant, size, root, note, created_at)"
                 " VALUES (?, ?, ?, ?, ?)", (checkpoint.tenant, checkpoint.size, checkpoint.root,
                                             checkpoint.note, to_us(checkpoint.created_at)))


def checkpoints(conn: sqlite3.Connection, tenant: str, after_size: int = -1,
                limit: int | None = None) -> list[StoredCheckpoint]:
    sql = ("SELECT tenant, size, root, note, created_at FROM audit_checkpoints WHERE tenant = ?"
           " AND size > ? ORDER BY size")
    rows = conn.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), (tenant, after_size))
    return [_checkpoint(r) for r in rows]


def latest_checkpoint(conn: sqlite3.Connection, tenant: str) -> StoredCheckpoint | None:
    row = conn.execute("SELECT tenant, size, root, note, created_at FROM audit_checkpoints"
                       " WHERE tenant = ? ORDER BY size DESC LIMIT 1", (tenant,)).fetchone()
    return None if row is None else _checkpoint(row)


def _checkpoint(row: tuple[Any, ...]) -> StoredCheckpoint:
    return StoredCheckpoint(tenant=row[0], size=row[1], root=bytes(row[2]), note=row[3],
                            created_at=from_us(row[4]) or datetime.fromtimestamp(0, UTC))
