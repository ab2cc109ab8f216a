"""BEIR layout on a fixture written from LoCoMo at test time (no BEIR data is on the machine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cortex.bench import load_beir, run_beir, write_beir_sample
from cortex.core.errors import ImportFileError

from .conftest import OpenEngine


def test_fixture_layout_and_loader(small_locomo: Path, tmp_path: Path) -> None:
    files = write_beir_sample(small_locomo, tmp_path)
    corpus = [json.loads(line) for line in files.corpus.read_text().splitlines()]
    assert corpus and all(set(d) == {"_id", "title", "text"} for d in corpus)
    assert files.qrels.read_text().splitlines()[0] == "query-id\tcorpus-id\tscore"
    data = load_beir(files.corpus, files.queries, files.qrels, limit_queries=3)
    assert len(data.queries) == 3 and set(data.qrels) == set(data.queries)
    assert all(d.text.startswith(c["title"] + "\n") for d, c in zip(data.documents, corpus,
                                                                  strict=True))


def test_run(open_engine: OpenEngine, tenant: str, small_locomo: Path, tmp_path: Path) -> None:
    files = write_beir_sample(small_locomo, tmp_path)
    data = load_beir(files.corpus, files.queries, files.qrels)
    engine = open_engine()
    result = run_beir(engine, data, tenant=tenant).model_dump(mode="json")
    assert {"ndcg_at_10", "recall_at_10", "recall_at_100", "ingest_per_s", "recall_p50_ms",
            "recall_p95_ms", "documents", "queries", "memories"} <= set(result)
    for key in ("ndcg_at_10", "recall_at_10", "recall_at_100"):
        assert 0.0 <= result[key] <= 1.0
    assert result["recall_at_100"] >= result["recall_at_10"]
    assert result["ndcg_at_10"] > 0 and result["queries"] == len(data.queries)
    # ~50 documents: recall(k=100) returns all of them, so nothing relevant is missed.
    assert result["recall_at_100"] == 1.0
    stored = engine.list(namespace="beir", limit=1000, tenant=tenant)
    assert {m.kind.value for m in stored} == {"document"}
    assert not any(d.id in m.text for m in stored for d in data.documents)


def test_bad_files(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text('{"_id": "1", "title": "", "text": "hello"}\n')
    (tmp_path / "q.jsonl").write_text('{"_id": "q", "text": "hello"}\n')
    (tmp_path / "r.tsv").write_text("query-id\tcorpus-id\tscore\nq\t1\tnot-a-number\n")
    with pytest.raises(ImportFileError):
        load_beir(tmp_path / "c.jsonl", tmp_path / "q.jsonl", tmp_path / "r.tsv")
    (tmp_path / "r.tsv").write_text("query-id\tcorpus-id\tscore\nq\t1\t1\nq\t2\t1\n")
    data = load_beir(tmp_path / "c.jsonl", tmp_path / "q.jsonl", tmp_path / "r.tsv")
    assert data.documents[0].text == "hello" and data.qrels == {"q": {"1": 1, "2": 1}}
    (tmp_path / "c.jsonl").write_text("{broken\n")
    with pytest.raises(ImportFileError, match="not JSON"):
        load_beir(tmp_path / "c.jsonl", tmp_path / "q.jsonl", tmp_path / "r.tsv")
