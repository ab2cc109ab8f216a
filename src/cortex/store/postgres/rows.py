"""Rows to models, models to rows and filters to SQL for the PostgreSQL backend.

Every conversion between Python values and column values is here: times are integer
microseconds, tags and source are jsonb, vectors travel as pgvector text, and text and
metadata are sealed ``bytea`` — the same bytes the SQLite backend stores
(``Sealer.seal(key, memory_id, "text" | "metadata", …)``, metadata as compact JSON with
sorted keys), so a migration may copy sealed values verbatim between backends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from cortex.core.errors import ConfigError, InvalidQuery, KeyDestroyed
from cortex.core.models import Kind, Memory, MemoryFilter, NewMemory, Source
from cortex.embed.base import Vectors
from cortex.privacy.keys import DataKey
from cortex.privacy.sealing import Sealer
from cortex.store.postgres.lexical import SEARCH_VECTOR, document

MEMORY_COLUMNS = (
    "m.seq, m.id, m.tenant, m.namespace, m.kind, m.text, m.metadata, m.tags, m.source,"
    " m.importance, m.created_at, m.occurred_at, m.valid_from, m.valid_to, m.expires_at,"
    " m.content_hash, m.supersedes, m.superseded_by, m.subject"
)
MEMORY_COLUMN_COUNT = 19
_METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


INSERT_MEMORY = (
    "INSERT INTO memories (id, tenant, namespace, kind, text, metadata, tags, source,"
    " importance, created_at, occurred_at, valid_from, expires_at, content_hash, session,"
    " supersedes, bytes, subject, search) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,"
    f"%s,%s,%s, {SEARCH_VECTOR}) RETURNING seq"
)


def to_us(value: datetime | None) -> int | None:
    if value is None:
        return None
    return int(value.timestamp() * 1_000_000)


def from_us(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value) / 1_000_000, tz=UTC)


def metadata_json(metadata: dict[str, Any]) -> str:
    """The metadata as it is sealed (and counted in ``bytes``) by both backends."""
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"))


def open_field(sealer: Sealer, tenant: str, memory_id: str, field: str, blob: bytes,
               subject: str | None) -> bytes:
    """A sealed column's plaintext. A missing key of a memory without a subject was never
    destroyed (only subject keys are): this node's keystore is not the database's."""
    try:
        return sealer.open(tenant, memory_id, field, bytes(blob))
    except KeyDestroyed:
        if subject is not None:
            raise
        raise ConfigError(
            f"memory {memory_id}: its tenant's data key is not in this keystore "
            f"({sealer.keystore.path}). Every API node must use the same keystore and master "
            "key (CORTEX_KEYSTORE, CORTEX_MASTER_KEY; docs/security.md)") from None


def open_text(sealer: Sealer, tenant: str, memory_id: str, blob: bytes, subject: str | None) -> str:
    return open_field(sealer, tenant, memory_id, "text", blob, subject).decode("utf-8")


def memory_from_row(row: Sequence[Any], sealer: Sealer) -> Memory:
    """A ``MEMORY_COLUMNS`` row as a model, its text and metadata opened."""
    created = from_us(row[10])
    valid_from = from_us(row[12])
    assert created is not None and valid_from is not None
    tenant, memory_id, subject = row[2], row[1], row[18]
    # Rows were validated on the way in; skipping re-validation keeps recall fast.
    return Memory.model_construct(
        id=memory_id, tenant=tenant, namespace=row[3], kind=Kind(row[4]),
        text=open_text(sealer, tenant, memory_id, row[5], subject),
        metadata=json.loads(open_field(sealer, tenant, memory_id, "metadata", row[6], subject)),
        tags=row[7], source=Source.model_construct(**row[8]),
        importance=row[9], created_at=created, occurred_at=from_us(row[11]),
        valid_from=valid_from, valid_to=from_us(row[13]), expires_at=from_us(row[14]),
        content_hash=row[15], supersedes=row[16], superseded_by=row[17], subject=subject,
    )


def insert_params(tenant: str, m: NewMemory, key: DataKey, body: str, context: str) -> tuple[Any, ...]:
    """Parameters of ``INSERT_MEMORY``: text and metadata sealed with ``key`` (the tenant's or
    the subject's); ``body`` and ``context`` (plaintext) feed the search vector (``document``)."""
    metadata = metadata_json(m.metadata)
    source = m.source.model_dump(mode="json", exclude_none=True)
    return (
        m.id, tenant, m.namespace, m.kind.value, Sealer.seal(key, m.id, "text", m.text.encode("utf-8")),
        Sealer.seal(key, m.id, "metadata", metadata.encode("utf-8")), Jsonb(list(m.tags)),
        Jsonb(source), m.importance, to_us(m.created_at), to_us(m.occurred_at),
        to_us(m.valid_from), to_us(m.expires_at), m.content_hash, m.source.session, m.supersedes,
        len(m.text.encode("utf-8")) + len(metadata), m.subject, *document(body, context),
    )


def vector_text(vector: Vectors) -> str:
    """A vector as pgvector's input syntax, ``[0.1,0.2,…]``."""
    values = np.asarray(vector, dtype=np.float32).reshape(-1)
    return "[" + ",".join(repr(float(x)) for x in values) + "]"


def parse_vector(text: str) -> Vectors:
    return np.array(json.loads(text), dtype=np.float32)


def filter_sql(flt: MemoryFilter, at: int, sealer: Sealer, tenant: str) -> tuple[list[str], list[Any]]:
    """WHERE clauses (over alias ``m``) for everything in ``flt`` except the tenant, with
    the same meaning as the SQLite backend's (``cortex.store.sqlite.rows.filter_sql``).

    Metadata is sealed, so its equality filters compare blind-index tokens: a value's
    token must be there; ``None`` matches a missing or null value (no present token)."""
    clauses: list[str] = []
    params: list[Any] = []
    if flt.namespaces is not None:
        clauses.append("m.namespace = ANY(%s)")
        params.append(list(flt.namespaces))
    if flt.kinds:
        clauses.append("m.kind = ANY(%s)")
        params.append([k.value for k in flt.kinds])
    for tag in flt.tags_all:
        clauses.append("EXISTS (SELECT 1 FROM memory_tags t"
                       " WHERE t.tenant = m.tenant AND t.tag = %s AND t.seq = m.seq)")
        params.append(tag)
    for key, value in sorted(flt.metadata.items()):
        clauses.append(_metadata_clause(key, value, sealer, tenant, params))
    if flt.subject is not None:
        clauses.append("m.subject = %s")
        params.append(flt.subject)
    if flt.occurred_after is not None:
        clauses.append("m.occurred_at >= %s")
        params.append(to_us(flt.occurred_after))
    if flt.occurred_before is not None:
        clauses.append("m.occurred_at < %s")
        params.append(to_us(flt.occurred_before))
    clauses.append("m.created_at <= %s AND m.valid_from <= %s"
                   " AND (m.expires_at IS NULL OR m.expires_at > %s)")
    params.extend([at, at, at])
    if not flt.include_superseded:
        clauses.append("(m.valid_to IS NULL OR m.valid_to > %s)")
        params.append(at)
    return clauses, params


def _metadata_clause(key: str, value: Any, sealer: Sealer, tenant: str, params: list[Any]) -> str:
    if not _METADATA_KEY.match(key):
        raise InvalidQuery(f"metadata filter key {key!r} must be a dotted identifier")
    _check_scalar(key, value)
    exists = ("EXISTS (SELECT 1 FROM memory_meta x WHERE x.tenant = m.tenant AND x.token = %s"
              " AND x.seq = m.seq)")
    if value is None:  # absent or null, like SQLite's json_extract(...) IS NULL
        params.append(sealer.present_token(tenant, key))
        return "NOT " + exists
    params.append(sealer.value_token(tenant, key, value))
    return exists


def _check_scalar(key: str, value: Any) -> None:
    """The same errors as SQLite's filters (and as before sealing)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise InvalidQuery(f"metadata filter {key!r} compares to an integer beyond 64 bits")
        return
    raise InvalidQuery(f"metadata filter {key!r} must compare to a string, number, bool or null")


__all__ = ["INSERT_MEMORY", "MEMORY_COLUMNS", "MEMORY_COLUMN_COUNT", "SEARCH_VECTOR", "filter_sql",
           "from_us", "insert_params", "memory_from_row", "metadata_json", "open_field", "open_text",
           "parse_vector", "to_us", "vector_text"]
