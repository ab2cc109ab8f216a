"""Numbered, hash-checked SQL migrations for PostgreSQL (files beside this module).

The same rules as the SQLite runner: each applied file's SHA-256 is recorded in
``schema_migrations``; a database holding a migration this Cortex does not know, or one
whose file changed after it was applied, is refused. Each migration is one transaction.
Several API nodes may start at once: a session advisory lock lets one of them migrate
while the others wait, then find nothing left to do.

Migrations run as the connecting (owner) role. A migration may have a step in Python
(``after``: run in the migration's own transaction, after its SQL), e.g. sealing the rows
written in the clear before 0006. Derived structures that depend on the embedder — one
HNSW index per vector dimension — are created here too, after them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import psycopg

from cortex.core.errors import MigrationError
from cortex.store.sqlite.migrate import Migration, load_migrations

PACKAGE = "cortex.store.postgres.migrations"
_LOCK = 0x636F7274  # "cort": the advisory lock key of schema changes
Conn = psycopg.Connection[tuple[object, ...]]
Step = Callable[[Conn], object]


def migrate(conn: Conn, dim: int, migrations: list[Migration] | None = None, *,
            after: Mapping[int, Step] | None = None) -> list[int]:
    """Apply what is missing; make sure the HNSW index for ``dim`` exists. ``conn`` must be
    in autocommit mode. ``after[version]`` runs in that migration's transaction, after its
    SQL. Returns the versions applied."""
    migrations = load_migrations(PACKAGE) if migrations is None else migrations
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
    try:
        done = _apply(conn, migrations, after or {})
        ensure_vector_index(conn, dim)
        return done
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))


def _apply(conn: Conn, migrations: list[Migration], after: Mapping[int, Step]) -> list[int]:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
                 " applied_at timestamptz NOT NULL DEFAULT now())")
    applied = {int(str(v)): str(d) for v, d in
               conn.execute("SELECT version, sha256 FROM schema_migrations").fetchall()}
    check_applied(applied, migrations)
    done = []
    for m in migrations:
        if m.version in applied:
            continue
        with conn.transaction():
            conn.execute(m.sql.encode("utf-8"))  # several statements: simple query protocol
            step = after.get(m.version)
            if step is not None:
                step(conn)
            conn.execute("INSERT INTO schema_migrations (version, name, sha256) VALUES (%s, %s, %s)",
                         (m.version, m.name, m.digest))
        done.append(m.version)
    return done


def check_applied(applied: dict[int, str], migrations: list[Migration]) -> None:
    known = {m.version: m for m in migrations}
    for version, digest in sorted(applied.items()):
        if version not in known:
            raise MigrationError(
                f"database has migration {version}, which this Cortex does not know: "
                "it was written by a newer version")
        if known[version].digest != digest:
            raise MigrationError(
                f"migration {version} ({known[version].name}) was edited after it was applied")


def vector_index_name(dim: int) -> str:
    return f"vectors_hnsw_{int(dim)}"


def ensure_vector_index(conn: Conn, dim: int) -> None:
    """HNSW over this dimension's vectors (cosine). Queries must use the same expression,
    ``embedding::vector(dim)``, and the predicate ``dim = <dim>``, to be served by it."""
    dim = int(dim)
    conn.execute(f"CREATE INDEX IF NOT EXISTS {vector_index_name(dim)} ON vectors USING hnsw"
                 f" ((embedding::vector({dim})) vector_cosine_ops) WITH (m = 16, ef_construction = 128)"
                 f" WHERE dim = {dim}".encode())


__all__ = ["PACKAGE", "check_applied", "ensure_vector_index", "migrate", "vector_index_name"]
