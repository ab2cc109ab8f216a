"""Candidate generation in PostgreSQL: dense (pgvector) and lexical (tsvector) searches.

Dense: cosine similarity (``1 - (a <=> b)``). A tenant with at most ``EXACT_MAX_ROWS``
current memories is scanned exactly — the ORDER BY deliberately uses ``embedding <=> q``
without the ``::vector(dim)`` cast, so the HNSW index cannot serve it. Larger tenants use
the HNSW index with pgvector's iterative scan (``hnsw.iterative_scan = relaxed_order``):
the index keeps yielding neighbours until ``k`` rows pass the tenant and filter
conditions, and the hits are re-sorted by exact distance. ``hnsw.ef_search`` grows as the
tenant's share of the table shrinks (``ef_search``), so about 5·k of the candidates are
the tenant's. If even that returns fewer than ``k`` rows (a very selective filter), the
exact scan answers instead: correct first, fast second. Figures: docs/storage.md.

Lexical: the query's words (``lexical.query_words``: ``query_terms``, split, folded and
lower-cased as documents are) are matched against the ``cortex_english`` search vector.
Per query word, an IDF weight from the word's document frequency in the
tenant (BM25's ``ln(1 + (N - df + .5) / (df + .5))``, df counted up to ``COMMON_DF``) times
``ts_rank_cd`` of the word over the memory's search vector with weights A = 1 (its own
index text) and B = ``CONTEXT_WEIGHT`` (the previous turns), normalised by document
length. The sum over the query words is the score: IDF-weighted like BM25, so rare words
count more than frequent ones. Words in more than ``COMMON_DF`` of the tenant's rows are
dropped unless no query word is rarer, and each word ranks at most
``PER_WORD_CANDIDATES`` rows, so a query of common words over a large tenant stays bounded
(measured at 131k rows: from over 20 s per query to 15-60 ms). Matches are found through
the GIN index by ``cortex_text_matches`` (migration 0008), as row-level security keeps the
planner from using it for ``@@`` (measured on a 20k-row tenant: 4-5x faster).
"""

from __future__ import annotations

import math
from typing import Any

import psycopg

from cortex.core.textform import CONTEXT_WEIGHT
from cortex.embed.base import Vectors
from cortex.store.base import ScoredIds
from cortex.store.postgres.lexical import CONFIG, query_words
from cortex.store.postgres.rows import vector_text

EXACT_MAX_ROWS = 5_000
COMMON_DF = 2_000  # a word in more rows than this is dropped unless no query word is rarer
PER_WORD_CANDIDATES = 1_000
MAX_SCAN_TUPLES = 40_000
_WEIGHTS = f"'{{0, 0, {CONTEXT_WEIGHT}, 1}}'"  # D, C, B, A

Conn = psycopg.Connection[tuple[Any, ...]]


def tenant_rows(conn: Conn, tenant: str) -> tuple[int, int]:
    """(current memories of the tenant, vectors in the table): a trigger-kept row and the
    planner's estimate, no scan."""
    row = conn.execute("SELECT (SELECT memories FROM tenant_usage WHERE tenant = %s),"
                       " (SELECT reltuples FROM pg_class WHERE oid = 'vectors'::regclass)",
                       (tenant,)).fetchone()
    mine = 0 if row is None or row[0] is None else int(row[0])
    return mine, max(mine, 0 if row is None or row[1] is None else int(row[1]))


def ef_search(k: int, mine: int, total: int) -> int:
    """Enough graph candidates that about 5·k of them are the tenant's (1000 at most)."""
    share = max(mine, 1) / max(total, 1)
    return min(1000, max(100, math.ceil(5 * k / share)))


def vector_search(conn: Conn, tenant: str, vector: Vectors, k: int, dim: int, where: str,
                  params: list[Any], *, exact: bool | None = None) -> ScoredIds:
    """Top-k (id, cosine similarity) among the tenant's rows passing ``where`` (alias m).
    ``exact`` forces a plan (None: exact for small tenants, HNSW for large ones)."""
    if k <= 0:
        return []
    query = vector_text(vector)
    mine, total = tenant_rows(conn, tenant)
    if exact is None:
        exact = mine <= EXACT_MAX_ROWS
    if exact:
        return _exact(conn, tenant, query, k, dim, where, params)
    hits = _approximate(conn, tenant, query, k, dim, where, params, ef_search(k, mine, total))
    if len(hits) < k:
        return _exact(conn, tenant, query, k, dim, where, params)
    return hits


def _exact(conn: Conn, tenant: str, query: str, k: int, dim: int, where: str,
           params: list[Any]) -> ScoredIds:
    rows = conn.execute(
        "SELECT m.id, 1 - (v.embedding <=> %s::vector) AS score FROM vectors v"
        " JOIN memories m ON m.seq = v.seq"
        f" WHERE v.tenant = %s AND v.dim = {int(dim)} AND {where}"
        " ORDER BY v.embedding <=> %s::vector, m.id LIMIT %s",
        (query, tenant, *params, query, k)).fetchall()
    return [(str(r[0]), float(r[1])) for r in rows]


def _approximate(conn: Conn, tenant: str, query: str, k: int, dim: int, where: str,
                 params: list[Any], ef: int) -> ScoredIds:
    d = int(dim)
    # enable_sort off: the planner would otherwise often prefer the (tenant, dim) index and
    # a sort, an exact scan of a tenant this large; the HNSW scan needs no sort.
    conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
                 " set_config('hnsw.ef_search', %s, true), set_config('hnsw.max_scan_tuples', %s, true),"
                 " set_config('enable_sort', 'off', true)",
                 (str(ef), str(MAX_SCAN_TUPLES)))
    rows = conn.execute(
        "WITH hits AS MATERIALIZED ("
        f" SELECT m.id, v.embedding::vector({d}) <=> %s::vector({d}) AS distance FROM vectors v"
        " JOIN memories m ON m.seq = v.seq"
        f" WHERE v.dim = {d} AND v.tenant = %s AND {where}"
        f" ORDER BY v.embedding::vector({d}) <=> %s::vector({d}) LIMIT %s)"
        " SELECT id, 1 - distance FROM hits ORDER BY distance, id",
        (query, tenant, *params, query, k)).fetchall()
    return [(str(r[0]), float(r[1])) for r in rows]


def text_search(conn: Conn, tenant: str, query: str, k: int, where: str,
                params: list[Any]) -> ScoredIds:
    """Top-k (id, score) for the query's words among the tenant's rows passing ``where``."""
    words = query_words(query)
    if not words or k <= 0:
        return []
    # Each word ranks its own matches (bounded by PER_WORD_CANDIDATES) and the scores are
    # summed with a BM25 idf, in query order (so equal rows get equal sums, whatever the
    # plan). Words in more than COMMON_DF rows of the tenant are dropped unless none is
    # rarer: they carry almost no weight and would rank tens of thousands of rows (the same
    # bounded-work rule as SQLite's BM25 in very large scopes). Matches come through the
    # GIN index (cortex_text_matches, migration 0008: under row-level security `@@` can't
    # be an index condition); a word kept although it is that common ranks its matches in
    # a scan of the tenant's rows instead, which is cheaper than fetching most rows one by one.
    rank = f"ts_rank_cd({_WEIGHTS}, m.search, x.q, 1)"
    rows = conn.execute(
        "WITH words AS MATERIALIZED ("
        f"  SELECT i, q FROM (SELECT i, phraseto_tsquery('{CONFIG}', w) AS q"
        "   FROM unnest(%s::text[]) WITH ORDINALITY AS u (w, i)) t WHERE numnode(q) > 0),"
        " total AS MATERIALIZED (SELECT greatest(coalesce((SELECT memories FROM tenant_usage"
        "  WHERE tenant = %s), 0), 1)::float8 AS n),"
        " counted AS MATERIALIZED (SELECT w.i, w.q,"
        "  (SELECT count(*) FROM cortex_text_matches(w.q, %s))::float8 AS df FROM words w),"
        " weighted AS (SELECT * FROM counted WHERE df < %s OR df = (SELECT min(df) FROM counted))"
        " SELECT h.id, sum(h.r * ln(1 + (t.n - least(x.df, t.n) + 0.5) / (x.df + 0.5)) ORDER BY x.i)"
        " AS score FROM weighted x CROSS JOIN total t CROSS JOIN LATERAL ("
        f"  (SELECT m.id, {rank} AS r FROM cortex_text_matches(x.q, NULL) f (seq)"
        f"   JOIN memories m ON m.seq = f.seq WHERE x.df < %s AND {where} ORDER BY r DESC, m.id LIMIT %s)"
        "  UNION ALL"
        f"  (SELECT m.id, {rank} AS r FROM memories m"
        f"   WHERE x.df >= %s AND m.search @@ x.q AND {where} ORDER BY r DESC, m.id LIMIT %s)) h"
        " GROUP BY h.id ORDER BY score DESC, h.id LIMIT %s",
        (words, tenant, COMMON_DF, COMMON_DF, COMMON_DF, *params, PER_WORD_CANDIDATES,
         COMMON_DF, *params, PER_WORD_CANDIDATES, k)).fetchall()
    return [(str(r[0]), float(r[1])) for r in rows]


__all__ = ["EXACT_MAX_ROWS", "tenant_rows", "text_search", "vector_search"]
