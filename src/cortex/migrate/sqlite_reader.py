"""Reading a SQLite store's rows for a migration, opening what it sealed with its sealer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

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
from cortex.store.sqlite.connection import translate_errors
from cortex.store.sqlite.store import SQLiteStore

_MEMORY = ("m.seq, m.id, m.tenant, m.namespace, m.kind, m.text, m.metadata, m.tags, m.source,"
           " m.importance, m.created_at, m.occurred_at, m.valid_from, m.valid_to, m.expires_at,"
           " m.content_hash, m.session, m.supersedes, m.superseded_by, m.bytes, m.subject,"
           " v.model, v.dim, v.vector FROM memories m LEFT JOIN vectors v ON v.seq = m.seq")
_IDENTITY = ("seq, id, tenant, namespace, kind, content_hash, created_at, valid_from, subject, valid_to,"
             " superseded_by FROM memories")
_KEY = "id, tenant, role, namespaces, name, secret_sha256, created_at, expires_at, revoked_at FROM api_keys"
_CHUNK = 500  # ids per IN (...) list
_TENANT_TABLES = ("memories", "audit_log", "api_keys", "tenant_settings", "tenant_policies",
                  "audit_checkpoints")


class SQLiteReader:
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.sealer: Sealer = store.sealer

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with translate_errors(self.store.path):
            return self.store.raw().execute(sql, tuple(params)).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self._rows(sql, params)[0][0])

    def tenants(self) -> list[str]:
        found: set[str] = set()
        for table in _TENANT_TABLES:
            found |= {r[0] for r in self._rows(f"SELECT DISTINCT tenant FROM {table}")}
        return sorted(found)

    def dims(self, tenant: str | None) -> set[int]:
        if tenant is None:
            return {int(r[0]) for r in self._rows("SELECT DISTINCT dim FROM vectors")}
        return {int(r[0]) for r in self._rows("SELECT DISTINCT v.dim FROM vectors v JOIN memories m"
                                              " ON m.seq = v.seq WHERE m.tenant = ?", (tenant,))}

    # ---- memories ------------------------------------------------------------------
    def memories(self, tenant: str, after: Cursor, limit: int) -> list[tuple[Cursor, MemoryRecord]]:
        rows = self._rows(f"SELECT {_MEMORY} WHERE m.tenant = ? AND m.seq > ? ORDER BY m.seq LIMIT ?",
                          (tenant, after, limit))
        vault = self._vault(tenant, [r[1] for r in rows])
        return [(int(r[0]), self._record(r, vault.get(r[1], ()))) for r in rows]

    def memories_by_id(self, tenant: str, ids: Sequence[str]) -> dict[str, MemoryRecord]:
        found: dict[str, MemoryRecord] = {}
        for chunk in _chunks(ids):
            rows = self._rows(f"SELECT {_MEMORY} WHERE m.id IN ({_marks(chunk)}) AND m.tenant = ?",
                              (*chunk, tenant))
            vault = self._vault(tenant, [r[1] for r in rows])
            found.update((r[1], self._record(r, vault.get(r[1], ()))) for r in rows)
        return found

    def _record(self, r: Any, vault: Sequence[VaultRecord]) -> MemoryRecord:
        tenant, memory_id = r[2], r[1]
        return MemoryRecord(
            id=memory_id, tenant=tenant, namespace=r[3], kind=r[4],
            text=self.sealer.open_text(tenant, memory_id, "text", r[5]),
            metadata=json.loads(self.sealer.open(tenant, memory_id, "metadata", r[6])),
            tags=json.loads(r[7]), source=json.loads(r[8]), importance=float(r[9]),
            created_at=r[10], occurred_at=r[11], valid_from=r[12], valid_to=r[13], expires_at=r[14],
            content_hash=r[15], session=r[16], supersedes=r[17], superseded_by=r[18], size_bytes=r[19],
            subject=r[20], model=r[21], dim=r[22], vector=None if r[23] is None else bytes(r[23]),
            vault=tuple(vault))

    def _vault(self, tenant: str, ids: Sequence[str]) -> dict[str, list[VaultRecord]]:
        found: dict[str, list[VaultRecord]] = {}
        for chunk in _chunks(ids):
            rows = self._rows("SELECT memory_id, placeholder, entity, sealed, created_at FROM vault"
                              f" WHERE tenant = ? AND memory_id IN ({_marks(chunk)})"
                              " ORDER BY memory_id, placeholder", (tenant, *chunk))
            for memory_id, placeholder, entity, sealed, created_at in rows:
                value = self.sealer.open_text(tenant, memory_id, "vault:" + placeholder, sealed)
                found.setdefault(memory_id, []).append(VaultRecord(placeholder, entity, value, created_at))
        return found

    def identities(self, tenant: str, after: Cursor, limit: int) -> list[tuple[Cursor, Identity]]:
        rows = self._rows(f"SELECT {_IDENTITY} WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?",
                          (tenant, after, limit))
        return [(int(r[0]), Identity(*r[1:])) for r in rows]

    def lookup(self, ids: Sequence[str]) -> dict[str, Identity]:
        found: dict[str, Identity] = {}
        for chunk in _chunks(ids):
            rows = self._rows(f"SELECT {_IDENTITY} WHERE id IN ({_marks(chunk)})", chunk)
            found.update((r[1], Identity(*r[1:])) for r in rows)
        return found

    def sample_ids(self, tenant: str, size: int) -> list[str]:
        ids = [r[0] for r in self._rows("SELECT id FROM memories WHERE tenant = ? ORDER BY id", (tenant,))]
        return spread(ids, size)

    def subjects(self, tenant: str) -> tuple[int, int]:
        with_subject = "SELECT count(*) FROM memories WHERE tenant = ? AND subject IS NOT NULL"
        return (self._one(with_subject, (tenant,)),
                self._one("SELECT count(*) FROM vault WHERE tenant = ?", (tenant,)))

    # ---- the audit log, accounts, settings -----------------------------------------
    def leaves(self, tenant: str, start: int, end: int) -> list[LeafRecord]:
        rows = self._rows("SELECT tenant, idx, leaf_hash, event, memory_id FROM audit_log"
                          " WHERE tenant = ? AND idx >= ? AND idx < ? ORDER BY idx", (tenant, start, end))
        return [LeafRecord(r[0], r[1], bytes(r[2]), r[3], r[4]) for r in rows]

    def checkpoints(self, tenant: str) -> list[CheckpointRecord]:
        rows = self._rows("SELECT tenant, size, root, note, created_at FROM audit_checkpoints"
                          " WHERE tenant = ? ORDER BY size", (tenant,))
        return [CheckpointRecord(r[0], r[1], bytes(r[2]), r[3], r[4]) for r in rows]

    def keys(self, tenant: str) -> list[KeyRecord]:
        return [_key(r) for r in self._rows(f"SELECT {_KEY} WHERE tenant = ? ORDER BY created_at, id",
                                            (tenant,))]

    def keys_by_id(self, ids: Sequence[str]) -> dict[str, KeyRecord]:
        found: dict[str, KeyRecord] = {}
        for chunk in _chunks(ids):
            found.update((r[0], _key(r)) for r in self._rows(f"SELECT {_KEY} WHERE id IN ({_marks(chunk)})",
                                                              chunk))
        return found

    def settings(self, tenant: str) -> SettingsRecord | None:
        rows = self._rows("SELECT tenant, fusion_weights FROM tenant_settings WHERE tenant = ?", (tenant,))
        return SettingsRecord(*rows[0]) if rows else None

    def policies(self, tenant: str) -> PoliciesRecord | None:
        rows = self._rows("SELECT tenant, policies, updated_at FROM tenant_policies WHERE tenant = ?",
                          (tenant,))
        return PoliciesRecord(*rows[0]) if rows else None

    def constitutions(self) -> list[ConstitutionRecord]:
        return [ConstitutionRecord(*r) for r in
                self._rows("SELECT version, envelope, applied_at FROM constitutions ORDER BY version")]

    def sessions(self, tenant: str) -> list[SessionMessage]:
        rows = self._rows("SELECT tenant, session, id, role, text, speaker, at, tokens FROM session_messages"
                          " WHERE tenant = ? ORDER BY seq", (tenant,))
        return [SessionMessage(*r) for r in rows]

    def counts(self, tenant: str) -> Counts:
        def count(sql: str) -> int:
            return self._one(sql, (tenant,))

        return Counts(
            memories=count("SELECT count(*) FROM memories WHERE tenant = ?"),
            vectors=count("SELECT count(*) FROM vectors v JOIN memories m ON m.seq = v.seq"
                          " WHERE m.tenant = ?"),
            tags=count("SELECT count(*) FROM memory_tags WHERE tenant = ?"),
            vault=count("SELECT count(*) FROM vault WHERE tenant = ?"),
            keys=count("SELECT count(*) FROM api_keys WHERE tenant = ?"),
            audit_leaves=count("SELECT count(*) FROM audit_log WHERE tenant = ?"),
            checkpoints=count("SELECT count(*) FROM audit_checkpoints WHERE tenant = ?"),
            sessions=count("SELECT count(*) FROM session_messages WHERE tenant = ?"))


def _key(r: Any) -> KeyRecord:
    return KeyRecord(id=r[0], tenant=r[1], role=r[2], namespaces=None if r[3] is None else json.loads(r[3]),
                     name=r[4], secret_sha256=r[5], created_at=r[6], expires_at=r[7], revoked_at=r[8])


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    return [list(ids[i:i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]


def _marks(chunk: Sequence[str]) -> str:
    return ",".join("?" * len(chunk))


__all__ = ["SQLiteReader"]
