"""Rows to models and filters to SQL for the SQLite backend."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

from cortex.core.errors import InvalidQuery
from cortex.core.models import Kind, Memory, MemoryFilter, NewMemory, Source
from cortex.privacy.keys import DataKey
from cortex.privacy.sealing import Sealer

MEMORY_COLUMNS = (
    "m.seq, m.id, m.tenant, m.namespace, m.kind, m.text, m.metadata, m.tags, m.source,"
    " m.importance, m.created_at, m.occurred_at, m.valid_from, m.valid_to, m.expires_at,"
    " m.content_hash, m.supersedes, m.superseded_by, m.subject"
)
_METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def to_us(value: datetime | None) -> int | None:
    if value is None:
        return None
    return int(value.timestamp() * 1_000_000)


def from_us(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def memory_from_row(row: sqlite3.Row | tuple[Any, ...], sealer: Sealer) -> Memory:
    created = from_us(row[10])
    valid_from = from_us(row[12])
    assert created is not None and valid_from is not None
    # Rows were validated on the way in; skipping re-validation keeps recall fast.
    return Memory.model_construct(
        id=row[1], tenant=row[2], namespace=row[3], kind=Kind(row[4]),
        text=sealer.open_text(row[2], row[1], "text", row[5]),
        metadata=json.loads(sealer.open(row[2], row[1], "metadata", row[6])), tags=json.loads(row[7]),
        source=Source.model_construct(**json.loads(row[8])),
        importance=row[9], created_at=created, occurred_at=from_us(row[11]),
        valid_from=valid_from, valid_to=from_us(row[13]), expires_at=from_us(row[14]),
        content_hash=row[15], supersedes=row[16], superseded_by=row[17], subject=row[18],
    )


def insert_params(tenant: str, m: NewMemory, key: DataKey) -> tuple[Any, ...]:
    """The row of a new memory, its text and metadata sealed with ``key``."""
    metadata = json.dumps(m.metadata, sort_keys=True, separators=(",", ":"))
    source = m.source.model_dump_json(exclude_none=True)
    return (
        m.id, tenant, m.namespace, m.kind.value, Sealer.seal(key, m.id, "text", m.text.encode("utf-8")),
        Sealer.seal(key, m.id, "metadata", metadata.encode("utf-8")),
        json.dumps(m.tags), source, m.importance, to_us(m.created_at), to_us(m.occurred_at),
        to_us(m.valid_from), to_us(m.expires_at), m.content_hash, m.source.session, m.supersedes,
        len(m.text.encode("utf-8")) + len(metadata), m.subject,
    )


INSERT_MEMORY = (
    "INSERT INTO memories (id, tenant, namespace, kind, text, metadata, tags, source,"
    " importance, created_at, occurred_at, valid_from, expires_at, content_hash, session,"
    " supersedes, bytes, subject) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING seq"
)


def scope_token(tenant: str, namespace: str | None = None) -> str:
    """A word only this tenant's (and namespace's) FTS rows carry."""
    key = tenant if namespace is None else f"{tenant}\x00{namespace}"
    prefix = "t" if namespace is None else "n"
    return prefix + hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


def filter_sql(flt: MemoryFilter, at: int, sealer: Sealer, tenant: str) -> tuple[list[str], list[Any]]:
    """WHERE clauses (over alias ``m``) for everything in ``flt`` except the tenant.

    Metadata is sealed, so its equality filters compare blind-index tokens."""
    clauses: list[str] = []
    params: list[Any] = []
    if flt.namespaces is not None:
        clauses.append(f"m.namespace IN ({','.join('?' * len(flt.namespaces))})")
        params.extend(flt.namespaces)
    if flt.kinds:
        clauses.append(f"m.kind IN ({','.join('?' * len(flt.kinds))})")
        params.extend(k.value for k in flt.kinds)
    for tag in flt.tags_all:
        clauses.append("EXISTS (SELECT 1 FROM memory_tags t"
                       " WHERE t.tenant = m.tenant AND t.tag = ? AND t.seq = m.seq)")
        params.append(tag)
    for key, value in sorted(flt.metadata.items()):
        if not _METADATA_KEY.match(key):
            raise InvalidQuery(f"metadata filter key {key!r} must be a dotted identifier")
        _json_scalar(key, value)  # the same errors as before sealing
        if value is None:  # absent or null, like json_extract(...) IS NULL
            clauses.append("NOT EXISTS (SELECT 1 FROM memory_meta x WHERE x.tenant = m.tenant"
                           " AND x.token = ? AND x.seq = m.seq)")
            params.append(sealer.present_token(tenant, key))
        else:
            clauses.append("EXISTS (SELECT 1 FROM memory_meta x WHERE x.tenant = m.tenant"
                           " AND x.token = ? AND x.seq = m.seq)")
            params.append(sealer.value_token(tenant, key, value))
    if flt.subject is not None:
        clauses.append("m.subject = ?")
        params.append(flt.subject)
    if flt.occurred_after is not None:
        clauses.append("m.occurred_at >= ?")
        params.append(to_us(flt.occurred_after))
    if flt.occurred_before is not None:
        clauses.append("m.occurred_at < ?")
        params.append(to_us(flt.occurred_before))
    clauses.append("m.created_at <= ? AND m.valid_from <= ?"
                   " AND (m.expires_at IS NULL OR m.expires_at > ?)")
    params.extend([at, at, at])
    if not flt.include_superseded:
        clauses.append("(m.valid_to IS NULL OR m.valid_to > ?)")
        params.append(at)
    return clauses, params


def _json_scalar(key: str, value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise InvalidQuery(f"metadata filter {key!r} compares to an integer beyond 64 bits")
    if value is None or isinstance(value, str | int | float):
        return value
    raise InvalidQuery(f"metadata filter {key!r} must compare to a string, number, bool or null")
