"""The audit log's tables (migration 0003): append leaves inside a write, read them back.

Leaf indexes are 0.. per tenant without gaps. Concurrent writers (threads, API nodes)
append to one tenant's log one at a time: the first append of a transaction takes a
transaction-scoped advisory lock on the tenant, held until commit or rollback.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from cortex.audit.events import AuditEvent, leaf_hash
from cortex.audit.records import AuditLeaf, StoredCheckpoint
from cortex.store.postgres.rows import from_us, to_us

Conn = psycopg.Connection[tuple[Any, ...]]
_LOCK_CLASS = 0x61756474  # "audt"


class Appender:
    """Appends leaves within one transaction; remembers each tenant's next index."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self._next: dict[str, int] = {}

    def append(self, event: AuditEvent) -> AuditLeaf:
        """Add ``event`` as its tenant's next leaf (the transaction must be bound to that tenant)."""
        index = self._next.get(event.tenant)
        if index is None:
            self.conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_CLASS, event.tenant))
            index = size(self.conn, event.tenant)
        body = event.canonical()
        digest = leaf_hash(body)
        self.conn.execute("INSERT INTO audit_log (tenant, idx, leaf_hash, event, memory_id)"
                          " VALUES (%s, %s, %s, %s, %s)",
                          (event.tenant, index, digest, body.decode("utf-8"), event.memory_id))
        self._next[event.tenant] = index + 1
        return AuditLeaf(index=index, leaf_hash=digest, event=body.decode("utf-8"))


def size(conn: Conn, tenant: str) -> int:
    row = conn.execute("SELECT coalesce(max(idx) + 1, 0) FROM audit_log WHERE tenant = %s",
                       (tenant,)).fetchone()
    return 0 if row is None else int(row[0])


def leaves(conn: Conn, tenant: str, start: int, end: int) -> list[AuditLeaf]:
    rows = conn.execute("SELECT idx, leaf_hash, event FROM audit_log WHERE tenant = %s AND idx >= %s"
                        " AND idx < %s ORDER BY idx", (tenant, start, end))
    return [AuditLeaf(index=r[0], leaf_hash=bytes(r[1]), event=r[2]) for r in rows]


def leaf_hashes(conn: Conn, tenant: str, end: int) -> list[bytes]:
    rows = conn.execute("SELECT leaf_hash FROM audit_log WHERE tenant = %s AND idx < %s ORDER BY idx",
                        (tenant, end))
    return [bytes(r[0]) for r in rows]


def leaves_for(conn: Conn, tenant: str, memory_id: str) -> list[AuditLeaf]:
    rows = conn.execute("SELECT idx, leaf_hash, event FROM audit_log WHERE tenant = %s"
                        " AND memory_id = %s ORDER BY idx", (tenant, memory_id))
    return [AuditLeaf(index=r[0], leaf_hash=bytes(r[1]), event=r[2]) for r in rows]


def tenants(conn: Conn) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT cortex_audit_tenants()")]


def add_checkpoint(conn: Conn, checkpoint: StoredCheckpoint) -> None:
    conn.execute("INSERT INTO audit_checkpoints (tenant, size, root, note, created_at)"
                 " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (checkpoint.tenant, checkpoint.size, checkpoint.root, checkpoint.note,
                  to_us(checkpoint.created_at)))


def checkpoints(conn: Conn, tenant: str, after_size: int = -1,
                limit: int | None = None) -> list[StoredCheckpoint]:
    sql = ("SELECT tenant, size, root, note, created_at FROM audit_checkpoints WHERE tenant = %s"
           " AND size > %s ORDER BY size")
    rows = conn.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), (tenant, after_size))
    return [_checkpoint(r) for r in rows]


def latest_checkpoint(conn: Conn, tenant: str) -> StoredCheckpoint | None:
    row = conn.execute("SELECT tenant, size, root, note, created_at FROM audit_checkpoints"
                       " WHERE tenant = %s ORDER BY size DESC LIMIT 1", (tenant,)).fetchone()
    return None if row is None else _checkpoint(row)


def _checkpoint(row: tuple[Any, ...]) -> StoredCheckpoint:
    return StoredCheckpoint(tenant=row[0], size=row[1], root=bytes(row[2]), note=row[3],
                            created_at=from_us(row[4]) or datetime.fromtimestamp(0, UTC))
