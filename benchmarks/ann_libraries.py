"""Which ANN library for the vector index? hnswlib, usearch and faiss on the same vectors.

    .venv/bin/python benchmarks/ann_libraries.py [--n 100000] [--queries 200] [--json]

usearch and faiss-cpu are not project dependencies: install them by hand to compare
(``.venv/bin/pip install usearch faiss-cpu``); a library that is missing is skipped with
a note. The exact numpy scan is the baseline and the ground truth.

Vectors are realistic, as in ``cortex bench latency`` (uniform noise is a degenerate case
for graph indexes): a pool of real LoCoMo turns is embedded with the project's MiniLM,
and each vector is a normalised mix of two or three pool vectors plus a little gaussian
noise (``cortex.bench.latency.Synth``). Queries are embedded LoCoMo questions. Every
index uses inner product on unit vectors (cosine), HNSW M=16, ef_construction=128,
ef_search=128, k=10, one query per call on one thread; builds use ``--threads``.

Filtered: a random 1% of rows is allowed (like one small namespace), searched with each
library's own in-search filter, against an exact scan of the allowed rows. faiss counts
rejected rows against efSearch, so it is run at ef 128 and again at 3·K/1% = 3000.
usearch's Python API has no filter or predicate argument, so its row post-filters an
oversampled search (the top 3000) instead. "ids" is how many ids a search returned on
average (fewer than k lowers recall). Libraries take turns query by query, so a load
spike hits them all; the box is shared and noisy, so rerun before quoting.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from cortex.bench.common import latency
from cortex.bench.latency import NOISE, POOL_SIZE, Synth
from cortex.bench.locomo_data import load_locomo
from cortex.embed import MiniLMEmbedder
from cortex.embed.base import Vectors
from cortex.store.sqlite.vector_index import single_threaded_blas

LOCOMO = Path("/work/shared/data/locomo/locomo10.json")
K = 10
M, EF_CONSTRUCTION, EF_SEARCH = 16, 128, 128
ALLOWED = 0.01  # fraction of rows the filtered case may return
OVERSAMPLE = 3  # usearch post-filter asks for OVERSAMPLE · K / ALLOWED candidates
WARMUP = 5

Search = Callable[[Vectors], np.ndarray]  # one unit query -> ids, best first


@dataclass
class Data:
    vectors: Vectors
    mask: np.ndarray  # bool per row: allowed in the filtered case
    allowed: np.ndarray  # the allowed row ids, ascending


@dataclass
class Built:
    library: str
    version: str
    build_s: float
    index_mb: float
    search: Search
    filters: dict[str, Search]  # how the filtered case is searched -> search


@dataclass
class Row:
    name: str  # a library, or a library and one way of filtering
    latency: dict[str, float]  # p50_ms, p95_ms, p99_ms, mean_ms
    recall_at_10: float
    returned: float  # ids returned per query, on average (K when the index fills k)
    version: str = ""
    build_s: float | None = None
    index_mb: float | None = None  # serialized size (the vectors themselves for numpy)


def top_k(scores: np.ndarray, k: int = K) -> np.ndarray:
    if len(scores) <= k:
        return np.argsort(-scores)
    idx = np.argpartition(-scores, k)[:k]
    return idx[np.argsort(-scores[idx])]


def build_exact(data: Data, threads: int) -> Built:
    vectors, subset = data.vectors, data.vectors[data.allowed]
    return Built("numpy exact", np.__version__, 0.0, vectors.nbytes / 1e6,
                 lambda q: top_k(vectors @ q),
                 {"scan of the allowed rows": lambda q: data.allowed[top_k(subset @ q)]})


def build_hnswlib(data: Data, threads: int) -> Built | str:
    try:
        import hnswlib
    except ImportError:
        return "hnswlib: skipped, not installed"
    n, dim = data.vectors.shape
    start = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=n, ef_construction=EF_CONSTRUCTION, M=M, random_seed=0)
    index.add_items(data.vectors, np.arange(n), num_threads=threads)
    build_s = time.perf_counter() - start
    index.set_ef(EF_SEARCH)
    with tempfile.TemporaryDirectory() as tmp:
        index.save_index(str(Path(tmp, "graph.bin")))
        size = Path(tmp, "graph.bin").stat().st_size
    allowed = data.mask.tolist()  # list indexing is the cheapest Python callback

    def filtered(q: Vectors) -> np.ndarray:
        try:
            return index.knn_query(q, k=K, num_threads=1, filter=allowed.__getitem__)[0][0]
        except RuntimeError:  # fewer than K allowed rows reached
            return np.empty(0, dtype=np.int64)

    return Built("hnswlib", version("hnswlib"), build_s, size / 1e6,
                 lambda q: index.knn_query(q, k=K, num_threads=1)[0][0],
                 {f"knn_query(filter=callable), ef {EF_SEARCH}": filtered})


def build_faiss(data: Data, threads: int) -> Built | str:
    try:
        import faiss
    except ImportError:
        return "faiss: skipped, not installed (pip install faiss-cpu)"
    dim = data.vectors.shape[1]
    faiss.omp_set_num_threads(threads)
    start = time.perf_counter()
    index = faiss.IndexHNSWFlat(dim, M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.add(data.vectors)
    build_s = time.perf_counter() - start
    faiss.omp_set_num_threads(1)
    index.hnsw.efSearch = EF_SEARCH
    size = faiss.serialize_index(index).nbytes
    bits = np.packbits(data.mask, bitorder="little")  # bit i of the bitmap is row i
    selector = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))
    wide = math.ceil(OVERSAMPLE * K / ALLOWED)  # faiss's ef counts rejected rows too
    params = {ef: faiss.SearchParametersHNSW(sel=selector, efSearch=ef) for ef in (EF_SEARCH, wide)}

    def search(q: Vectors, ef: int | None = None) -> np.ndarray:
        ids = index.search(q[None], K, params=params[ef] if ef else None)[1][0]
        _ = (bits, selector)  # the selector points into bits: keep both alive
        return ids[ids >= 0]  # -1 pads a result with fewer than K ids

    return Built("faiss HNSWFlat", version("faiss-cpu"), build_s, size / 1e6, search,
                 {f"IDSelectorBitmap, efSearch {ef}": lambda q, ef=ef: search(q, ef) for ef in params})


def build_usearch(data: Data, threads: int) -> Built | str:
    try:
        from usearch.index import Index
    except ImportError:
        return "usearch: skipped, not installed (pip install usearch)"
    n, dim = data.vectors.shape
    start = time.perf_counter()
    index = Index(ndim=dim, metric="ip", dtype="f32", connectivity=M,
                  expansion_add=EF_CONSTRUCTION, expansion_search=EF_SEARCH)
    index.add(np.arange(n, dtype=np.uint64), data.vectors, threads=threads)
    build_s = time.perf_counter() - start
    count = min(n, math.ceil(OVERSAMPLE * K / ALLOWED))
    mask = data.mask

    def filtered(q: Vectors) -> np.ndarray:
        keys = index.search(q, count, threads=1).keys.astype(np.int64)
        return keys[mask[keys]][:K]

    return Built("usearch", version("usearch"), build_s, index.serialized_length / 1e6,
                 lambda q: index.search(q, K, threads=1).keys.astype(np.int64),
                 {f"no native filter: post-filter of the top {count}": filtered})


def measure(searches: dict[str, Search], queries: Vectors, truth: np.ndarray) -> list[Row]:
    """Latency and recall@K of each search; the searches take turns on each query."""
    times: dict[str, list[float]] = {name: [] for name in searches}
    found: dict[str, list[np.ndarray]] = {name: [] for name in searches}
    with single_threaded_blas():  # the numpy scan too: one query, one thread
        for q in queries[:WARMUP]:
            for search in searches.values():
                search(q)
        for q in queries:
            for name, search in searches.items():
                start = time.perf_counter()
                ids = search(q)
                times[name].append(time.perf_counter() - start)
                found[name].append(ids)
    rows = []
    for name in searches:
        hits = [len(set(ids[:K].tolist()) & set(want.tolist())) / len(want)
                for ids, want in zip(found[name], truth, strict=True)]
        rows.append(Row(name, latency(times[name]).model_dump(exclude={"n"}),
                        round(float(np.mean(hits)), 4),
                        round(float(np.mean([len(ids) for ids in found[name]])), 2)))
    return rows


def make_data(path: Path, n: int, queries: int, threads: int, seed: int) -> tuple[Data, Vectors]:
    conversations = load_locomo(path)
    turns = [t.text for c in conversations for t in c.turns]
    questions = list(dict.fromkeys(q.text for c in conversations for q in c.questions))
    shuffle = random.Random(seed)
    shuffle.shuffle(turns)
    shuffle.shuffle(questions)
    embedder = MiniLMEmbedder(threads=threads)
    pool = embedder.embed_batch(turns[:POOL_SIZE])
    vectors = np.ascontiguousarray(Synth([], [], pool, seed=seed).vectors(n), dtype=np.float32)
    query_vectors = embedder.embed_batch(questions[:queries])
    rng = np.random.default_rng(seed + 1)
    allowed = np.sort(rng.choice(n, size=max(K, round(n * ALLOWED)), replace=False))
    mask = np.zeros(n, dtype=bool)
    mask[allowed] = True
    return Data(vectors, mask, allowed), query_vectors


def run(args: argparse.Namespace) -> dict[str, Any]:
    data, queries = make_data(args.data, args.n, args.queries, args.threads, args.seed)
    scores = queries @ data.vectors.T
    truth = np.stack([top_k(s) for s in scores])
    filtered_truth = np.stack([data.allowed[top_k(s[data.allowed])] for s in scores])
    built, notes = [], []
    for build in (build_exact, build_hnswlib, build_usearch, build_faiss):
        made = build(data, args.threads)
        if isinstance(made, str):
            notes.append(made)
        else:
            built.append(made)
    rows = measure({b.library: b.search for b in built}, queries, truth)
    for row, b in zip(rows, built, strict=True):
        row.version, row.build_s, row.index_mb = b.version, round(b.build_s, 3), round(b.index_mb, 2)
    filters = {f"{b.library}: {how}": search for b in built for how, search in b.filters.items()}
    return {"n": args.n, "dim": int(data.vectors.shape[1]), "queries": len(queries), "k": K,
            "hnsw": {"M": M, "ef_construction": EF_CONSTRUCTION, "ef_search": EF_SEARCH},
            "build_threads": args.threads, "pool": POOL_SIZE, "noise": NOISE,
            "allowed_rows": len(data.allowed),
            "rows": [asdict(r) for r in rows],
            "filtered": [asdict(r) for r in measure(filters, queries, filtered_truth)],
            "notes": notes}


def print_table(result: dict[str, Any]) -> None:
    print(f"n={result['n']} x {result['dim']}-d (mixes of {result['pool']} embedded LoCoMo turns, "
          f"noise {result['noise']}), {result['queries']} LoCoMo questions, k={result['k']}, "
          f"HNSW {result['hnsw']}, build threads={result['build_threads']}")
    heads = " ".join(f"{h:>7}" for h in ("p50 ms", "p95 ms", "p99 ms", "rec@10", "ids"))
    print(f"\n{'library':16} {'version':8} {'build s':>8} {'idx MB':>8} {heads}")
    for r in result["rows"]:
        print(f"{r['name']:16} {r['version']:8} {r['build_s']:8.2f} {r['index_mb']:8.2f} " + cells(r))
    print(f"\nfiltered: {result['allowed_rows']} random rows allowed "
          f"({result['allowed_rows'] / result['n']:.1%}), in-search filter where the library has one")
    print(f"{'library: how':68} {heads}")
    for r in result["filtered"]:
        print(f"{r['name']:68} " + cells(r))
    for note in result["notes"]:
        print(note)


def cells(row: dict[str, Any]) -> str:
    t = row["latency"]
    times = " ".join(f"{t[p]:7.3f}" for p in ("p50_ms", "p95_ms", "p99_ms"))
    return f"{times} {row['recall_at_10']:7.3f} {row['returned']:7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="vectors in each index")
    parser.add_argument("--queries", type=int, default=200, help="LoCoMo questions asked")
    parser.add_argument("--threads", type=int, default=1, help="threads for embedding and builds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=LOCOMO, help="locomo10.json")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
