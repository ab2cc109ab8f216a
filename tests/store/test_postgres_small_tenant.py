"""A small tenant inside a large shared table still gets its true nearest neighbours.

The test runs a reduced case (random vectors, a few thousand rows). Run as a script, the
module measures recall@10 on real MiniLM embeddings of LoCoMo turns, the figures in
docs/storage.md ("PostgreSQL")::

    .venv/bin/python -m tests.store.test_postgres_small_tenant --rows 50000

It starts its own PostgreSQL in a temporary folder, fills ``--rows`` rows (one tenant of
``--tenant-rows`` turns of one conversation, the rest in large tenants), and compares,
for every LoCoMo question of that conversation, three plans with the exact top 10 of the
small tenant: the store's default, HNSW with iterative scans, and HNSW without them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import psycopg

from cortex.core.models import MemoryFilter, utcnow
from cortex.store.postgres.store import PostgresStore
from tests import pg

from .helpers import DIM, new_memory, unit_vectors

Search = Callable[[np.ndarray], list[str]]
pg_server = pg.pg_server
pg_url = pg.pg_url
pg_keys = pg.pg_keys


def test_a_small_tenant_among_large_ones_gets_its_exact_top_k(pg_url: str, pg_keys: pg.Keys) -> None:
    store = PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer())
    big = unit_vectors(3000, 1)
    for n, tenant in enumerate(("big1", "big2", "big3")):
        store.insert(tenant, [new_memory(f"b{i}") for i in range(1000)], big[n * 1000:(n + 1) * 1000], "m")
    small_vectors = unit_vectors(40, 2)
    small = [new_memory(f"s{i}") for i in range(40)]
    store.insert("small", small, small_vectors, "m")
    query = unit_vectors(1, 3)[0]
    truth = [small[i].id for i in np.argsort(-(small_vectors @ query))[:10]]
    now = utcnow()
    assert [i for i, _ in store.vector_search("small", query, 10, MemoryFilter(), now)] == truth
    approximate = store.vector_search("small", query, 10, MemoryFilter(), now, exact=False)
    assert len(approximate) == 10 and {i for i, _ in approximate} <= {m.id for m in small}
    store.close()


# ---- the measurement on real embeddings (run as a script) ---------------------------------
LOCOMO = Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo" / "locomo10.json"


def locomo_texts(rows: int, conversation: int, tenant_rows: int) -> tuple[list[str], list[str], list[str]]:
    """(small tenant's turns, everyone else's texts, the questions about the small tenant's
    conversation). The others are every turn's sentences, the other turns, then windows of
    2, 3, … consecutive turns, until there are enough: real text, with near duplicates
    of the small tenant's turns in other tenants (the hard case for a filtered ANN)."""
    data = json.loads(LOCOMO.read_text())
    turns = [[t["text"] for key, session in c["conversation"].items()
              if key.startswith("session_") and not key.endswith("date_time") for t in session]
             for c in data]
    small = turns[conversation][:tenant_rows]
    pool = [s for conv in turns for t in conv for s in re.split(r"(?<=[.!?])\s+", t) if len(s) > 20]
    pool += [t for n, conv in enumerate(turns) for t in conv[tenant_rows if n == conversation else 0:]]
    width = 2
    while len(set(pool)) < rows - tenant_rows:
        pool += [" ".join(conv[i:i + width]) for conv in turns for i in range(len(conv) - width + 1)]
        width += 1
    others = list(dict.fromkeys(t for t in pool if t not in set(small)))
    questions = [q["question"] for q in data[conversation]["qa"]]
    return small, others[:rows - tenant_rows], questions


def embed(texts: list[str], cache: Path) -> np.ndarray:
    if cache.exists():
        found: np.ndarray = np.load(cache)
        if len(found) == len(texts):
            return found
    from cortex.embed import MiniLMEmbedder

    model = MiniLMEmbedder()
    out = np.concatenate([model.embed_batch(texts[i:i + 256]) for i in range(0, len(texts), 256)])
    np.save(cache, out)
    return out


def chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)


def measure(args: argparse.Namespace) -> dict[str, object]:
    from cortex.store.postgres.local import LocalPostgres

    small, others, questions = locomo_texts(args.rows, args.conversation, args.tenant_rows)
    cache = Path(tempfile.gettempdir()) / f"cortex-small-tenant-{args.rows}-{args.tenant_rows}.npy"
    vectors = embed(small + others, cache)
    queries = embed(questions, cache.with_suffix(".questions.npy"))
    root = Path(tempfile.mkdtemp(prefix="cortex-pg-bench-"))
    server = LocalPostgres(root, settings=pg.FAST)
    url = server.start()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        bench_url = url.rsplit("/", 1)[0] + "/bench"
        store = PostgresStore(bench_url, dim=vectors.shape[1],
                              sealer=pg.Keys(root / "keys", os.urandom(32)).sealer())
        started = time.perf_counter()
        tenants = load(store, vectors, len(small), len(others), args.big_tenants, args.mid_rows)
        result: dict[str, object] = {
            "rows": len(vectors), "small_tenant_rows": len(small), "queries": len(queries),
            "mid_tenant_rows": len(tenants["mid"][1]), "big_tenant_rows": len(tenants["big0"][1]),
            "load_seconds": round(time.perf_counter() - started, 1)}
        with psycopg.connect(bench_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            before = index_scans(conn)
            for name, (tenant, run) in plans(store, conn).items():
                ids, tenant_vectors = tenants[tenant]
                recalls, times = [], []
                for query in queries:
                    truth = {ids[i] for i in np.argsort(-(tenant_vectors @ query))[:10]}
                    t0 = time.perf_counter()
                    got = run(query)
                    times.append((time.perf_counter() - t0) * 1000)
                    recalls.append(len(truth & set(got)) / 10)
                after = index_scans(conn)
                used = {k: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)}
                before = after
                result[name] = {"tenant": tenant, "recall@10": round(statistics.fmean(recalls), 4),
                                "min_recall@10": min(recalls), "p50_ms": round(statistics.median(times), 2),
                                "index_scans": used}
        store.close()
        return result
    finally:
        server.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def load(store: PostgresStore, vectors: np.ndarray, small: int, others: int, big_tenants: int,
         mid: int) -> dict[str, tuple[list[str], np.ndarray]]:
    """A mid-sized tenant and the big ones first (in batches of 500), the small one last;
    ids and vectors per tenant."""
    tenants: dict[str, tuple[list[str], np.ndarray]] = {}
    per_tenant = -(-(others - mid) // big_tenants)
    bounds = {"mid": (small, small + mid)}
    for n in range(big_tenants):
        start = small + mid + n * per_tenant
        bounds[f"big{n}"] = (start, min(small + others, start + per_tenant))
    for tenant, (start, end) in bounds.items():
        ids: list[str] = []
        for a, b in chunks(end - start, 500):
            batch = [new_memory(f"row {start + i}") for i in range(a, b)]
            ids += [m.id for m in store.insert(tenant, batch, vectors[start + a:start + b], "minilm")]
        tenants[tenant] = (ids, vectors[start:end])
    stored = store.insert("small", [new_memory(f"small {i}") for i in range(small)], vectors[:small],
                          "minilm")
    tenants["small"] = ([m.id for m in stored], vectors[:small])
    return tenants


def index_scans(conn: psycopg.Connection) -> dict[str, int]:
    """Scans per index of the vectors table so far (backends report them within ~10 s)."""
    time.sleep(11)
    rows = conn.execute("SELECT indexrelname, idx_scan FROM pg_stat_user_indexes"
                        " WHERE relname = 'vectors'").fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def plans(store: PostgresStore, conn: psycopg.Connection) -> dict[str, tuple[str, Search]]:
    from cortex.store.postgres.rows import vector_text

    dim = store.dim

    def search(tenant: str, exact: bool | None) -> Search:
        def run(q: np.ndarray) -> list[str]:
            return [i for i, _ in store.vector_search(tenant, q, 10, MemoryFilter(), utcnow(), exact=exact)]
        return run

    def plain_hnsw(q: np.ndarray) -> list[str]:
        """HNSW without iterative scans (pgvector < 0.8): the tenant filter after ef_search rows."""
        with conn.transaction():
            conn.execute("SELECT set_config('role', 'cortex_app', true),"
                         " set_config('cortex.tenant', 'small', true),"
                         " set_config('hnsw.iterative_scan', 'off', true),"
                         " set_config('enable_sort', 'off', true)")
            rows = conn.execute(
                f"SELECT m.id FROM vectors v JOIN memories m ON m.seq = v.seq WHERE v.dim = {dim}"
                f" AND v.tenant = 'small' ORDER BY v.embedding::vector({dim}) <=> %s::vector({dim})"
                " LIMIT 10", (vector_text(q),)).fetchall()
        return [str(r[0]) for r in rows]

    return {"small_store_default": ("small", search("small", None)),
            "small_hnsw_iterative": ("small", search("small", False)),
            "small_hnsw_without_iterative": ("small", plain_hnsw),
            "mid_store_default": ("mid", search("mid", None)),
            "mid_hnsw_iterative": ("mid", search("mid", False)),
            "big_store_default": ("big0", search("big0", None)),
            "big_exact": ("big0", search("big0", True))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--tenant-rows", type=int, default=100)
    parser.add_argument("--big-tenants", type=int, default=4)
    parser.add_argument("--mid-rows", type=int, default=2_500)
    parser.add_argument("--conversation", type=int, default=0)
    print(json.dumps(measure(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
