"""Numbered, hash-checked SQL migrations.

Files are ``NNNN_name.sql`` beside this module. Each applied migration's SHA-256 is
recorded; if a file that was applied is later edited, opening the store fails loudly
instead of running against a schema nobody can describe.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from importlib import resources

from cortex.core.errors import MigrationError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def load_migrations(package: str = "cortex.store.sqlite.migrations") -> list[Migration]:
    found = []
    for entry in resources.files(package).iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise MigrationError("migration files are not numbered 1..N without gaps")
    return found


def migrate(conn: sqlite3.Connection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply what is missing, each in its own transaction; return the versions applied."""
    migrations = load_migrations() if migrations is None else migrations
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
    )
    applied = dict(conn.execute("SELECT version, sha256 FROM schema_migrations").fetchall())
    _check_applied(applied, migrations)
    done = []
    for m in migrations:
        if m.version in applied:
            continue
        with conn:  # one transaction per migration: all of it or none of it
            conn.execute("BEGIN IMMEDIATE")
            for statement in _statements(m.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version, name, sha256) VALUES (?, ?, ?)",
                         (m.version, m.name, m.digest))
        done.append(m.version)
    return done


def _check_applied(applied: dict[int, str], migrations: list[Migration]) -> None:
    known = {m.version: m for m in migrations}
    for version, digest in sorted(applied.items()):
        if version not in known:
            raise MigrationError(
                f"database has migration {version}, which this Cortex does not know: "
                "it was written by a newer version")
        if known[version].digest != digest:
            raise MigrationError(
                f"migration {version} ({known[version].name}) was edited after it was applied")


def _statements(sql: str) -> list[str]:
    """Split on complete statements (sqlite3 decides where one ends)."""
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip() and not buf.strip().startswith("--"):
        out.append(buf.strip())
    return out
