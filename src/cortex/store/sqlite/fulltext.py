"""The contentless full-text index: rows are written from plaintext, never stored as text.

FTS5 with ``content=''`` keeps terms but not text. Removing a row needs the exact values
it was indexed with, so they are kept sealed in ``fts_source`` (under the memory's key)
and opened only to issue FTS5's ``delete`` command.
"""

from __future__ import annotations

import json
import sqlite3

from cortex.core.textform import CONTEXT_TURNS, context_text, index_text
from cortex.privacy.sealing import Sealer
from cortex.store.sqlite.rows import MEMORY_COLUMNS, memory_from_row, scope_token


def write(conn: sqlite3.Connection, seq: int, sealer: Sealer) -> None:
    """(Re)write one memory's row: its text, the turns before it, its scope tokens."""
    row = conn.execute(f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.seq = ?", (seq,)).fetchone()
    memory = memory_from_row(row, sealer)
    context = ["", ""]
    if memory.source.session is not None:
        previous = conn.execute(
            "SELECT id, text, json_extract(source, '$.speaker') FROM memories WHERE tenant = ?"
            " AND namespace = ? AND session = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (memory.tenant, memory.namespace, memory.source.session, seq, CONTEXT_TURNS))
        for slot, (memory_id, text, speaker) in enumerate(previous):
            context[slot] = context_text(sealer.open_text(memory.tenant, memory_id, "text", text), speaker)
    delete(conn, seq, sealer)
    values = [index_text(memory), context[0], context[1],
              f"{scope_token(memory.tenant)} {scope_token(memory.tenant, memory.namespace)}"]
    conn.execute("INSERT INTO memories_fts (rowid, body, prev1, prev2, scope) VALUES (?, ?, ?, ?, ?)",
                 (seq, *values))
    sealed = Sealer.seal(sealer.key(memory.tenant, memory.subject), memory.id, "fts",
                         json.dumps(values, ensure_ascii=False).encode("utf-8"))
    conn.execute("INSERT OR REPLACE INTO fts_source (seq, sealed) VALUES (?, ?)", (seq, sealed))


def delete(conn: sqlite3.Connection, seq: int, sealer: Sealer) -> None:
    """Remove one memory's row (no-op when it has none)."""
    row = conn.execute("SELECT f.sealed, m.id, m.tenant FROM fts_source f JOIN memories m ON m.seq = f.seq"
                       " WHERE f.seq = ?", (seq,)).fetchone()
    if row is None:
        return
    values = json.loads(sealer.open(row[2], row[1], "fts", row[0]))
    conn.execute("INSERT INTO memories_fts (memories_fts, rowid, body, prev1, prev2, scope)"
                 " VALUES ('delete', ?, ?, ?, ?, ?)", (seq, *values))
    conn.execute("DELETE FROM fts_source WHERE seq = ?", (seq,))


def clear(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('delete-all')")
    conn.execute("DELETE FROM fts_source")


def purge(conn: sqlite3.Connection) -> None:
    """Merge every segment, so the terms of deleted rows leave the index's pages."""
    conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('optimize')")


__all__ = ["clear", "delete", "purge", "write"]
