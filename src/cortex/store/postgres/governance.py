"""The constitution and tenant policies (migration 0004).

``constitutions`` is deployment-wide: it has no tenant column, so no row-level security;
the serving role may read it and append to it (SELECT and INSERT only). Applies are
serialised by a transaction-scoped advisory lock, so two concurrent applies of the same
version cannot both pass the version check.
"""

from __future__ import annotations

from typing import Any

import psycopg

from cortex.core.errors import Conflict
from cortex.core.models import utcnow
from cortex.store.postgres.rows import to_us

Conn = psycopg.Connection[tuple[Any, ...]]
_LOCK = 0x636F6E73  # "cons"


def constitutions(conn: Conn) -> list[tuple[int, str]]:
    rows = conn.execute("SELECT version, envelope FROM constitutions ORDER BY version")
    return [(int(r[0]), str(r[1])) for r in rows]


def latest_version(conn: Conn) -> int | None:
    row = conn.execute("SELECT max(version) FROM constitutions").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def add_constitution(conn: Conn, version: int, envelope: str) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
    latest = latest_version(conn)
    if latest is not None and version != latest + 1:  # a concurrent apply won the race
        raise Conflict(f"constitution version {version} does not follow the applied {latest}")
    conn.execute("INSERT INTO constitutions (version, envelope, applied_at) VALUES (%s, %s, %s)",
                 (version, envelope, to_us(utcnow())))


def tenant_policies(conn: Conn, tenant: str) -> str:
    row = conn.execute("SELECT policies FROM tenant_policies WHERE tenant = %s", (tenant,)).fetchone()
    return "" if row is None else str(row[0])


def set_tenant_policies(conn: Conn, tenant: str, policies: str) -> None:
    conn.execute("INSERT INTO tenant_policies (tenant, policies, updated_at) VALUES (%s, %s, %s)"
                 " ON CONFLICT (tenant) DO UPDATE SET policies = excluded.policies,"
                 " updated_at = excluded.updated_at", (tenant, policies, to_us(utcnow())))
