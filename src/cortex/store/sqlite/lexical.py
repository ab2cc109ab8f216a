"""BM25 candidates from FTS5: one MATCH scoped to the tenant, filters joined in SQL.

Cost grows with the number of rows matching any query term (FTS5 scores them all), so
frequent words in a very large tenant dominate recall latency: see docs/storage.md.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from cortex.core.textform import CONTEXT_WEIGHT
from cortex.store.sqlite.fts import match_expression

_W = CONTEXT_WEIGHT
RANK = f"bm25(memories_fts, 1.0, {_W}, {_W}, 0.0)"


def search(conn: sqlite3.Connection, query: str, scopes: list[str], where: str,
           params: list[Any], k: int) -> list[tuple[str, float]]:
    """Top-k (memory id, BM25) for the query among rows passing ``where`` (alias m)."""
    expression = match_expression(query, scopes)
    if expression is None or not scopes:
        return []
    sql = (f"SELECT m.id, {RANK} AS rank FROM memories_fts"
           " JOIN memories m ON m.seq = memories_fts.rowid"
           f" WHERE memories_fts MATCH ? AND {where} ORDER BY rank LIMIT ?")
    return [(r[0], -float(r[1])) for r in conn.execute(sql, (expression, *params, k))]
