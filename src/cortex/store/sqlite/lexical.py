"""BM25 candidates from FTS5: one MATCH scoped to the tenant, filters joined in SQL.

FTS5 scores every row that matches any query term, so in a very large scope a few
frequent words ("going", "really") mean scoring tens of thousands of rows. For scopes
of at least ``PRUNE_MIN_DOCS`` memories the query keeps its rarest words, in order of
document frequency, until their postings reach ``POSTINGS_BUDGET`` (always at least
one word). The dropped words are the least informative ones (lowest IDF); small and
medium scopes — and every scope where the words are rare enough — get exact BM25 over
all query words. ``explain`` is unaffected: the BM25 shown is the BM25 that ranked.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cortex.core.textform import CONTEXT_WEIGHT
from cortex.store.sqlite.fts import match_expression, query_terms

PRUNE_MIN_DOCS = 20_000
POSTINGS_BUDGET = 5_000
MAX_SCORED = 10_000
_W = CONTEXT_WEIGHT
RANK = f"bm25(memories_fts, 1.0, {_W}, {_W}, 0.0)"


def prepare(conn: sqlite3.Connection) -> None:
    """Per-connection temp tables: a tokenizer twin of memories_fts and a vocabulary view."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.cortex_tok USING fts5"
                 "(x, tokenize = 'porter unicode61 remove_diacritics 2')")
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.cortex_tok_terms"
                 " USING fts5vocab(temp, 'cortex_tok', 'instance')")
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.cortex_vocab"
                 " USING fts5vocab(main, 'memories_fts', 'row')")


class DocFrequencies:
    """Document frequency per indexed token, cached briefly (counting walks a doclist).

    Frequencies only decide which words generate candidates, so a minute-old count is
    as good as a fresh one.
    """

    def __init__(self, ttl_s: float = 60.0) -> None:
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def get(self, conn: sqlite3.Connection, tokens: list[str]) -> dict[str, int]:
        now = time.monotonic()
        found: dict[str, int] = {}
        with self._lock:
            for token in tokens:
                hit = self._cache.get(token)
                if hit is not None and now - hit[0] < self.ttl_s:
                    found[token] = hit[1]
        for token in (t for t in tokens if t not in found):
            row = conn.execute("SELECT doc FROM temp.cortex_vocab WHERE term = ?",
                               (token,)).fetchone()
            found[token] = int(row[0]) if row else 0
            with self._lock:
                if len(self._cache) > 100_000:
                    self._cache.clear()
                self._cache[token] = (now, found[token])
        return found

    def table_rows(self, conn: sqlite3.Connection) -> int:
        """An upper bound of the rows in the table (seq is never reused), cached."""
        return self.get_computed("\x00rows", lambda: int(conn.execute(
            "SELECT coalesce(max(seq), 0) FROM memories").fetchone()[0]))

    def get_computed(self, key: str, compute: Callable[[], int]) -> int:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[0] < self.ttl_s:
                return hit[1]
        value = compute()
        with self._lock:
            self._cache[key] = (now, value)
        return value


def tokens_of(conn: sqlite3.Connection, words: list[str]) -> dict[str, str]:
    """Each word's token exactly as memories_fts indexes it (the same tokenizer)."""
    conn.execute("DELETE FROM temp.cortex_tok")
    conn.executemany("INSERT INTO temp.cortex_tok (rowid, x) VALUES (?, ?)",
                     list(enumerate(words)))
    return {words[doc]: term for term, doc in
            conn.execute("SELECT term, doc FROM temp.cortex_tok_terms")}


@dataclass(frozen=True)
class QueryPlan:
    words: list[str]  # the words to match
    expected: int  # rows they are expected to match (0: small scope, not estimated)
    scope_rows: int  # rows carrying one of the scope tokens


def plan(conn: sqlite3.Connection, words: list[str], scopes: list[str],
         frequencies: DocFrequencies, prune_min_docs: int = PRUNE_MIN_DOCS,
         budget: int = POSTINGS_BUDGET) -> QueryPlan:
    """All words for small scopes; for large ones the rarest words within the budget."""
    token = tokens_of(conn, [*words, *scopes])  # scope tokens go through the stemmer too
    size = sum(frequencies.get(conn, [token[s] for s in scopes if s in token]).values())
    if size < prune_min_docs:
        return QueryPlan(words, 0, size)
    df = frequencies.get(conn, sorted({token[w] for w in words if w in token}))
    kept: list[str] = []
    postings = 0
    for word in sorted(words, key=lambda w: df.get(token.get(w, ""), 0)):
        count = df.get(token.get(word, ""), 0)
        if kept and postings + count > budget:
            break
        kept.append(word)
        postings += count
    return QueryPlan(kept, postings, size)


def scope_is_selective(conn: sqlite3.Connection, scope_rows: int,
                       frequencies: DocFrequencies) -> bool:
    """Worth intersecting with in the MATCH? Not when the scope is most of the table: then
    walking its posting list costs more than the tenant filter on the join (which always
    applies, so results are the same either way)."""
    return scope_rows * 2 < frequencies.table_rows(conn)


def search(conn: sqlite3.Connection, query: str, scopes: list[str], where: str,
           params: list[Any], k: int, frequencies: DocFrequencies) -> list[tuple[str, float]]:
    """Top-k (memory id, BM25) for the query among rows passing ``where`` (alias m, which
    must filter the tenant and namespaces itself)."""
    words = query_terms(query)
    if not words or not scopes:
        return []
    chosen = plan(conn, words, scopes, frequencies, PRUNE_MIN_DOCS, POSTINGS_BUDGET)
    selective = scope_is_selective(conn, chosen.scope_rows, frequencies)
    expression = match_expression(chosen.words, scopes if selective else None)
    window, window_params = _recent_window(conn, chosen.expected, frequencies)
    sql = (f"SELECT m.id, {RANK} AS rank FROM memories_fts"
           " JOIN memories m ON m.seq = memories_fts.rowid"
           f" WHERE memories_fts MATCH ?{window} AND {where} ORDER BY rank LIMIT ?")
    return [(r[0], -float(r[1]))
            for r in conn.execute(sql, (expression, *window_params, *params, k))]


def _recent_window(conn: sqlite3.Connection, expected: int,
                   frequencies: DocFrequencies) -> tuple[str, list[int]]:
    """Bounded work, like Elasticsearch's ``terminate_after``: when even the rarest words
    match more than ``MAX_SCORED`` rows, BM25 scores only the newest rows where about that
    many matches are expected (rowids grow with time; FTS5 seeks the range). Dense search
    still covers the whole scope, so older memories remain reachable."""
    if expected <= MAX_SCORED:
        return "", []
    rows = frequencies.table_rows(conn)
    return " AND memories_fts.rowid > ?", [int(rows - rows * MAX_SCORED / expected)]
