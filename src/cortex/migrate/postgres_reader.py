"""Reading a PostgreSQL store's rows for a migration, opening what it sealed with its sealer.

Row-level security stays in force: each read is a transaction as the serving role bound
to one tenant (the store's own ``connection.transaction``). The few reads that must
cross tenants (which tenants have keys; whether an id or a key id is taken anywhere) run
as ``cortex_cross_tenant``, the role whose policies allow SELECT across tenants on
memories, api_keys and audit_log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import psycopg
import psycopg_pool

from cortex.migrate.base import Cursor, spread
from cortex.migrate.records import (
    CheckpointRecord,
    ConstitutionRecord,
    Counts,
    Identity,
    KeyRecord,
    LeafRecord,
    MemoryRecord,
    PoliciesRecord,
    SessionMessage,
    SettingsRecord,
    VaultRecord,
)
from cortex.privacy.sealing import Sealer
from cortex.store.postgres.connection import APP_ROLE, NO_TENANT, transaction
from cortex.store.postgres.rows import parse_vector
from cortex.store.postgres.store import PostgresStore

Conn = psycopg.Connection[tuple[Any, ...]]
Pool = psycopg_pool.ConnectionPool[psycopg.Connection[tuple[object, ...]]]
CROSS_TENANT_ROLE = "cortex_cross_tenant"
_KEY = "id, tenant, role, namespaces, name, secret_sha256, created_at, expires_at, revoked_at FROM api_keys"


def has_column(pool: Pool, where: str, table: str, column: str) -> bool:
    """Whether the schema has this column (what the store can keep: subjects, the vault)."""
    with transaction(pool, where, NO_TENANT) as conn:
        row = conn.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                           " AND table_name = %s AND column_name = %s", (table, column)).fetchone()
    return row is not None


class PostgresReader:
    def __init__(self, store: PostgresStore, pool: Pool, sealer: Sealer, *, subjects: bool,
                 vault: bool) -> None:
        self.store = store
        self.pool = pool
        self.sealer = sealer
        self.where = store.where
        self._vault_table = vault
        subject = "m.subject" if subjects else "NULL::text"
        self._memory = (
            "m.seq, m.id, m.tenant, m.namespace, m.kind, m.text, m.metadata, m.tags, m.source,"
            " m.importance, m.created_at, m.occurred_at, m.valid_from, m.valid_to, m.expires_at,"
            f" m.content_hash, m.session, m.supersedes, m.superseded_by, m.bytes, {subject},"
            " v.model, v.dim, v.embedding::text FROM memories m LEFT JOIN vectors v ON v.seq = m.seq")
        self._identity = ("m.seq, m.id, m.tenant, m.namespace, m.kind, m.content_hash, m.created_at,"
                          f" m.valid_from, {subject}, m.valid_to, m.superseded_by FROM memories m")
        self._subjects = subjects

    def _tx(self, tenant: str, role: str = APP_ROLE) -> AbstractContextManager[Conn]:
        return transaction(self.pool, self.where, tenant, role=role)

    def _rows(self, tenant: str, sql: str, params: Sequence[Any] = (), *,
              role: str = APP_ROLE) -> list[tuple[Any, ...]]:
        with self._tx(tenant, role) as conn:
            return conn.execute(sql, tuple(params)).fetchall()

    def _count(self, tenant: str, sql: str) -> int:
        return int(self._rows(tenant, sql, (tenant,))[0][0])

    def tenants(self) -> list[str]:
        keyed = {str(r[0]) for r in self._rows(NO_TENANT, "SELECT DISTINCT tenant FROM api_keys",
                                               role=CROSS_TENANT_ROLE)}
        return sorted(set(self.store.tenants()) | set(self.store.audit_tenants()) | keyed)

    def dims(self, tenant: str | None) -> set[int]:
        if tenant is None:  # vectors are not readable across tenants: ask each tenant
            return set().union(*(self.dims(t) for t in self.tenants()))
        return {int(r[0]) for r in self._rows(tenant, "SELECT DISTINCT dim FROM vectors WHERE tenant = %s",
                                              (tenant,))}

    # ---- memories ------------------------------------------------------------------
    def memories(self, tenant: str, after: Cursor, limit: int) -> list[tuple[Cursor, MemoryRecord]]:
        rows = self._rows(tenant, f"SELECT {self._memory} WHERE m.tenant = %s AND m.seq > %s"
                          " ORDER BY m.seq LIMIT %s", (tenant, after, limit))
        vault = self._vault(tenant, [str(r[1]) for r in rows])
        return [(int(r[0]), self._record(r, vault.get(r[1], ()))) for r in rows]

    def memories_by_id(self, tenant: str, ids: Sequence[str]) -> dict[str, MemoryRecord]:
        rows = self._rows(tenant, f"SELECT {self._memory} WHERE m.id = ANY(%s) AND m.tenant = %s",
                          (list(ids), tenant))
        vault = self._vault(tenant, [str(r[1]) for r in rows])
        return {str(r[1]): self._record(r, vault.get(r[1], ())) for r in rows}

    def _record(self, r: tuple[Any, ...], vault: Sequence[VaultRecord]) -> MemoryRecord:
        tenant, memory_id = str(r[2]), str(r[1])
        vector = None if r[23] is None else np.asarray(parse_vector(str(r[23])), dtype="<f4").tobytes()
        return MemoryRecord(
            id=memory_id, tenant=tenant, namespace=r[3], kind=r[4],
            text=self.sealer.open_text(tenant, memory_id, "text", bytes(r[5])),
            metadata=json.loads(self.sealer.open(tenant, memory_id, "metadata", bytes(r[6]))),
            tags=list(r[7]), source=dict(r[8]), importance=float(r[9]), created_at=int(r[10]),
            occurred_at=_int(r[11]), valid_from=int(r[12]), valid_to=_int(r[13]), expires_at=_int(r[14]),
            content_hash=r[15], session=r[16], supersedes=r[17], superseded_by=r[18],
            size_bytes=int(r[19]), subject=r[20], model=r[21], dim=_int(r[22]), vector=vector,
            vault=tuple(vault))

    def _vault(self, tenant: str, ids: Sequence[str]) -> dict[str, list[VaultRecord]]:
        found: dict[str, list[VaultRecord]] = {}
        if not self._vault_table or not ids:
            return found
        rows = self._rows(tenant, "SELECT memory_id, placeholder, entity, sealed, created_at FROM vault"
                          " WHERE tenant = %s AND memory_id = ANY(%s) ORDER BY memory_id, placeholder",
                          (tenant, list(ids)))
        for memory_id, placeholder, entity, sealed, created_at in rows:
            value = self.sealer.open_text(tenant, memory_id, "vault:" + placeholder, bytes(sealed))
            found.setdefault(memory_id, []).append(VaultRecord(placeholder, entity, value, int(created_at)))
        return found

    def identities(self, tenant: str, after: Cursor, limit: int) -> list[tuple[Cursor, Identity]]:
        rows = self._rows(tenant, f"SELECT {self._identity} WHERE m.tenant = %s AND m.seq > %s"
                          " ORDER BY m.seq LIMIT %s", (tenant, after, limit))
        return [(int(r[0]), Identity(*r[1:])) for r in rows]

    def lookup(self, ids: Sequence[str]) -> dict[str, Identity]:
        rows = self._rows(NO_TENANT, f"SELECT {self._identity} WHERE m.id = ANY(%s)", (list(ids),),
                          role=CROSS_TENANT_ROLE)
        return {str(r[1]): Identity(*r[1:]) for r in rows}

    def sample_ids(self, tenant: str, size: int) -> list[str]:
        rows = self._rows(tenant, "SELECT id FROM memories WHERE tenant = %s ORDER BY id", (tenant,))
        return spread([str(r[0]) for r in rows], size)

    def subjects(self, tenant: str) -> tuple[int, int]:
        with_subject = "SELECT count(*) FROM memories WHERE tenant = %s AND subject IS NOT NULL"
        in_vault = "SELECT count(*) FROM vault WHERE tenant = %s"
        return (self._count(tenant, with_subject) if self._subjects else 0,
                self._count(tenant, in_vault) if self._vault_table else 0)

    # ---- the audit log, accounts, settings -----------------------------------------
    def leaves(self, tenant: str, start: int, end: int) -> list[LeafRecord]:
        rows = self._rows(tenant, "SELECT tenant, idx, leaf_hash, event, memory_id FROM audit_log"
                          " WHERE tenant = %s AND idx >= %s AND idx < %s ORDER BY idx", (tenant, start, end))
        return [LeafRecord(r[0], int(r[1]), bytes(r[2]), r[3], r[4]) for r in rows]

    def checkpoints(self, tenant: str) -> list[CheckpointRecord]:
        rows = self._rows(tenant, "SELECT tenant, size, root, note, created_at FROM audit_checkpoints"
                          " WHERE tenant = %s ORDER BY size", (tenant,))
        return [CheckpointRecord(r[0], int(r[1]), bytes(r[2]), r[3], int(r[4])) for r in rows]

    def keys(self, tenant: str) -> list[KeyRecord]:
        rows = self._rows(tenant, f"SELECT {_KEY} WHERE tenant = %s ORDER BY created_at, id", (tenant,))
        return [_key(r) for r in rows]

    def keys_by_id(self, ids: Sequence[str]) -> dict[str, KeyRecord]:
        rows = self._rows(NO_TENANT, f"SELECT {_KEY} WHERE id = ANY(%s)", (list(ids),),
                          role=CROSS_TENANT_ROLE)
        return {str(r[0]): _key(r) for r in rows}

    def settings(self, tenant: str) -> SettingsRecord | None:
        rows = self._rows(tenant, "SELECT tenant, fusion_weights FROM tenant_settings WHERE tenant = %s",
                          (tenant,))
        return SettingsRecord(*rows[0]) if rows else None

    def policies(self, tenant: str) -> PoliciesRecord | None:
        rows = self._rows(tenant, "SELECT tenant, policies, updated_at FROM tenant_policies"
                          " WHERE tenant = %s", (tenant,))
        return PoliciesRecord(rows[0][0], rows[0][1], int(rows[0][2])) if rows else None

    def constitutions(self) -> list[ConstitutionRecord]:
        rows = self._rows(NO_TENANT, "SELECT version, envelope, applied_at FROM constitutions"
                          " ORDER BY version")
        return [ConstitutionRecord(int(r[0]), r[1], int(r[2])) for r in rows]

    def sessions(self, tenant: str) -> list[SessionMessage]:
        rows = self._rows(tenant, "SELECT tenant, session, id, role, text, speaker, at, tokens"
                          " FROM session_messages WHERE tenant = %s ORDER BY seq", (tenant,))
        return [SessionMessage(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7])) for r in rows]

    def counts(self, tenant: str) -> Counts:
        queries = {
            "memories": "SELECT count(*) FROM memories WHERE tenant = %s",
            "vectors": "SELECT count(*) FROM vectors WHERE tenant = %s",
            "tags": "SELECT count(*) FROM memory_tags WHERE tenant = %s",
            "keys": "SELECT count(*) FROM api_keys WHERE tenant = %s",
            "audit_leaves": "SELECT count(*) FROM audit_log WHERE tenant = %s",
            "checkpoints": "SELECT count(*) FROM audit_checkpoints WHERE tenant = %s",
            "sessions": "SELECT count(*) FROM session_messages WHERE tenant = %s",
        }
        if self._vault_table:
            queries["vault"] = "SELECT count(*) FROM vault WHERE tenant = %s"
        with self._tx(tenant) as conn:
            found = {name: _scalar(conn.execute(sql, (tenant,))) for name, sql in queries.items()}
        return Counts(**found)


def _scalar(cursor: psycopg.Cursor[tuple[Any, ...]]) -> int:
    row = cursor.fetchone()
    return 0 if row is None else int(row[0])


def _key(r: tuple[Any, ...]) -> KeyRecord:
    return KeyRecord(id=r[0], tenant=r[1], role=r[2], namespaces=None if r[3] is None else list(r[3]),
                     name=r[4], secret_sha256=r[5], created_at=int(r[6]), expires_at=_int(r[7]),
                     revoked_at=_int(r[8]))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


__all__ = ["CROSS_TENANT_ROLE", "PostgresReader", "has_column"]
