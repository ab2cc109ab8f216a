"""Connections to PostgreSQL: one pool per store, one tenant-bound transaction per call.

Every transaction of the store starts with one statement that switches to the serving
role (``cortex_app``: no table ownership, no BYPASSRLS) and binds the tenant for row-level
security, both ``LOCAL`` so they end with the transaction and never leak to the next
user of a pooled connection::

    SELECT set_config('role', 'cortex_app', true), set_config('cortex.tenant', %s, true)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import psycopg_pool

from cortex.core.errors import StoreError, StoreUnavailable

APP_ROLE = "cortex_app"
NO_TENANT = ""  # matches no row: a transaction that may only use the cross-tenant functions


def open_pool(url: str, *, min_size: int = 1, max_size: int = 8,
              timeout: float = 30.0) -> psycopg_pool.ConnectionPool[psycopg.Connection[tuple[object, ...]]]:
    """A pool of connections in transaction mode; waits until the first one is up."""
    with translate_errors(url):
        pool: psycopg_pool.ConnectionPool[psycopg.Connection[tuple[object, ...]]] = (
            psycopg_pool.ConnectionPool(url, min_size=min_size, max_size=max_size, timeout=timeout,
                                        open=False, name="cortex", kwargs={"autocommit": False}))
        pool.open(wait=True, timeout=timeout)
        return pool


@contextmanager
def translate_errors(where: str) -> Iterator[None]:
    """Driver exceptions become typed Cortex errors at the backend edge."""
    try:
        yield
    except psycopg_pool.PoolTimeout as exc:
        raise StoreUnavailable(f"{redact(where)}: no database connection available ({exc})") from exc
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"{redact(where)}: {_first_line(exc)}") from exc
    except psycopg.Error as exc:
        raise StoreError(f"{redact(where)}: {_first_line(exc)}") from exc


@contextmanager
def transaction(pool: psycopg_pool.ConnectionPool[psycopg.Connection[tuple[object, ...]]], where: str,
                tenant: str, *, role: str = APP_ROLE) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """One transaction as ``role`` bound to ``tenant``: committed when the block ends,
    rolled back (all of it) when it raises."""
    with translate_errors(where), pool.connection() as conn:
        conn.execute("SELECT set_config('role', %s, true), set_config('cortex.tenant', %s, true)",
                     (role, tenant))
        yield conn


def bind_tenant(conn: psycopg.Connection[tuple[object, ...]], tenant: str) -> None:
    """Switch the open transaction to another tenant (writes that span tenants)."""
    conn.execute("SELECT set_config('cortex.tenant', %s, true)", (tenant,))


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://…"
    host, port, dbname = info.get("host", ""), info.get("port", ""), info.get("dbname", "")
    return f"postgresql://{host}{':' + str(port) if port else ''}/{dbname}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


__all__ = ["APP_ROLE", "NO_TENANT", "bind_tenant", "open_pool", "redact", "transaction",
           "translate_errors"]
