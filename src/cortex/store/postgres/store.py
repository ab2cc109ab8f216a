"""The scale-out backend: PostgreSQL + pgvector, shared by any number of API nodes.

Every call is one transaction on a pooled connection, acting as the serving role
``cortex_app`` and bound to one tenant (``connection.transaction``), so row-level
security holds even if a query forgot its tenant condition (each one also has it). A
write covers the row, its tags, its vector, its search vector and its audit leaf.
Vector search runs in the database (pgvector HNSW, or an exact scan for small tenants):
there is no in-process index to keep in step, so nodes see each other's writes at once.

Text, metadata and vault values are sealed by ``sealer`` (``cortex.privacy.sealing``)
with keys from a keystore kept outside the database; erasing a subject deletes its rows
and then destroys its data key, which also makes copies of the database unreadable for it.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import psycopg

from cortex.audit import events as audit_events
from cortex.audit.records import AuditLeaf, StoredCheckpoint
from cortex.core.errors import ConfigError, Conflict, InvalidInput, MemoryNotFound
from cortex.core.models import (
    ApiKey,
    CheckReport,
    FusionWeights,
    Memory,
    MemoryFilter,
    NamespaceStats,
    NewMemory,
    Usage,
    utcnow,
)
from cortex.embed.base import Vectors
from cortex.privacy.records import ShieldWrite, VaultEntry
from cortex.privacy.sealing import Sealer
from cortex.store.base import Progress, ScoredIds
from cortex.store.postgres import accounts, audit, governance, maintenance, memories, privacy, search
from cortex.store.postgres.connection import (
    NO_TENANT,
    bind_tenant,
    open_pool,
    redact,
    transaction,
    translate_errors,
)
from cortex.store.postgres.keys import default_sealer
from cortex.store.postgres.migrate import migrate
from cortex.store.postgres.rows import MEMORY_COLUMNS, filter_sql, memory_from_row, parse_vector, to_us

Conn = psycopg.Connection[tuple[Any, ...]]


class PostgresStore:
    """``Store`` over a PostgreSQL database with pgvector. Safe to share between threads.

    ``sealer``: the keys that seal text, metadata and vault values. Entry points pass the
    one their settings name (``cortex.wiring.open_sealer``); without one, the store makes
    its own on first use, in a per-user folder (``cortex.store.postgres.keys``): fine for
    one node, wrong for several (they must share one keystore and master key)."""

    def __init__(self, url: str, *, dim: int = 384, pool_size: int = 8,
                 sealer: Sealer | None = None) -> None:
        self.url = url
        self.where = redact(url)
        self.dim = dim
        self._sealer = sealer
        self._sealer_lock = threading.Lock()
        self._tenant_keys_checked: set[str] = set()
        with translate_errors(self.where), psycopg.connect(url, autocommit=True) as conn:
            migrate(conn, dim, after={6: lambda c: privacy.seal_legacy_rows(c, lambda: self.sealer),
                                      7: lambda c: maintenance.rederive_search(c, lambda: self.sealer)})
        self._pool = open_pool(url, max_size=pool_size)

    @property
    def sealer(self) -> Sealer:
        """The sealer passed in, else the default one (built on first use, so opening a store
        only to migrate or to read accounts creates no key files)."""
        with self._sealer_lock:
            if self._sealer is None:
                self._sealer = default_sealer(self.url)
            return self._sealer

    def _tx(self, tenant: str) -> Any:
        return transaction(self._pool, self.where, tenant)

    def close(self) -> None:
        self._pool.close()
        if self._sealer is not None:
            self._sealer.keystore.close()

    def _check_tenant_key(self, conn: Conn, tenant: str) -> None:
        """Before this process first writes for a tenant: refuse to seal under a tenant key
        other than the one the tenant's rows carry (a node with its own keystore)."""
        if tenant in self._tenant_keys_checked:
            return
        if not privacy.tenant_key_matches(conn, tenant, self.sealer):
            raise ConfigError(
                f"tenant {tenant!r}: its memories are sealed under a data key this keystore "
                f"({self.sealer.keystore.path}) does not hold. Every API node must use the same "
                "keystore and master key (CORTEX_KEYSTORE, CORTEX_MASTER_KEY; docs/security.md)")
        self._tenant_keys_checked.add(tenant)

    # ---- writes ------------------------------------------------------------------
    def insert(self, tenant: str, items: Sequence[NewMemory], vectors: Vectors, model: str,
               shielded: Mapping[str, ShieldWrite] | None = None) -> builtins.list[Memory]:
        self._check_vectors(vectors, len(items))
        with self._tx(tenant) as conn:
            self._check_tenant_key(conn, tenant)
            # every subject lock before any row is written (the usage trigger locks a row)
            for subject in sorted({item.subject for item in items if item.subject is not None}):
                memories.lock_subject(conn, tenant, subject, exclusive=False)
            writer = memories.Writer(conn, tenant, self.dim, audit.Appender(conn), self.sealer)
            for item, vector in zip(items, vectors, strict=True):
                writer.insert(item, vector, model, (shielded or {}).get(item.id))
        return [_as_memory(tenant, item) for item in items]

    def supersede(self, tenant: str, old_id: str, new: NewMemory, vector: Vectors,
                  model: str, at: datetime, shielded: ShieldWrite | None = None) -> Memory:
        self._check_vectors(vector, 1)
        with self._tx(tenant) as conn:
            self._check_tenant_key(conn, tenant)
            if new.subject is not None:  # before the row lock, in the order erasure takes them
                memories.lock_subject(conn, tenant, new.subject, exclusive=False)
            row = conn.execute("SELECT seq, valid_to FROM memories WHERE id = %s AND tenant = %s"
                               " FOR UPDATE", (old_id, tenant)).fetchone()
            if row is None:
                raise MemoryNotFound(f"no memory {old_id}")
            if row[1] is not None:
                raise Conflict(f"memory {old_id} was already superseded; update its newest version")
            memories.Writer(conn, tenant, self.dim, audit.Appender(conn), self.sealer).insert(
                new, vector[0], model, shielded)
            conn.execute("UPDATE memories SET valid_to = %s, superseded_by = %s WHERE seq = %s",
                         (to_us(at), new.id, row[0]))
        return _as_memory(tenant, new)

    def _check_vectors(self, vectors: Vectors, count: int) -> None:
        shape = getattr(vectors, "shape", None)
        if shape != (count, self.dim):
            raise InvalidInput(f"expected vectors of shape ({count}, {self.dim}), got {shape}")
        if not np.isfinite(vectors).all():
            raise InvalidInput("vectors contain NaN or infinity")

    def delete(self, tenant: str, ids: Sequence[str]) -> int:
        """Hard delete: every version of each id, with its vector, tags and search vector."""
        with self._tx(tenant) as conn:
            seqs: set[int] = set()
            for memory_id in ids:
                seqs |= memories.version_chain(conn, tenant, memory_id)
            memories.delete_seqs(conn, tenant, sorted(seqs), audit.Appender(conn), self.sealer)
        return len(seqs)

    def delete_where(self, tenant: str, flt: MemoryFilter) -> int:
        where, params = self._where(tenant, flt, flt.as_of or utcnow())
        with self._tx(tenant) as conn:
            ids = [str(r[0]) for r in conn.execute(f"SELECT m.id FROM memories m WHERE {where}", params)]
            seqs: set[int] = set()
            for memory_id in ids:
                seqs |= memories.version_chain(conn, tenant, memory_id)
            memories.delete_seqs(conn, tenant, sorted(seqs), audit.Appender(conn), self.sealer)
        return len(seqs)

    def expire(self, now: datetime) -> int:
        """Delete what is due, one tenant-bound transaction per tenant that has any."""
        with self._tx(NO_TENANT) as conn:
            due = [str(r[0]) for r in conn.execute("SELECT cortex_due_tenants(%s)", (to_us(now),))]
        count = 0
        for tenant in due:
            with self._tx(tenant) as conn:
                seqs = [int(r[0]) for r in conn.execute(
                    "SELECT seq FROM memories WHERE tenant = %s AND expires_at <= %s ORDER BY seq",
                    (tenant, to_us(now)))]
                memories.delete_seqs(conn, tenant, seqs, audit.Appender(conn), self.sealer, "memory.expire")
                count += len(seqs)
        return count

    # ---- subjects, the vault and retention ----------------------------------------
    def erase_subject(self, tenant: str, subject: str,
                      event: audit_events.AuditEvent) -> tuple[int, int, AuditLeaf]:
        """Every version of the subject's memories (with vectors, search vectors, tokens and
        vault items), one ``memory.erase`` leaf each and ``event``, in one transaction that
        destroys the subject's data key before it commits, holding the subject's lock: a
        concurrent write about the subject waits, then gets a fresh key. (Should the commit
        fail after that, the rows left are unreadable and a retry deletes them.) Dead tuples
        keep sealed bytes (unreadable once the key is gone) and search terms until vacuum:
        docs/security.md."""
        with self._tx(tenant) as conn:
            memories.lock_subject(conn, tenant, subject, exclusive=True)
            seqs = [int(r[0]) for r in conn.execute("SELECT seq FROM memories WHERE tenant = %s"
                                                    " AND subject = %s ORDER BY seq", (tenant, subject))]
            row = conn.execute("SELECT count(*) FROM vault WHERE tenant = %s AND subject = %s",
                               (tenant, subject)).fetchone()
            vault = 0 if row is None else int(row[0])
            appender = audit.Appender(conn)
            memories.delete_seqs(conn, tenant, seqs, appender, self.sealer, "memory.erase",
                                 {"reason": "subject erasure"})
            conn.execute("DELETE FROM vault WHERE tenant = %s AND subject = %s", (tenant, subject))
            bind_tenant(conn, event.tenant)
            leaf = appender.append(event)
            self.sealer.keystore.destroy(tenant, subject)
        return len(seqs), vault, leaf

    def subject_memories(self, tenant: str, subject: str) -> builtins.list[Memory]:
        with self._tx(tenant) as conn:
            rows = conn.execute(f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.tenant = %s"
                                " AND m.subject = %s ORDER BY m.seq", (tenant, subject)).fetchall()
        return [memory_from_row(r, self.sealer) for r in rows]

    def vault_entries(self, tenant: str,
                      memory_ids: Sequence[str]) -> dict[str, builtins.list[VaultEntry]]:
        with self._tx(tenant) as conn:
            return privacy.vault_entries(conn, tenant, memory_ids, self.sealer)

    def retain(self, cutoffs: Mapping[str, datetime]) -> int:
        """Erase memories of each kind created before its cutoff, one transaction per tenant."""
        erased = 0
        for tenant in self.tenants():
            with self._tx(tenant) as conn:
                appender = audit.Appender(conn)
                for kind, cutoff in sorted(cutoffs.items()):
                    seqs = [int(r[0]) for r in conn.execute(
                        "SELECT seq FROM memories WHERE tenant = %s AND kind = %s AND created_at < %s"
                        " ORDER BY seq", (tenant, kind, to_us(cutoff)))]
                    memories.delete_seqs(conn, tenant, seqs, appender, self.sealer, "memory.erase",
                                         {"reason": "retention", "kind": kind})
                    erased += len(seqs)
        return erased

    # ---- reads -------------------------------------------------------------------
    def get(self, tenant: str, memory_id: str) -> Memory | None:
        with self._tx(tenant) as conn:
            row = conn.execute(f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.id = %s"
                               " AND m.tenant = %s", (memory_id, tenant)).fetchone()
        return None if row is None else memory_from_row(row, self.sealer)

    def get_many(self, tenant: str, ids: Sequence[str]) -> dict[str, Memory]:
        if not ids:
            return {}
        with self._tx(tenant) as conn:
            rows = conn.execute(f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.id = ANY(%s)"
                                " AND m.tenant = %s", (list(ids), tenant)).fetchall()
        return {str(row[1]): memory_from_row(row, self.sealer) for row in rows}

    def history(self, tenant: str, memory_id: str) -> builtins.list[Memory]:
        with self._tx(tenant) as conn:
            seqs = memories.version_chain(conn, tenant, memory_id)
            rows = conn.execute(f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.seq = ANY(%s)"
                                " AND m.tenant = %s ORDER BY m.valid_from, m.seq",
                                (sorted(seqs), tenant)).fetchall()
        return [memory_from_row(r, self.sealer) for r in rows]

    def find_by_hash(self, tenant: str, namespace: str, digest: str,
                     now: datetime) -> builtins.list[Memory]:
        """Current memories of the namespace whose text has this content hash."""
        with self._tx(tenant) as conn:
            rows = conn.execute(
                f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.tenant = %s AND m.namespace = %s"
                " AND m.content_hash = %s AND m.valid_to IS NULL"
                " AND (m.expires_at IS NULL OR m.expires_at > %s) ORDER BY m.seq LIMIT 100",
                (tenant, namespace, digest, to_us(now))).fetchall()
        return [memory_from_row(r, self.sealer) for r in rows]

    def list(self, tenant: str, flt: MemoryFilter, now: datetime, limit: int,
             after: str | None = None) -> builtins.list[Memory]:
        """Newest first; ``after`` is the id of the last memory of the previous page."""
        where, params = self._where(tenant, flt, now)
        if after is not None:
            where += " AND m.id < %s"
            params.append(after)
        with self._tx(tenant) as conn:
            rows = conn.execute(f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE {where}"
                                " ORDER BY m.id DESC LIMIT %s", (*params, limit)).fetchall()
        return [memory_from_row(r, self.sealer) for r in rows]

    def namespaces(self, tenant: str) -> builtins.list[NamespaceStats]:
        with self._tx(tenant) as conn:
            rows = conn.execute(
                "SELECT namespace, count(*), coalesce(sum(bytes), 0) FROM memories WHERE tenant = %s"
                " AND valid_to IS NULL GROUP BY namespace ORDER BY namespace", (tenant,)).fetchall()
        return [NamespaceStats(namespace=r[0], memories=r[1], bytes=r[2]) for r in rows]

    def has_namespace(self, tenant: str, namespaces: Sequence[str]) -> bool:
        """True when any of ``namespaces`` holds a memory of this tenant (one index probe)."""
        with self._tx(tenant) as conn:
            row = conn.execute("SELECT 1 FROM memories WHERE tenant = %s AND namespace = ANY(%s) LIMIT 1",
                               (tenant, builtins.list(namespaces))).fetchone()
        return row is not None

    def tenants(self) -> builtins.list[str]:
        with self._tx(NO_TENANT) as conn:
            return [str(r[0]) for r in conn.execute("SELECT cortex_tenants()")]

    # ---- candidate search --------------------------------------------------------
    def vector_search(self, tenant: str, vector: Vectors, k: int, flt: MemoryFilter,
                      now: datetime, *, exact: bool | None = None) -> ScoredIds:
        where, params = self._where(tenant, flt, now)
        with self._tx(tenant) as conn:
            return search.vector_search(conn, tenant, vector, k, self.dim, where, params, exact=exact)

    def text_search(self, tenant: str, query: str, k: int, flt: MemoryFilter,
                    now: datetime) -> ScoredIds:
        where, params = self._where(tenant, flt, now)
        with self._tx(tenant) as conn:
            return search.text_search(conn, tenant, query, k, where, params)

    def vectors(self, tenant: str, ids: Sequence[str]) -> dict[str, Vectors]:
        if not ids:
            return {}
        with self._tx(tenant) as conn:
            rows = conn.execute("SELECT m.id, v.embedding::text FROM memories m JOIN vectors v"
                                " ON v.seq = m.seq WHERE m.id = ANY(%s) AND m.tenant = %s",
                                (builtins.list(ids), tenant)).fetchall()
        return {str(r[0]): parse_vector(str(r[1])) for r in rows}

    def _where(self, tenant: str, flt: MemoryFilter, now: datetime) -> tuple[str, builtins.list[Any]]:
        clauses, params = filter_sql(flt, to_us(flt.as_of or now) or 0, self.sealer, tenant)
        return " AND ".join(["m.tenant = %s", *clauses]), [tenant, *params]

    def warm(self, tenant: str) -> None:
        """Nothing to load: the indexes live in the database."""

    # ---- settings ----------------------------------------------------------------
    def get_weights(self, tenant: str) -> FusionWeights:
        with self._tx(tenant) as conn:
            row = conn.execute("SELECT fusion_weights FROM tenant_settings WHERE tenant = %s",
                               (tenant,)).fetchone()
        return FusionWeights() if row is None else FusionWeights.model_validate_json(str(row[0]))

    def set_weights(self, tenant: str, weights: FusionWeights) -> None:
        with self._tx(tenant) as conn:
            conn.execute("INSERT INTO tenant_settings (tenant, fusion_weights) VALUES (%s, %s)"
                         " ON CONFLICT (tenant) DO UPDATE SET fusion_weights = excluded.fusion_weights",
                         (tenant, weights.model_dump_json()))

    # ---- accounts ----------------------------------------------------------------
    def add_key(self, key: ApiKey, secret_sha256: str) -> None:
        with self._tx(key.tenant) as conn:
            accounts.add_key(conn, key, secret_sha256)
            audit.Appender(conn).append(audit_events.event(key.tenant, "key.create", key.created_at, detail={
                "key_id": key.id, "role": key.role, "namespaces": key.namespaces,
                "expires_at": None if key.expires_at is None else audit_events.timestamp(key.expires_at)}))

    def key_with_secret(self, key_id: str) -> tuple[ApiKey, str] | None:
        with self._tx(NO_TENANT) as conn:
            return accounts.key_with_secret(conn, key_id)

    def list_keys(self, tenant: str) -> builtins.list[ApiKey]:
        with self._tx(tenant) as conn:
            return accounts.list_keys(conn, tenant)

    def revoke_key(self, tenant: str, key_id: str, at: datetime) -> ApiKey | None:
        with self._tx(tenant) as conn:
            record = accounts.revoke_key(conn, tenant, key_id, at)
            if record is not None and record.revoked_at is not None and to_us(record.revoked_at) == to_us(at):
                audit.Appender(conn).append(audit_events.event(tenant, "key.revoke", at,
                                                               detail={"key_id": key_id}))
            return record

    def count_keys(self) -> int:
        with self._tx(NO_TENANT) as conn:
            return accounts.count_keys(conn)

    def usage(self, tenant: str) -> Usage:
        with self._tx(tenant) as conn:
            return accounts.usage(conn, tenant)

    def usage_by_tenant(self) -> dict[str, Usage]:
        with self._tx(NO_TENANT) as conn:
            return accounts.usage_by_tenant(conn)

    # ---- audit log ---------------------------------------------------------------
    def record(self, events: Sequence[audit_events.AuditEvent]) -> builtins.list[AuditLeaf]:
        """Append events that change no memory (policy decisions, constitution changes)."""
        with self._tx(NO_TENANT) as conn:
            appender = audit.Appender(conn)
            leaves = []
            for event in events:
                bind_tenant(conn, event.tenant)
                leaves.append(appender.append(event))
            return leaves

    def audit_size(self, tenant: str) -> int:
        with self._tx(tenant) as conn:
            return audit.size(conn, tenant)

    def audit_leaves(self, tenant: str, start: int, end: int) -> builtins.list[AuditLeaf]:
        with self._tx(tenant) as conn:
            return audit.leaves(conn, tenant, start, end)

    def audit_leaf_hashes(self, tenant: str, end: int) -> builtins.list[bytes]:
        with self._tx(tenant) as conn:
            return audit.leaf_hashes(conn, tenant, end)

    def audit_leaves_for(self, tenant: str, memory_id: str) -> builtins.list[AuditLeaf]:
        with self._tx(tenant) as conn:
            return audit.leaves_for(conn, tenant, memory_id)

    def audit_tenants(self) -> builtins.list[str]:
        with self._tx(NO_TENANT) as conn:
            return audit.tenants(conn)

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        with self._tx(checkpoint.tenant) as conn:
            audit.add_checkpoint(conn, checkpoint)

    def checkpoints(self, tenant: str, after_size: int = -1,
                    limit: int | None = None) -> builtins.list[StoredCheckpoint]:
        with self._tx(tenant) as conn:
            return audit.checkpoints(conn, tenant, after_size, limit)

    def latest_checkpoint(self, tenant: str) -> StoredCheckpoint | None:
        with self._tx(tenant) as conn:
            return audit.latest_checkpoint(conn, tenant)

    # ---- constitution (deployment-wide) and tenant policies -----------------------
    def constitutions(self) -> builtins.list[tuple[int, str]]:
        with self._tx(NO_TENANT) as conn:
            return governance.constitutions(conn)

    def constitution_version(self) -> int | None:
        with self._tx(NO_TENANT) as conn:
            return governance.latest_version(conn)

    def add_constitution(self, version: int, envelope: str, event: audit_events.AuditEvent) -> None:
        with self._tx(event.tenant) as conn:
            governance.add_constitution(conn, version, envelope)
            audit.Appender(conn).append(event)

    def tenant_policies(self, tenant: str) -> str:
        with self._tx(tenant) as conn:
            return governance.tenant_policies(conn, tenant)

    def set_tenant_policies(self, tenant: str, policies: str, event: audit_events.AuditEvent) -> None:
        with self._tx(tenant) as conn:
            governance.set_tenant_policies(conn, tenant, policies)
            bind_tenant(conn, event.tenant)
            audit.Appender(conn).append(event)

    # ---- maintenance -------------------------------------------------------------
    def probe(self) -> None:
        """A write-capable transaction round trip: the database answers and is not read-only."""
        with self._tx(NO_TENANT) as conn:
            conn.execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchall()
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if row is not None and row[0]:
                raise psycopg.OperationalError("the database is a read-only standby")

    def check(self) -> CheckReport:
        return maintenance.check(self._tx, self.tenants(), self.dim, self.sealer)

    def reindex(self, progress: Progress | None = None) -> None:
        """Rewrite every search vector, then rebuild the text and vector indexes."""
        maintenance.reindex(self._tx, self.tenants(), progress, self.sealer)
        with translate_errors(self.where), psycopg.connect(self.url, autocommit=True) as conn:
            maintenance.rebuild_indexes(conn, self.dim)


def _as_memory(tenant: str, item: NewMemory) -> Memory:
    return Memory(tenant=tenant, valid_to=None, superseded_by=None, **item.model_dump())


__all__ = ["PostgresStore"]
