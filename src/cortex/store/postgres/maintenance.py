"""``cortex check`` and ``cortex reindex`` for PostgreSQL.

Both walk one tenant at a time in tenant-bound transactions (row-level security holds
for maintenance too). The check opens every sealed text and metadata (a tampered or moved
value fails authentication) and recomputes what is derived — each row's content hash, its
blind-index tokens, its vector's shape and norm, its search vector — and reports every
difference; the reindex rewrites every search vector and blind-index token set and
rebuilds the GIN and HNSW indexes. Migration 0007 derives every search vector again too
(``rederive_search``), with the same code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from cortex.core.errors import ConfigError, CortexError
from cortex.core.models import CheckReport, content_hash
from cortex.core.textform import CONTEXT_TURNS, context_text, index_text
from cortex.privacy.sealing import Sealer
from cortex.store.base import Progress
from cortex.store.postgres.connection import APP_ROLE, bind_tenant
from cortex.store.postgres.lexical import SEARCH_VECTOR, document
from cortex.store.postgres.memories import write_tokens
from cortex.store.postgres.migrate import ensure_vector_index, vector_index_name
from cortex.store.postgres.privacy import tenant_key_matches
from cortex.store.postgres.rows import (
    MEMORY_COLUMN_COUNT,
    MEMORY_COLUMNS,
    memory_from_row,
    open_field,
    open_text,
)

Conn = psycopg.Connection[tuple[Any, ...]]
Transaction = Callable[[str], AbstractContextManager[Conn]]
BATCH = 500
_UNNEST = "unnest(%s::bigint[], %s::text[], %s::text[]) AS u (seq, body, context)"
_U_VECTOR = SEARCH_VECTOR.replace("%s", "u.body", 1).replace("%s", "u.context", 1)


def search_rows(conn: Conn, tenant: str, sealer: Sealer) -> Iterator[tuple[int, str, str]]:
    """(seq, body, context) of every memory of the tenant: what its search vector must cover.
    A row whose text does not open (tampered, or its key destroyed) is left out: the check
    reports it, and a reindex leaves its vector as it is. Such a text is no context either."""
    lags = ", ".join(f"lag(m.id, {i}) OVER w, lag(m.text, {i}) OVER w,"
                     f" lag(m.source->>'speaker', {i}) OVER w, lag(m.subject, {i}) OVER w"
                     for i in range(1, CONTEXT_TURNS + 1))
    with conn.cursor(name="cortex_search_rows") as cur:
        cur.itersize = BATCH
        cur.execute(f"SELECT {MEMORY_COLUMNS}, {lags} FROM memories m WHERE m.tenant = %s"
                    " WINDOW w AS (PARTITION BY m.namespace, m.session ORDER BY m.seq)"
                    " ORDER BY m.seq", (tenant,))
        for row in cur:
            try:
                memory = memory_from_row(row, sealer)
            except CortexError:
                continue
            turns = [] if memory.source.session is None else _turns(row, tenant, sealer)
            yield int(row[0]), index_text(memory), "\n".join(turns)


def _turns(row: tuple[Any, ...], tenant: str, sealer: Sealer) -> list[str]:
    turns = []
    for i in range(CONTEXT_TURNS):
        memory_id, text, speaker, subject = row[MEMORY_COLUMN_COUNT + 4 * i:][:4]
        if memory_id is None:
            continue
        try:
            turns.append(context_text(open_text(sealer, tenant, memory_id, text, subject), speaker))
        except CortexError:
            continue
    return turns


def _batches(rows: Iterator[tuple[int, str, str]]) -> Iterator[tuple[list[int], list[str], list[str]]]:
    """``search_rows`` in batches of ``_UNNEST`` parameters: seqs and ``SEARCH_VECTOR``'s inputs."""
    batch: list[tuple[int, str, str]] = []
    for seq, body, context in rows:
        batch.append((seq, *document(body, context)))
        if len(batch) == BATCH:
            yield [r[0] for r in batch], [r[1] for r in batch], [r[2] for r in batch]
            batch = []
    if batch:
        yield [r[0] for r in batch], [r[1] for r in batch], [r[2] for r in batch]


def check(tx: Transaction, tenants: list[str], dim: int, sealer: Sealer) -> CheckReport:
    problems: list[str] = []
    checked = {"memories": 0, "vectors": 0, "search_vectors": 0}
    for tenant in tenants:
        with tx(tenant) as conn:
            checked["memories"] += _check_rows(conn, tenant, sealer, problems)
            checked["vectors"] += _check_vectors(conn, tenant, dim, problems)
            checked["search_vectors"] += _check_search(conn, tenant, sealer, problems)
    return CheckReport(ok=not problems, problems=problems, notes=[], checked=checked)


def _check_rows(conn: Conn, tenant: str, sealer: Sealer, problems: list[str]) -> int:
    """Open every sealed text and metadata; compare the content hash and blind-index tokens."""
    count = stale = 0
    with conn.cursor(name="cortex_check_rows") as cur:
        cur.itersize = BATCH
        cur.execute("SELECT m.id, m.text, m.metadata, m.content_hash, m.subject, (SELECT"
                    " coalesce(array_agg(x.token), '{}') FROM memory_meta x WHERE x.tenant = m.tenant"
                    " AND x.seq = m.seq) FROM memories m WHERE m.tenant = %s ORDER BY m.seq", (tenant,))
        for memory_id, sealed_text, sealed_metadata, digest, subject, tokens in cur:
            count += 1
            try:  # a tampered or moved value fails authentication; a destroyed key fails too
                text = open_text(sealer, tenant, memory_id, sealed_text, subject)
                metadata = json.loads(open_field(sealer, tenant, memory_id, "metadata", sealed_metadata,
                                                 subject))
            except CortexError as exc:
                problems.append(f"memory {memory_id}: {exc}")
                continue
            if content_hash(text) != digest:
                problems.append(f"memory {memory_id}: text does not match its content hash")
            if {bytes(t) for t in tokens} != set(sealer.metadata_tokens(tenant, metadata)):
                stale += 1
    if stale:
        problems.append(f"metadata index: {stale} memories have stale filter tokens (run `cortex reindex`)")
    return count


def _check_vectors(conn: Conn, tenant: str, dim: int, problems: list[str]) -> int:
    missing = conn.execute("SELECT m.id FROM memories m LEFT JOIN vectors v ON v.seq = m.seq"
                           " WHERE m.tenant = %s AND v.seq IS NULL LIMIT 20", (tenant,)).fetchall()
    problems.extend(f"memory {r[0]}: no vector" for r in missing)
    bad = conn.execute("SELECT seq, vector_dims(embedding) FROM vectors WHERE tenant = %s AND"
                       " (dim <> %s OR vector_dims(embedding) <> %s"
                       "  OR abs(vector_norm(embedding) - 1) > 1e-3) LIMIT 20",
                       (tenant, dim, dim)).fetchall()
    problems.extend(f"vector of row {r[0]}: not a finite unit vector of dimension {dim} (has {r[1]})"
                    for r in bad)
    row = conn.execute("SELECT count(*) FROM vectors WHERE tenant = %s", (tenant,)).fetchone()
    return 0 if row is None else int(row[0])


def _check_search(conn: Conn, tenant: str, sealer: Sealer, problems: list[str]) -> int:
    count = stale = 0
    for seqs, bodies, contexts in _batches(search_rows(conn, tenant, sealer)):
        count += len(seqs)
        row = conn.execute(f"SELECT count(*) FROM memories m JOIN {_UNNEST} ON m.seq = u.seq"
                           f" WHERE m.search IS DISTINCT FROM {_U_VECTOR}",
                           (seqs, bodies, contexts)).fetchone()
        stale += 0 if row is None else int(row[0])
    if stale:
        problems.append(f"text search: {stale} memories have a stale search vector (run `cortex reindex`)")
    return count


def reindex(tx: Transaction, tenants: list[str], progress: Progress | None, sealer: Sealer) -> None:
    """Rewrite every memory's search vector and blind-index tokens, one transaction per tenant."""
    total = done = 0
    for tenant in tenants:
        with tx(tenant) as conn:
            row = conn.execute("SELECT count(*) FROM memories WHERE tenant = %s", (tenant,)).fetchone()
            total += 0 if row is None else int(row[0])
    for tenant in tenants:
        with tx(tenant) as conn:
            rewrite_tokens(conn, tenant, sealer)
            for written in rewrite_search_vectors(conn, tenant, sealer):
                done += written
                if progress is not None:
                    progress(done, total)
    if progress is not None:
        progress(total, total)


def rewrite_search_vectors(conn: Conn, tenant: str, sealer: Sealer) -> Iterator[int]:
    """Rewrite the tenant's search vectors, a batch at a time; yields each batch's size."""
    for seqs, bodies, contexts in _batches(search_rows(conn, tenant, sealer)):
        conn.execute(f"UPDATE memories m SET search = {_U_VECTOR} FROM {_UNNEST}"
                     " WHERE m.seq = u.seq", (seqs, bodies, contexts))
        yield len(seqs)


def rederive_search(conn: Conn, sealer: Callable[[], Sealer]) -> int:
    """Right after migration 0007, in its transaction: every memory's search vector in the
    form ``lexical`` gives it, from its opened text, as the serving role bound to each tenant
    in turn (row-level security holds). ``sealer`` is only called when there are rows; a
    sealer without a tenant's data key is refused (the migration rolls back) rather than
    leave that tenant's vectors as they were. Returns the rows rewritten."""
    conn.execute("SELECT set_config('role', %s, true)", (APP_ROLE,))  # the owner is bound by RLS
    done = 0
    for tenant in [str(r[0]) for r in conn.execute("SELECT cortex_tenants()")]:
        bind_tenant(conn, tenant)
        if not tenant_key_matches(conn, tenant, sealer()):
            raise ConfigError(
                f"migration 7 rewrites the search vectors of tenant {tenant!r}, whose memories are "
                f"sealed under a data key this keystore ({sealer().keystore.path}) does not hold. "
                "Migrate with the keystore and master key the API nodes use (CORTEX_KEYSTORE, "
                "CORTEX_MASTER_KEY; docs/security.md)")
        done += sum(rewrite_search_vectors(conn, tenant, sealer()))
    conn.execute("RESET ROLE")  # (after an error the transaction rolls back, the role with it)
    return done


def rewrite_tokens(conn: Conn, tenant: str, sealer: Sealer) -> None:
    """Every memory's blind-index tokens, from its opened metadata (rows whose metadata does
    not open keep theirs)."""
    rows = conn.execute("SELECT seq, id, metadata, subject FROM memories WHERE tenant = %s ORDER BY seq",
                        (tenant,)).fetchall()
    for seq, memory_id, metadata, subject in rows:
        try:
            values = json.loads(open_field(sealer, tenant, memory_id, "metadata", metadata, subject))
        except CortexError:
            continue
        conn.execute("DELETE FROM memory_meta WHERE tenant = %s AND seq = %s", (tenant, seq))
        write_tokens(conn, tenant, int(seq), sealer.metadata_tokens(tenant, values))


def rebuild_indexes(conn: Conn, dim: int) -> None:
    """As the owner: rebuild the text index and this dimension's HNSW index."""
    ensure_vector_index(conn, dim)
    conn.execute("REINDEX INDEX memories_search")
    conn.execute(f"REINDEX INDEX {vector_index_name(dim)}".encode())


__all__ = ["check", "rebuild_indexes", "rederive_search", "reindex", "rewrite_search_vectors",
           "rewrite_tokens", "search_rows"]
