"""BEIR-layout retrieval: nDCG@10 and recall@10/100 over one namespace of documents.

Layout: ``corpus.jsonl`` lines ``{"_id", "title", "text"}``, ``queries.jsonl`` lines
``{"_id", "text"}``, ``qrels.tsv`` with the header ``query-id corpus-id score``. A
document's memory text is ``title + "\\n" + text`` (kind ``document``); its ``_id`` stays
in the benchmark's private map memory id → document ids.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortex.bench.common import SILENT, Phases, RunFigures, Stopwatch, latency, mean, rate, warm_up
from cortex.bench.metrics import ndcg_at_k, recall_at_k
from cortex.core.errors import ImportFileError
from cortex.core.models import Kind
from cortex.engine import Cortex

NAMESPACE = "beir"
CHUNK = 2_048
DEPTH = 100


@dataclass(frozen=True)
class Document:
    id: str  # private
    text: str


@dataclass(frozen=True)
class BeirData:
    documents: list[Document]
    queries: dict[str, str]  # query id -> text; only queries with a relevant document
    qrels: dict[str, dict[str, int]]  # query id -> document id -> grade


class BeirResult(RunFigures):
    benchmark: str = "beir"
    documents: int
    memories: int
    queries: int
    ndcg_at_10: float
    recall_at_10: float
    recall_at_100: float
    candidates: int  # per-signal candidate depth used (at least 100, for recall@100)
    truncated_documents: int


def _jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ImportFileError(f"{path}:{number}: not JSON ({exc})",
                                              path=str(path)) from exc
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}", path=str(path)) from exc


def load_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle, delimiter="\t")
            for number, row in enumerate(rows, start=1):
                if not row or (number == 1 and row[0] == "query-id"):
                    continue
                if len(row) < 3:
                    raise ImportFileError(f"{path}:{number}: expected query-id, corpus-id, score",
                                          path=str(path))
                qrels.setdefault(row[0], {})[row[1]] = int(float(row[2]))
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}", path=str(path)) from exc
    except ValueError as exc:
        raise ImportFileError(f"{path}: a score is not a number ({exc})", path=str(path)) from exc
    return qrels


def document_text(raw: dict[str, Any]) -> str:
    title = str(raw.get("title") or "").strip()
    body = str(raw.get("text") or "").strip()
    return f"{title}\n{body}" if title and body else title or body


def load_beir(corpus: str | Path, queries: str | Path, qrels: str | Path, *,
              limit_queries: int | None = None) -> BeirData:
    try:
        documents = [Document(id=str(d["_id"]), text=document_text(d)) for d in _jsonl(corpus)]
        query_text = {str(q["_id"]): str(q["text"]) for q in _jsonl(queries)}
    except KeyError as exc:
        raise ImportFileError(f"a BEIR line lacks the field {exc}", path=str(corpus)) from exc
    documents = [d for d in documents if d.text]
    known = {d.id for d in documents}
    grades = load_qrels(qrels)
    asked = [q for q in query_text
             if any(g > 0 and doc in known for doc, g in grades.get(q, {}).items())]
    asked = asked[:limit_queries] if limit_queries is not None else asked
    return BeirData(documents=documents, queries={q: query_text[q] for q in asked},
                    qrels={q: grades[q] for q in asked})


def _clip(text: str, max_bytes: int) -> str:
    raw = text.encode("utf-8")
    return text if len(raw) <= max_bytes else raw[:max_bytes].decode("utf-8", "ignore")


def ingest(engine: Cortex, documents: list[Document], tenant: str,
           phases: Phases = SILENT) -> tuple[dict[str, list[str]], float, int]:
    """Store the corpus; the private map memory id → document ids, seconds, truncations."""
    owners: dict[str, list[str]] = {}
    clock = Stopwatch()
    limit = engine.limits.max_text_bytes
    truncated = sum(1 for d in documents if len(d.text.encode("utf-8")) > limit)
    with phases.phase("ingest corpus", len(documents)) as advance:
        for start in range(0, len(documents), CHUNK):
            chunk = documents[start:start + CHUNK]
            items = [{"text": _clip(d.text, limit), "namespace": NAMESPACE,
                      "kind": Kind.DOCUMENT} for d in chunk]
            with clock.running():
                results = engine.remember_many(items, tenant=tenant)
            for doc, result in zip(chunk, results, strict=True):
                owners.setdefault(result.memory.id, []).append(doc.id)
            advance(start + len(chunk), len(documents))
    return owners, clock.seconds, truncated


def run_beir(engine: Cortex, data: BeirData, *, tenant: str, store: str = "",
             phases: Phases = SILENT) -> BeirResult:
    warm_up(engine)
    owners, ingest_s, truncated = ingest(engine, data.documents, tenant, phases)
    weights = engine.fusion_weights(tenant=tenant)
    if weights.candidates < DEPTH:  # recall@100 needs 100 candidates from each signal
        engine.set_fusion_weights(weights.model_copy(update={"candidates": DEPTH}),
                                  tenant=tenant)
    ndcg: list[float] = []
    r10: list[float] = []
    r100: list[float] = []
    timings: list[float] = []
    with phases.phase("recall", len(data.queries)) as advance:
        for done, (qid, text) in enumerate(data.queries.items(), start=1):
            start = time.perf_counter()
            hits = engine.recall(text, namespace=NAMESPACE, k=DEPTH, tenant=tenant)
            timings.append(time.perf_counter() - start)
            ranked = [doc for h in hits for doc in owners.get(h.memory.id, [])]
            grades = data.qrels[qid]
            ndcg.append(ndcg_at_k(ranked, grades, 10))
            r10.append(recall_at_k(ranked, grades, 10))
            r100.append(recall_at_k(ranked, grades, 100))
            advance(done, len(data.queries))
    speed = latency(timings)
    engine.set_fusion_weights(weights, tenant=tenant)
    return BeirResult(
        documents=len(data.documents), memories=len(owners), queries=len(data.queries),
        ndcg_at_10=mean(ndcg), recall_at_10=mean(r10), recall_at_100=mean(r100),
        candidates=max(weights.candidates, DEPTH), truncated_documents=truncated,
        ingest_per_s=rate(len(data.documents), ingest_s),
        ingest_s=round(ingest_s, 3), recall_p50_ms=speed.p50_ms, recall_p95_ms=speed.p95_ms,
        recall_p99_ms=speed.p99_ms, embedder=engine.embedder.name, store=store, tenant=tenant)
