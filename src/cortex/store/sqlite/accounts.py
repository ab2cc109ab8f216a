"""API keys and per-tenant usage in the SQLite file (tables from migration 0002)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from cortex.core.models import ApiKey, Usage
from cortex.store.sqlite.rows import from_us, to_us

_KEY_COLUMNS = "id, tenant, role, namespaces, name, created_at, expires_at, revoked_at"


def add_key(conn: sqlite3.Connection, key: ApiKey, secret_sha256: str) -> None:
    conn.execute(
        f"INSERT INTO api_keys ({_KEY_COLUMNS}, secret_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (key.id, key.tenant, key.role, None if key.namespaces is None else json.dumps(key.namespaces),
         key.name, to_us(key.created_at), to_us(key.expires_at), to_us(key.revoked_at), secret_sha256))


def key_with_secret(conn: sqlite3.Connection, key_id: str) -> tuple[ApiKey, str] | None:
    row = conn.execute(f"SELECT {_KEY_COLUMNS}, secret_sha256 FROM api_keys WHERE id = ?",
                       (key_id,)).fetchone()
    return None if row is None else (_key(row), row[8])


def list_keys(conn: sqlite3.Connection, tenant: str) -> list[ApiKey]:
    rows = conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE tenant = ? ORDER BY created_at, id",
                        (tenant,)).fetchall()
    return [_key(r) for r in rows]


def revoke_key(conn: sqlite3.Connection, tenant: str, key_id: str, at: datetime) -> ApiKey | None:
    conn.execute("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? AND tenant = ?",
                 (to_us(at), key_id, tenant))
    row = conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = ? AND tenant = ?",
                       (key_id, tenant)).fetchone()
    return None if row is None else _key(row)


def count_keys(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM api_keys").fetchone()[0])


def usage(conn: sqlite3.Connection, tenant: str) -> Usage:
    row = conn.execute("SELECT memories, bytes FROM tenant_usage WHERE tenant = ?", (tenant,)).fetchone()
    return Usage() if row is None else Usage(memories=row[0], bytes=row[1])


def usage_by_tenant(conn: sqlite3.Connection) -> dict[str, Usage]:
    rows = conn.execute("SELECT tenant, memories, bytes FROM tenant_usage ORDER BY tenant")
    return {r[0]: Usage(memories=r[1], bytes=r[2]) for r in rows}


def _key(row: tuple[Any, ...]) -> ApiKey:
    return ApiKey.model_validate({
        "id": row[0], "tenant": row[1], "role": row[2],
        "namespaces": None if row[3] is None else json.loads(row[3]),
        "name": row[4], "created_at": from_us(row[5]), "expires_at": from_us(row[6]),
        "revoked_at": from_us(row[7]),
    })
