"""API keys and per-tenant usage (tables from migration 0002).

Reads across tenants (login by key id, counting keys, usage of every tenant) go
through the SECURITY DEFINER functions of migration 0005; everything else runs in a
transaction bound to the key's tenant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from cortex.core.models import ApiKey, Usage
from cortex.store.postgres.rows import from_us, to_us

Conn = psycopg.Connection[tuple[Any, ...]]
_KEY_COLUMNS = "id, tenant, role, namespaces, name, created_at, expires_at, revoked_at"


def add_key(conn: Conn, key: ApiKey, secret_sha256: str) -> None:
    conn.execute(
        f"INSERT INTO api_keys ({_KEY_COLUMNS}, secret_sha256) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (key.id, key.tenant, key.role, None if key.namespaces is None else Jsonb(list(key.namespaces)),
         key.name, to_us(key.created_at), to_us(key.expires_at), to_us(key.revoked_at), secret_sha256))


def key_with_secret(conn: Conn, key_id: str) -> tuple[ApiKey, str] | None:
    row = conn.execute(f"SELECT {_KEY_COLUMNS}, secret_sha256 FROM cortex_key_with_secret(%s)",
                       (key_id,)).fetchone()
    return None if row is None else (_key(row), str(row[8]))


def list_keys(conn: Conn, tenant: str) -> list[ApiKey]:
    rows = conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE tenant = %s ORDER BY created_at, id",
                        (tenant,)).fetchall()
    return [_key(r) for r in rows]


def revoke_key(conn: Conn, tenant: str, key_id: str, at: datetime) -> ApiKey | None:
    row = conn.execute("UPDATE api_keys SET revoked_at = coalesce(revoked_at, %s) WHERE id = %s"
                       f" AND tenant = %s RETURNING {_KEY_COLUMNS}", (to_us(at), key_id, tenant)).fetchone()
    return None if row is None else _key(row)


def count_keys(conn: Conn) -> int:
    row = conn.execute("SELECT cortex_count_keys()").fetchone()
    return 0 if row is None else int(row[0])


def usage(conn: Conn, tenant: str) -> Usage:
    row = conn.execute("SELECT memories, bytes FROM tenant_usage WHERE tenant = %s", (tenant,)).fetchone()
    return Usage() if row is None else Usage(memories=row[0], bytes=row[1])


def usage_by_tenant(conn: Conn) -> dict[str, Usage]:
    rows = conn.execute("SELECT tenant, memories, bytes FROM cortex_usage_by_tenant()")
    return {r[0]: Usage(memories=r[1], bytes=r[2]) for r in rows}


def _key(row: tuple[Any, ...]) -> ApiKey:
    return ApiKey.model_validate({
        "id": row[0], "tenant": row[1], "role": row[2], "namespaces": row[3],
        "name": row[4], "created_at": from_us(row[5]), "expires_at": from_us(row[6]),
        "revoked_at": from_us(row[7]),
    })
