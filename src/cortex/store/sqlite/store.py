"""The embedded backend: one SQLite file holds memories, FTS5 rows and vectors.

A write is one ``BEGIN IMMEDIATE`` transaction covering the row, its tags, its vector,
its full-text row and a change-log entry, so a memory is either entirely there or not
at all. Vector search runs on an in-process index per tenant (``vector_index``) that is
derived from the vectors table and follows the change log, also across processes.
"""

from __future__ import annotations

import builtins
import logging
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from cortex.audit import events as audit_events
from cortex.audit.records import AuditLeaf, StoredCheckpoint
from cortex.core.errors import Conflict, InvalidInput, MemoryNotFound, StoreCorrupt
from cortex.core.models import (
    ApiKey,
    CheckReport,
    FusionWeights,
    Memory,
    MemoryFilter,
    NamespaceStats,
    NewMemory,
    Usage,
)
from cortex.core.textform import CONTEXT_TURNS
from cortex.embed.base import Vectors
from cortex.privacy.records import ShieldWrite, VaultEntry
from cortex.privacy.sealing import Sealer
from cortex.store.base import Progress, ScoredIds
from cortex.store.sqlite import accounts, audit, fulltext, index_files, lexical, privacy
from cortex.store.sqlite.connection import (
    BUSY_TIMEOUT_MS,
    connect,
    read_transaction,
    translate_errors,
    write_transaction,
)
from cortex.store.sqlite.integrity import run_check
from cortex.store.sqlite.migrate import migrate
from cortex.store.sqlite.rows import (
    INSERT_MEMORY,
    MEMORY_COLUMNS,
    filter_sql,
    insert_params,
    memory_from_row,
    scope_token,
    to_us,
)
from cortex.store.sqlite.vector_index import HNSW_MIN_ROWS, RowAttrs, TenantIndex

log = logging.getLogger(__name__)

_ATTR_COLUMNS = ("m.seq, m.id, m.namespace, m.kind, m.created_at, m.valid_from, m.valid_to,"
                 " m.expires_at, m.occurred_at")


class SQLiteStore:
    """``Store`` over one SQLite file (WAL). Safe to share between threads."""

    def __init__(self, path: str | Path, *, dim: int = 384, hnsw_min_rows: int = HNSW_MIN_ROWS,
                 busy_timeout_ms: int = BUSY_TIMEOUT_MS, sealer: Sealer | None = None):
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.dim = dim
        self.hnsw_min_rows = hnsw_min_rows
        if self.path.exists() and self.path.is_dir():
            raise InvalidInput(f"{self.path} is a directory, not a database file")
        self.busy_timeout_ms = busy_timeout_ms
        self._write_lock = threading.RLock()
        self._writer = connect(self.path, busy_timeout_ms=busy_timeout_ms)
        self.sealer = sealer or privacy.default_sealer(self.path)
        with translate_errors(self.path):
            self._check_is_database()
            # Deleted rows are overwritten in place, not left in free pages (erasure).
            self._writer.execute("PRAGMA secure_delete = ON")
            applied = migrate(self._writer)
        if 6 in applied:  # rows written before encryption at rest: seal them and re-index
            with self._write_lock, write_transaction(self._writer, self.path) as conn:
                privacy.seal_legacy_rows(conn, self.sealer)
        self._local = threading.local()
        self._indexes: dict[str, TenantIndex] = {}
        self._indexes_lock = threading.Lock()
        self._frequencies = lexical.DocFrequencies()

    # ---- connections -------------------------------------------------------------
    def _check_is_database(self) -> None:
        try:
            self._writer.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"{self.path}: not a database file, or it is corrupt") from exc

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, busy_timeout_ms=self.busy_timeout_ms)
            with translate_errors(self.path):
                lexical.prepare(conn)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        with self._indexes_lock:
            for tenant, idx in self._indexes.items():
                if idx.builder is not None:
                    idx.builder.join()
                self._save_graph(tenant, idx)
            self._indexes.clear()
        with self._write_lock:
            self._writer.close()
        self.sealer.keystore.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ---- writes ------------------------------------------------------------------
    def insert(self, tenant: str, items: Sequence[NewMemory], vectors: Vectors, model: str,
               shielded: Mapping[str, ShieldWrite] | None = None) -> builtins.list[Memory]:
        self._check_vectors(vectors, len(items))
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            for item, vector in zip(items, vectors, strict=True):
                self._insert_one(conn, tenant, item, vector, model)
                extra = (shielded or {}).get(item.id)
                if extra is not None:
                    privacy.add_shield_write(conn, tenant, item, extra, self.sealer)
        return [self._as_memory(tenant, item) for item in items]

    def supersede(self, tenant: str, old_id: str, new: NewMemory, vector: Vectors,
                  model: str, at: datetime, shielded: ShieldWrite | None = None) -> Memory:
        self._check_vectors(vector, 1)
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            row = conn.execute(
                "SELECT seq, valid_to FROM memories WHERE id = ? AND +tenant = ?",
                (old_id, tenant)).fetchone()
            if row is None:
                raise MemoryNotFound(f"no memory {old_id}")
            if row[1] is not None:
                raise Conflict(f"memory {old_id} was already superseded; update its newest version")
            self._insert_one(conn, tenant, new, vector[0], model)
            if shielded is not None:
                privacy.add_shield_write(conn, tenant, new, shielded, self.sealer)
            conn.execute("UPDATE memories SET valid_to = ?, superseded_by = ? WHERE seq = ?",
                         (to_us(at), new.id, row[0]))
            conn.execute("INSERT INTO changes (tenant, memory, op) VALUES (?, ?, 'put')",
                         (tenant, row[0]))
        return self._as_memory(tenant, new)

    def _insert_one(self, conn: sqlite3.Connection, tenant: str, item: NewMemory,
                    vector: Vectors, model: str) -> None:
        key = self.sealer.key(tenant, item.subject)
        seq = conn.execute(INSERT_MEMORY, insert_params(tenant, item, key)).fetchone()[0]
        conn.execute("INSERT INTO vectors (seq, model, dim, vector) VALUES (?, ?, ?, ?)",
                     (seq, model, self.dim, np.asarray(vector, dtype="<f4").tobytes()))
        conn.executemany("INSERT OR IGNORE INTO memory_meta (tenant, token, seq) VALUES (?, ?, ?)",
                         [(tenant, t, seq) for t in self.sealer.metadata_tokens(tenant, item.metadata)])
        fulltext.write(conn, seq, self.sealer)
        conn.executemany("INSERT OR IGNORE INTO memory_tags (tenant, tag, seq) VALUES (?, ?, ?)",
                         [(tenant, tag, seq) for tag in item.tags])
        conn.execute("INSERT INTO changes (tenant, memory, op) VALUES (?, ?, 'put')", (tenant, seq))
        audit.append(conn, audit_events.event(
            tenant, "memory.update" if item.supersedes else "memory.remember", item.created_at,
            memory_id=item.id, content_hash=item.content_hash, namespace=item.namespace,
            detail={"kind": item.kind.value, **({"supersedes": item.supersedes} if item.supersedes else {})}))

    def _check_vectors(self, vectors: Vectors, count: int) -> None:
        shape = getattr(vectors, "shape", None)
        if shape != (count, self.dim):
            raise InvalidInput(f"expected vectors of shape ({count}, {self.dim}), got {shape}")
        if not np.isfinite(vectors).all():
            raise InvalidInput("vectors contain NaN or infinity")

    def delete(self, tenant: str, ids: Sequence[str]) -> int:
        """Hard delete: the rows of every version of each id, vectors and FTS rows."""
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            seqs: set[int] = set()
            for memory_id in ids:
                seqs |= self._version_chain(conn, tenant, memory_id)
            self._delete_seqs(conn, tenant, sorted(seqs))
        return len(seqs)

    def delete_where(self, tenant: str, flt: MemoryFilter) -> int:
        at = to_us(flt.as_of) or _now_us()
        clauses, params = filter_sql(flt, at, self.sealer, tenant)
        where = " AND ".join(["m.tenant = ?", *clauses])
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            ids = [r[0] for r in conn.execute(f"SELECT m.id FROM memories m WHERE {where}",
                                              [tenant, *params])]
            seqs: set[int] = set()
            for memory_id in ids:
                seqs |= self._version_chain(conn, tenant, memory_id)
            self._delete_seqs(conn, tenant, sorted(seqs))
        return len(seqs)

    def expire(self, now: datetime) -> int:
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            rows = conn.execute("SELECT tenant, seq FROM memories WHERE expires_at <= ?",
                                (to_us(now),)).fetchall()
            by_tenant: dict[str, list[int]] = {}
            for tenant, seq in rows:
                by_tenant.setdefault(tenant, []).append(seq)
            for tenant, seqs in by_tenant.items():
                self._delete_seqs(conn, tenant, seqs, "memory.expire")
        return len(rows)

    def _version_chain(self, conn: sqlite3.Connection, tenant: str, memory_id: str) -> set[int]:
        """Every version linked to ``memory_id`` through supersedes / superseded_by."""
        seen: set[str] = set()
        seqs: set[int] = set()
        pending = [memory_id]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            row = conn.execute("SELECT seq, supersedes, superseded_by FROM memories"
                               " WHERE id = ? AND +tenant = ?", (current, tenant)).fetchone()
            if row is None:
                continue
            seqs.add(row[0])
            pending.extend(x for x in row[1:] if x)
        return seqs

    def _delete_seqs(self, conn: sqlite3.Connection, tenant: str, seqs: Sequence[int],
                     action: audit_events.Action = "memory.forget",
                     detail: dict[str, Any] | None = None) -> None:
        followers: set[int] = set()
        now = _now()
        for seq in seqs:
            followers |= self._followers(conn, seq)
            gone = conn.execute("SELECT id, content_hash, namespace FROM memories WHERE seq = ?",
                                (seq,)).fetchone()
            audit.append(conn, audit_events.event(tenant, action, now, memory_id=gone[0],
                                                  content_hash=gone[1], namespace=gone[2], detail=detail))
            fulltext.delete(conn, seq, self.sealer)
            conn.execute("DELETE FROM vault WHERE tenant = ? AND memory_id = ?", (tenant, gone[0]))
            conn.execute("DELETE FROM memories WHERE seq = ? AND tenant = ?", (seq, tenant))
            conn.execute("INSERT INTO changes (tenant, memory, op) VALUES (?, ?, 'del')",
                         (tenant, seq))
        # Later turns carried the deleted text as context: re-derive theirs so no trace stays.
        for seq in sorted(followers - set(seqs)):
            fulltext.write(conn, seq, self.sealer)

    @staticmethod
    def _followers(conn: sqlite3.Connection, seq: int) -> set[int]:
        """The turns whose context includes ``seq`` (the next ones in its session)."""
        rows = conn.execute(
            "SELECT f.seq FROM memories m JOIN memories f ON f.tenant = m.tenant"
            " AND f.namespace = m.namespace AND f.session = m.session AND f.seq > m.seq"
            f" WHERE m.seq = ? ORDER BY f.seq LIMIT {CONTEXT_TURNS}", (seq,))
        return {r[0] for r in rows}

    # ---- reads -------------------------------------------------------------------
    def get(self, tenant: str, memory_id: str) -> Memory | None:
        with translate_errors(self.path):
            row = self._reader().execute(
                f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.id = ? AND +m.tenant = ?",
                (memory_id, tenant)).fetchone()
        return None if row is None else memory_from_row(row, self.sealer)

    def get_many(self, tenant: str, ids: Sequence[str]) -> dict[str, Memory]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with translate_errors(self.path):
            rows = self._reader().execute(
                # "+m.tenant": look rows up by id; the tenant index would scan the tenant
                f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.id IN ({marks}) AND +m.tenant = ?",
                (*ids, tenant)).fetchall()
        return {row[1]: memory_from_row(row, self.sealer) for row in rows}

    def history(self, tenant: str, memory_id: str) -> builtins.list[Memory]:
        conn = self._reader()
        with read_transaction(conn, self.path):
            seqs = self._version_chain(conn, tenant, memory_id)
            marks = ",".join("?" * len(seqs))
            rows = conn.execute(f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.seq IN ({marks})"
                                " ORDER BY m.valid_from, m.seq", tuple(seqs)).fetchall()
        return [memory_from_row(r, self.sealer) for r in rows]

    def find_by_hash(self, tenant: str, namespace: str, digest: str,
                     now: datetime) -> builtins.list[Memory]:
        """Current memories of the namespace whose text has this content hash."""
        at = to_us(now)
        with translate_errors(self.path):
            rows = self._reader().execute(
                f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.tenant = ? AND m.namespace = ?"
                " AND m.content_hash = ? AND m.valid_to IS NULL"
                " AND (m.expires_at IS NULL OR m.expires_at > ?) ORDER BY m.seq LIMIT 100",
                (tenant, namespace, digest, at)).fetchall()
        return [memory_from_row(r, self.sealer) for r in rows]

    def list(self, tenant: str, flt: MemoryFilter, now: datetime, limit: int,
             after: str | None = None) -> builtins.list[Memory]:
        """Newest first; ``after`` is the id of the last memory of the previous page."""
        clauses, params = filter_sql(flt, to_us(flt.as_of or now) or 0, self.sealer, tenant)
        if after is not None:
            clauses.append("m.id < ?")
            params.append(after)
        where = " AND ".join(["m.tenant = ?", *clauses])
        with translate_errors(self.path):
            rows = self._reader().execute(
                f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE {where} ORDER BY m.id DESC LIMIT ?",
                (tenant, *params, limit)).fetchall()
        return [memory_from_row(r, self.sealer) for r in rows]

    def namespaces(self, tenant: str) -> builtins.list[NamespaceStats]:
        with translate_errors(self.path):
            rows = self._reader().execute(
                "SELECT namespace, count(*), sum(bytes) FROM memories WHERE tenant = ?"
                " AND valid_to IS NULL GROUP BY namespace ORDER BY namespace", (tenant,)).fetchall()
        return [NamespaceStats(namespace=r[0], memories=r[1], bytes=r[2] or 0) for r in rows]

    def has_namespace(self, tenant: str, namespaces: Sequence[str]) -> bool:
        """True when any of ``namespaces`` holds a memory of this tenant (one index probe)."""
        marks = ",".join("?" * len(namespaces))
        with translate_errors(self.path):
            row = self._reader().execute(
                f"SELECT 1 FROM memories WHERE tenant = ? AND namespace IN ({marks}) LIMIT 1",
                (tenant, *namespaces)).fetchone()
        return row is not None

    def tenants(self) -> builtins.list[str]:
        with translate_errors(self.path):
            rows = self._reader().execute("SELECT DISTINCT tenant FROM memories ORDER BY tenant")
            return [r[0] for r in rows]

    # ---- candidate search --------------------------------------------------------
    def vector_search(self, tenant: str, vector: Vectors, k: int, flt: MemoryFilter,
                      now: datetime) -> ScoredIds:
        index = self._index(tenant)
        at = to_us(flt.as_of or now) or 0
        allowed = self._allowed_seqs(tenant, flt, at) if flt.needs_sql() else None
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        return index.search(query, k, flt, at, allowed)

    def text_search(self, tenant: str, query: str, k: int, flt: MemoryFilter,
                    now: datetime) -> ScoredIds:
        scopes = ([scope_token(tenant)] if flt.namespaces is None
                  else [scope_token(tenant, ns) for ns in flt.namespaces])
        clauses, params = filter_sql(flt, to_us(flt.as_of or now) or 0, self.sealer, tenant)
        where = " AND ".join(["m.tenant = ?", *clauses])
        with translate_errors(self.path):
            return lexical.search(self._reader(), query, scopes, where, [tenant, *params], k,
                                  self._frequencies)

    def vectors(self, tenant: str, ids: Sequence[str]) -> dict[str, Vectors]:
        return self._index(tenant).vectors_of(builtins.list(ids))

    def _allowed_seqs(self, tenant: str, flt: MemoryFilter, at: int) -> set[int]:
        clauses, params = filter_sql(flt, at, self.sealer, tenant)
        where = " AND ".join(["m.tenant = ?", *clauses])
        with translate_errors(self.path):
            rows = self._reader().execute(f"SELECT m.seq FROM memories m WHERE {where}",
                                          (tenant, *params))
            return {r[0] for r in rows}

    # ---- the vector index --------------------------------------------------------
    def _index(self, tenant: str) -> TenantIndex:
        with self._indexes_lock:
            index = self._indexes.get(tenant)
            if index is None:
                index = TenantIndex(self.dim)
                self._indexes[tenant] = index
        with index.lock:
            self._catch_up(tenant, index)
            if index.hnsw is None and index.live >= self.hnsw_min_rows and index.builder is None:
                # Exact search answers while the graph is loaded or built beside it.
                index.builder = threading.Thread(target=self._attach_graph, args=(tenant, index),
                                                 name="cortex-hnsw", daemon=True)
                index.builder.start()
        return index

    def _catch_up(self, tenant: str, index: TenantIndex) -> None:
        """Apply every change-log entry after ``index.seq`` (another process may have written)."""
        conn = self._reader()
        with read_transaction(conn, self.path):
            head = conn.execute("SELECT coalesce(max(seq), 0) FROM changes WHERE tenant = ?",
                                (tenant,)).fetchone()[0]
            if head <= index.seq:
                return
            if index.seq == 0:
                self._load_all(conn, tenant, index)
            else:
                self._apply_changes(conn, tenant, index)
            index.seq = head

    def _load_all(self, conn: sqlite3.Connection, tenant: str, index: TenantIndex) -> None:
        rows = conn.execute(
            f"SELECT {_ATTR_COLUMNS}, v.vector FROM memories m JOIN vectors v ON v.seq = m.seq"
            " WHERE m.tenant = ? ORDER BY m.seq", (tenant,))
        for row in rows:
            index.upsert(_attrs(row), np.frombuffer(row[9], dtype="<f4"))

    def _apply_changes(self, conn: sqlite3.Connection, tenant: str, index: TenantIndex) -> None:
        latest: dict[int, str] = {}
        for memory, op in conn.execute("SELECT memory, op FROM changes WHERE tenant = ? AND seq > ?"
                                       " ORDER BY seq", (tenant, index.seq)):
            latest[memory] = op
        puts = [m for m, op in latest.items() if op == "put"]
        for seq in (m for m, op in latest.items() if op == "del"):
            index.remove(seq)
        for chunk_start in range(0, len(puts), 500):
            chunk = puts[chunk_start:chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            found = set()
            for row in conn.execute(
                    f"SELECT {_ATTR_COLUMNS}, v.vector FROM memories m JOIN vectors v"
                    f" ON v.seq = m.seq WHERE m.tenant = ? AND m.seq IN ({marks})",
                    (tenant, *chunk)):
                found.add(row[0])
                vector = None if row[0] in index else np.frombuffer(row[9], dtype="<f4")
                index.upsert(_attrs(row), vector)
            for gone in set(chunk) - found:
                index.remove(gone)

    def _attach_graph(self, tenant: str, index: TenantIndex) -> None:
        loaded = index_files.load(self.path, tenant, self.dim)
        if loaded is not None:
            with index.lock:
                repaired = index.adopt_hnsw(loaded[0])
            log.info("loaded HNSW graph for a tenant (%d rows caught up)", repaired)
        else:
            log.info("building HNSW graph over %d vectors", index.live)
            graph = index.build_hnsw_detached()
            with index.lock:
                index.adopt_hnsw(graph)
                index.hnsw_dirty = True
        self._save_graph(tenant, index)

    def _save_graph(self, tenant: str, index: TenantIndex) -> None:
        with index.lock:
            if index.hnsw is not None and index.hnsw_dirty:
                index_files.save(self.path, tenant, index.hnsw, index.seq, self.dim)
                index.hnsw_dirty = False

    def warm(self, tenant: str) -> None:
        """Load the tenant's vector index and, if it is large, wait for its HNSW graph."""
        builder = self._index(tenant).builder
        if builder is not None:
            builder.join()

    # ---- subjects, the vault and retention ------------------------------------------------
    def erase_subject(self, tenant: str, subject: str,
                      event: audit_events.AuditEvent) -> tuple[int, int, AuditLeaf]:
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            seqs = [r[0] for r in conn.execute("SELECT seq FROM memories WHERE tenant = ? AND subject = ?",
                                               (tenant, subject))]
            vault = conn.execute("SELECT count(*) FROM vault WHERE tenant = ? AND subject = ?",
                                 (tenant, subject)).fetchone()[0]
            self._delete_seqs(conn, tenant, seqs, "memory.erase", {"reason": "subject erasure"})
            conn.execute("DELETE FROM vault WHERE tenant = ? AND subject = ?", (tenant, subject))
            leaf = audit.append(conn, event)
            privacy.scrub(conn)
        self.sealer.keystore.destroy(tenant, subject)
        self._forget_vectors(tenant)
        with self._write_lock:
            privacy.checkpoint_wal(self._writer)
        return len(seqs), vault, leaf

    def _forget_vectors(self, tenant: str) -> None:
        """Drop the tenant's in-memory index and saved graph: an HNSW graph keeps the vectors
        of removed rows, so it is rebuilt from the vectors table (exact search meanwhile)."""
        with self._indexes_lock:
            index = self._indexes.pop(tenant, None)
        if index is not None and index.builder is not None:
            index.builder.join()
        index_files.remove(self.path, tenant)

    def subject_memories(self, tenant: str, subject: str) -> builtins.list[Memory]:
        with translate_errors(self.path):
            rows = self._reader().execute(
                f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.tenant = ? AND m.subject = ?"
                " ORDER BY m.seq", (tenant, subject)).fetchall()
        return [memory_from_row(r, self.sealer) for r in rows]

    def vault_entries(self, tenant: str, memory_ids: Sequence[str]) -> dict[str, builtins.list[VaultEntry]]:
        with translate_errors(self.path):
            return privacy.vault_entries(self._reader(), tenant, memory_ids, self.sealer)

    def retain(self, cutoffs: Mapping[str, datetime]) -> int:
        erased = 0
        affected: set[str] = set()
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            for kind, cutoff in sorted(cutoffs.items()):
                rows = conn.execute("SELECT tenant, seq FROM memories WHERE kind = ? AND created_at < ?",
                                    (kind, to_us(cutoff))).fetchall()
                by_tenant: dict[str, builtins.list[int]] = {}
                for tenant, seq in rows:
                    by_tenant.setdefault(tenant, []).append(seq)
                for tenant, seqs in by_tenant.items():
                    self._delete_seqs(conn, tenant, seqs, "memory.erase",
                                      {"reason": "retention", "kind": kind})
                affected |= set(by_tenant)
                erased += len(rows)
            if erased:
                privacy.scrub(conn)
        for tenant in sorted(affected):
            self._forget_vectors(tenant)
        return erased

    # ---- settings ----------------------------------------------------------------
    def get_weights(self, tenant: str) -> FusionWeights:
        with translate_errors(self.path):
            row = self._reader().execute(
                "SELECT fusion_weights FROM tenant_settings WHERE tenant = ?", (tenant,)).fetchone()
        return FusionWeights() if row is None else FusionWeights.model_validate_json(row[0])

    def set_weights(self, tenant: str, weights: FusionWeights) -> None:
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            conn.execute("INSERT INTO tenant_settings (tenant, fusion_weights) VALUES (?, ?)"
                         " ON CONFLICT (tenant) DO UPDATE SET fusion_weights = excluded.fusion_weights",
                         (tenant, weights.model_dump_json()))

    # ---- accounts ----------------------------------------------------------------
    def add_key(self, key: ApiKey, secret_sha256: str) -> None:
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            accounts.add_key(conn, key, secret_sha256)
            audit.append(conn, audit_events.event(key.tenant, "key.create", key.created_at, detail={
                "key_id": key.id, "role": key.role, "namespaces": key.namespaces,
                "expires_at": None if key.expires_at is None else audit_events.timestamp(key.expires_at)}))

    def key_with_secret(self, key_id: str) -> tuple[ApiKey, str] | None:
        with translate_errors(self.path):
            return accounts.key_with_secret(self._reader(), key_id)

    def list_keys(self, tenant: str) -> builtins.list[ApiKey]:
        with translate_errors(self.path):
            return accounts.list_keys(self._reader(), tenant)

    def revoke_key(self, tenant: str, key_id: str, at: datetime) -> ApiKey | None:
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            record = accounts.revoke_key(conn, tenant, key_id, at)
            if record is not None and record.revoked_at is not None and to_us(record.revoked_at) == to_us(at):
                audit.append(conn, audit_events.event(tenant, "key.revoke", at, detail={"key_id": key_id}))
            return record

    def count_keys(self) -> int:
        with translate_errors(self.path):
            return accounts.count_keys(self._reader())

    def usage(self, tenant: str) -> Usage:
        with translate_errors(self.path):
            return accounts.usage(self._reader(), tenant)

    def usage_by_tenant(self) -> dict[str, Usage]:
        with translate_errors(self.path):
            return accounts.usage_by_tenant(self._reader())

    # ---- audit log ---------------------------------------------------------------
    def record(self, events: Sequence[audit_events.AuditEvent]) -> builtins.list[AuditLeaf]:
        """Append events that change no memory (policy decisions, constitution changes)."""
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            return [audit.append(conn, e) for e in events]

    def audit_size(self, tenant: str) -> int:
        with translate_errors(self.path):
            return audit.size(self._reader(), tenant)

    def audit_leaves(self, tenant: str, start: int, end: int) -> builtins.list[AuditLeaf]:
        with translate_errors(self.path):
            return audit.leaves(self._reader(), tenant, start, end)

    def audit_leaf_hashes(self, tenant: str, end: int) -> builtins.list[bytes]:
        with translate_errors(self.path):
            return audit.leaf_hashes(self._reader(), tenant, end)

    def audit_leaves_for(self, tenant: str, memory_id: str) -> builtins.list[AuditLeaf]:
        with translate_errors(self.path):
            return audit.leaves_for(self._reader(), tenant, memory_id)

    def audit_tenants(self) -> builtins.list[str]:
        with translate_errors(self.path):
            return audit.tenants(self._reader())

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            audit.add_checkpoint(conn, checkpoint)

    def checkpoints(self, tenant: str, after_size: int = -1,
                    limit: int | None = None) -> builtins.list[StoredCheckpoint]:
        with translate_errors(self.path):
            return audit.checkpoints(self._reader(), tenant, after_size, limit)

    def latest_checkpoint(self, tenant: str) -> StoredCheckpoint | None:
        with translate_errors(self.path):
            return audit.latest_checkpoint(self._reader(), tenant)

    # ---- constitution ----------------------------------------------------------------
    def constitutions(self) -> builtins.list[tuple[int, str]]:
        with translate_errors(self.path):
            rows = self._reader().execute("SELECT version, envelope FROM constitutions ORDER BY version")
            return [(r[0], r[1]) for r in rows]

    def constitution_version(self) -> int | None:
        with translate_errors(self.path):
            row = self._reader().execute("SELECT max(version) FROM constitutions").fetchone()
        return None if row[0] is None else int(row[0])

    def add_constitution(self, version: int, envelope: str, event: audit_events.AuditEvent) -> None:
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            latest = conn.execute("SELECT max(version) FROM constitutions").fetchone()[0]
            if latest is not None and version != latest + 1:  # a concurrent apply won the race
                raise Conflict(f"constitution version {version} does not follow the applied {latest}")
            conn.execute("INSERT INTO constitutions (version, envelope, applied_at) VALUES (?, ?, ?)",
                         (version, envelope, _now_us()))
            audit.append(conn, event)

    def tenant_policies(self, tenant: str) -> str:
        with translate_errors(self.path):
            row = self._reader().execute("SELECT policies FROM tenant_policies WHERE tenant = ?",
                                         (tenant,)).fetchone()
        return "" if row is None else str(row[0])

    def set_tenant_policies(self, tenant: str, policies: str, event: audit_events.AuditEvent) -> None:
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            conn.execute("INSERT INTO tenant_policies (tenant, policies, updated_at) VALUES (?, ?, ?)"
                         " ON CONFLICT (tenant) DO UPDATE SET policies = excluded.policies,"
                         " updated_at = excluded.updated_at", (tenant, policies, _now_us()))
            audit.append(conn, event)

    # ---- maintenance -------------------------------------------------------------
    def probe(self) -> None:
        """Take and release the write lock: proves the file is there, writable and not stuck."""
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            conn.execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchall()

    def check(self) -> CheckReport:
        with self._write_lock:
            return run_check(self._writer, self.path, self.dim, self.sealer)

    def reindex(self, progress: Progress | None = None) -> None:
        """Rebuild every derived structure: FTS rows, vector indexes and saved graphs."""
        with self._write_lock, write_transaction(self._writer, self.path) as conn:
            fulltext.clear(conn)
            total = conn.execute("SELECT count(*) FROM memories").fetchone()[0]
            done = 0
            for (seq,) in conn.execute("SELECT seq FROM memories ORDER BY seq").fetchall():
                fulltext.write(conn, seq, self.sealer)
                done += 1
                if progress is not None and done % 1000 == 0:
                    progress(done, total)
            fulltext.purge(conn)
        with self._indexes_lock:
            for idx in self._indexes.values():
                if idx.builder is not None:
                    idx.builder.join()
            self._indexes.clear()
        index_files.remove_all(self.path)
        for tenant in self.tenants():
            self.warm(tenant)
        if progress is not None:
            progress(total, total)

    def _as_memory(self, tenant: str, item: NewMemory) -> Memory:
        return Memory(tenant=tenant, valid_to=None, superseded_by=None, **item.model_dump())

    def raw(self) -> sqlite3.Connection:
        """The reader connection, for tests and diagnostics only."""
        return self._reader()


def _attrs(row: Any) -> RowAttrs:
    return RowAttrs(rowid=row[0], id=row[1], namespace=row[2], kind=row[3], created_at=row[4],
                    valid_from=row[5], valid_to=row[6], expires_at=row[7], occurred_at=row[8])


def _now() -> datetime:
    from cortex.core.models import utcnow

    return utcnow()


def _now_us() -> int:
    return to_us(_now()) or 0


__all__ = ["SQLiteStore"]
