"""Writing memories: the row, its tags, its vector, its search vector, its blind-index
tokens, its vault items and its audit leaves in the caller's transaction; version chains;
hard deletes that leave no trace of the text.

Text and metadata are sealed under the memory's data key (its subject's, or its
tenant's). The search vector of a memory covers its own index text (``index_text``) and
the two turns before it in the same session (``context_text``), exactly what the SQLite
FTS table holds. It is computed from plaintext passed in (earlier turns are opened from
their sealed rows), never from the stored column; a deleted turn is also removed from
its followers' vectors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from cortex.audit import events as audit_events
from cortex.core.errors import KeyDestroyed, StoreCorrupt
from cortex.core.models import Memory, NewMemory, utcnow
from cortex.core.textform import CONTEXT_TURNS, context_text, index_text
from cortex.embed.base import Vectors
from cortex.privacy.keys import DataKey
from cortex.privacy.records import ShieldWrite, VaultItem
from cortex.privacy.sealing import Sealer
from cortex.store.postgres.audit import Appender
from cortex.store.postgres.lexical import SEARCH_VECTOR, document
from cortex.store.postgres.rows import (
    INSERT_MEMORY,
    MEMORY_COLUMNS,
    insert_params,
    memory_from_row,
    open_text,
    to_us,
    vector_text,
)

Conn = psycopg.Connection[tuple[Any, ...]]
Turn = tuple[str, str | None]  # (text, speaker) of a turn, newest first in a history
_SUBJECT_LOCK = 0x7375626A  # "subj"


def lock_subject(conn: Conn, tenant: str, subject: str, *, exclusive: bool) -> None:
    """A transaction-scoped advisory lock on (tenant, subject): writes about the subject
    share it, its erasure takes it alone — so no write seals under a key being destroyed,
    and none commits a row the erasure did not see."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    conn.execute(f"SELECT {function}(%s, hashtext(%s))", (_SUBJECT_LOCK, f"{tenant}\x1f{subject}"))


class Writer:
    """Inserts a batch in one transaction, remembering each session's latest turns so a
    conversation written in one call still gets its context."""

    def __init__(self, conn: Conn, tenant: str, dim: int, audit: Appender, sealer: Sealer) -> None:
        self.conn, self.tenant, self.dim, self.audit, self.sealer = conn, tenant, dim, audit, sealer
        self._turns: dict[tuple[str, str], list[Turn]] = {}

    def insert(self, item: NewMemory, vector: Vectors, model: str,
               shielded: ShieldWrite | None = None) -> int:
        """Write one memory with everything derived from it; ``shielded`` adds its vault
        items and privacy leaves (after its own ``memory.remember`` leaf)."""
        context = self._context(item)
        if item.subject is not None:
            lock_subject(self.conn, self.tenant, item.subject, exclusive=False)
        key = self.sealer.key(self.tenant, item.subject)
        row = self.conn.execute(INSERT_MEMORY, insert_params(
            self.tenant, item, key, index_text(item),
            "\n".join(context_text(*t) for t in context))).fetchone()
        assert row is not None
        seq = int(row[0])
        self.conn.execute("INSERT INTO vectors (seq, tenant, model, dim, embedding)"
                          " VALUES (%s, %s, %s, %s, %s::vector)",
                          (seq, self.tenant, model, self.dim, vector_text(vector)))
        write_tokens(self.conn, self.tenant, seq, self.sealer.metadata_tokens(self.tenant, item.metadata))
        if item.tags:
            self.conn.execute("INSERT INTO memory_tags (tenant, tag, seq) SELECT %s, t, %s"
                              " FROM unnest(%s::text[]) AS t ON CONFLICT DO NOTHING",
                              (self.tenant, seq, list(item.tags)))
        if item.source.session is not None:
            context.insert(0, (item.text, item.source.speaker))
            del context[CONTEXT_TURNS:]
        self.audit.append(audit_events.event(
            self.tenant, "memory.update" if item.supersedes else "memory.remember", item.created_at,
            memory_id=item.id, content_hash=item.content_hash, namespace=item.namespace,
            detail={"kind": item.kind.value, **({"supersedes": item.supersedes} if item.supersedes else {})}))
        if shielded is not None:
            add_vault(self.conn, self.tenant, item, key, shielded.vault)
            for event in shielded.events:
                self.audit.append(event)
        return seq

    def _context(self, item: NewMemory) -> list[Turn]:
        """The session's latest turns before ``item`` (a list kept up to date by ``insert``)."""
        if item.source.session is None:
            return []
        key = (item.namespace, item.source.session)
        if key not in self._turns:
            self._turns[key] = previous_turns(self.conn, self.tenant, item.namespace,
                                              item.source.session, None, self.sealer)
        return self._turns[key]


def write_tokens(conn: Conn, tenant: str, seq: int, tokens: Sequence[bytes]) -> None:
    """A memory's blind-index tokens (``Sealer.metadata_tokens``)."""
    if tokens:
        conn.execute("INSERT INTO memory_meta (tenant, token, seq) SELECT %s, t, %s"
                     " FROM unnest(%s::bytea[]) AS t ON CONFLICT DO NOTHING", (tenant, seq, list(tokens)))


def add_vault(conn: Conn, tenant: str, item: NewMemory, key: DataKey, vault: Sequence[VaultItem]) -> None:
    """Originals of tokenized spans, sealed under the memory's key (field ``vault:<placeholder>``)."""
    for entry in vault:
        conn.execute("INSERT INTO vault (tenant, memory_id, placeholder, entity, subject, sealed, created_at)"
                     " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                     (tenant, item.id, entry.placeholder, entry.entity, item.subject,
                      Sealer.seal(key, item.id, "vault:" + entry.placeholder, entry.value.encode("utf-8")),
                      to_us(item.created_at)))


def previous_turns(conn: Conn, tenant: str, namespace: str, session: str,
                   before_seq: int | None, sealer: Sealer) -> list[Turn]:
    """The last ``CONTEXT_TURNS`` turns of a session (before ``before_seq``), newest first,
    their texts opened. A turn that does not open (its subject's key destroyed, in a restored
    copy; or tampered) is no context: ``cortex check`` reports it."""
    rows = conn.execute(
        "SELECT id, text, source->>'speaker', subject FROM memories WHERE tenant = %s AND namespace = %s"
        " AND session = %s AND seq < %s ORDER BY seq DESC LIMIT %s",
        (tenant, namespace, session, before_seq if before_seq is not None else 2**62,
         CONTEXT_TURNS)).fetchall()
    turns: list[Turn] = []
    for memory_id, text, speaker, subject in rows:
        try:
            turns.append((open_text(sealer, tenant, memory_id, text, subject),
                          None if speaker is None else str(speaker)))
        except (KeyDestroyed, StoreCorrupt):
            continue
    return turns


def search_inputs(conn: Conn, memory: Memory, seq: int, sealer: Sealer) -> tuple[str, str]:
    """(body, context) of a stored memory's search vector, as ``Writer.insert`` made them."""
    context: list[Turn] = []
    if memory.source.session is not None:
        context = previous_turns(conn, memory.tenant, memory.namespace, memory.source.session, seq,
                                 sealer)
    return index_text(memory), "\n".join(context_text(*t) for t in context)


def rewrite_search(conn: Conn, seqs: Iterable[int], sealer: Sealer) -> None:
    """Recompute these memories' search vectors from their rows and their sessions."""
    for seq in seqs:
        row = conn.execute(f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.seq = %s", (seq,)).fetchone()
        if row is None:
            continue
        body, context = search_inputs(conn, memory_from_row(row, sealer), seq, sealer)
        conn.execute(f"UPDATE memories SET search = {SEARCH_VECTOR} WHERE seq = %s",
                     (*document(body, context), seq))


def version_chain(conn: Conn, tenant: str, memory_id: str) -> set[int]:
    """Every version linked to ``memory_id`` through supersedes / superseded_by."""
    rows = conn.execute(
        "WITH RECURSIVE chain (id) AS (SELECT %s::text UNION"
        " SELECT link.id FROM chain JOIN memories m ON m.id = chain.id AND m.tenant = %s"
        " CROSS JOIN LATERAL (VALUES (m.supersedes), (m.superseded_by)) AS link (id)"
        " WHERE link.id IS NOT NULL)"
        " SELECT m.seq FROM chain JOIN memories m ON m.id = chain.id AND m.tenant = %s",
        (memory_id, tenant, tenant)).fetchall()
    return {int(r[0]) for r in rows}


def delete_seqs(conn: Conn, tenant: str, seqs: Sequence[int], audit: Appender, sealer: Sealer,
                action: audit_events.Action = "memory.forget",
                detail: dict[str, Any] | None = None) -> None:
    """Delete rows (vectors, tags, blind-index tokens and vault items cascade), one audit
    leaf each, then re-derive the search vectors of later turns that carried a deleted
    text as context."""
    if not seqs:
        return
    followers = {int(r[0]) for r in conn.execute(
        "SELECT f.seq FROM unnest(%s::bigint[]) AS d (seq) JOIN memories m ON m.seq = d.seq"
        " CROSS JOIN LATERAL (SELECT n.seq FROM memories n WHERE n.tenant = m.tenant"
        "  AND n.namespace = m.namespace AND n.session = m.session AND n.seq > m.seq"
        "  ORDER BY n.seq LIMIT %s) AS f", (list(seqs), CONTEXT_TURNS))}
    gone = conn.execute("DELETE FROM memories WHERE seq = ANY(%s) AND tenant = %s"
                        " RETURNING seq, id, content_hash, namespace", (list(seqs), tenant)).fetchall()
    now = utcnow()
    for _, memory_id, digest, namespace in sorted(gone, key=lambda r: int(r[0])):
        audit.append(audit_events.event(tenant, action, now, memory_id=memory_id,
                                        content_hash=digest, namespace=namespace,
                                        **({"detail": detail} if detail else {})))
    rewrite_search(conn, sorted(followers - set(seqs)), sealer)


__all__ = ["Writer", "add_vault", "delete_seqs", "lock_subject", "previous_turns", "rewrite_search",
           "search_inputs", "version_chain", "write_tokens"]
