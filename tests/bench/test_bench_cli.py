"""``cortex bench …`` in process: one JSON object with --json, tables otherwise, a tenant of
its own on a given store, and the temporary store removed whatever happens."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cortex import Cortex
from cortex.bench import longmemeval_sample, write_beir_sample
from cortex.cli import app
from cortex.cli.state import CliState
from cortex.embed import CachingEmbedder

Run = Callable[..., Result]


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where tempfile puts directories during the test, to see that none is left."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def cli(embedder: CachingEmbedder, temp_root: Path) -> Iterator[Run]:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), obj=CliState(embedder=embedder))

    yield run
    assert list(temp_root.iterdir()) == []  # every temporary store was removed


def one_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().count("\n") == 0, result.stdout
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_locomo_json(cli: Run, small_locomo: Path) -> None:
    data = one_json(cli("bench", "locomo", "--data", str(small_locomo), "--json"))
    assert data["benchmark"] == "locomo" and data["store"] == "temporary SQLite file"
    assert 0 <= data["turn_recall_at_5"] <= data["turn_recall_at_10"] <= 1


def test_locomo_tables_with_baselines(cli: Run, small_locomo: Path) -> None:
    result = cli("bench", "locomo", "--data", str(small_locomo), "--baseline")
    assert result.exit_code == 0, result.output
    for word in ("hybrid", "bm25", "dense", "overall", "turn R@5", "hybrid / bm25"):
        assert word in result.stdout


def test_given_store_gets_a_tenant_per_run(cli: Run, small_locomo: Path, tmp_path: Path,
                                           embedder: CachingEmbedder) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with Cortex.open(url, embedder=embedder) as engine:
        engine.remember("someone else's memory", namespace="locomo-0")
    runs = [one_json(cli("bench", "locomo", "--data", str(small_locomo), "--store", url,
                         "--json")) for _ in range(2)]
    tenants = [r["tenant"] for r in runs]
    assert len(set(tenants)) == 2 and all(t.startswith("bench-") for t in tenants)
    assert runs[0]["turn_recall_at_5"] == runs[1]["turn_recall_at_5"]  # runs did not mix
    with Cortex.open(url, embedder=embedder) as engine:
        assert set(engine.store.tenants()) == {"default", *tenants}
        assert engine.stats()["memories"] == 1
        assert engine.stats(tenant=tenants[0])["memories"] == runs[0]["memories"]


def test_global_store_flag_is_used(cli: Run, small_locomo: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'global.db'}"
    data = one_json(cli("--store", url, "bench", "locomo", "--data", str(small_locomo),
                        "--json"))
    assert data["store"] == url


def test_longmemeval_json(cli: Run, locomo_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "lme.json"
    path.write_text(json.dumps(longmemeval_sample(locomo_path, limit=3, distractors=1)))
    data = one_json(cli("bench", "longmemeval", "--data", str(path), "--limit", "2", "--json"))
    assert data["questions"] == 2
    assert 0 <= data["session_recall_at_5"] <= data["session_recall_at_10"] <= 1


def test_beir_json(cli: Run, small_locomo: Path, tmp_path: Path) -> None:
    files = write_beir_sample(small_locomo, tmp_path / "beir")
    data = one_json(cli("bench", "beir", "--corpus", str(files.corpus), "--queries",
                        str(files.queries), "--qrels", str(files.qrels), "--limit-queries", "5",
                        "--json"))
    assert data["queries"] == 5 and 0 <= data["ndcg_at_10"] <= 1


def test_latency_json(cli: Run, locomo_path: Path) -> None:
    data = one_json(cli("bench", "latency", "--n", "2000", "--other-tenants", "1", "--queries",
                        "10", "--sample", "20", "--pool", "100", "--data", str(locomo_path),
                        "--json"))
    assert data["n"] == 2000 and data["ann_recall_at_10"] >= 0.9


def test_latency_table(cli: Run, locomo_path: Path) -> None:
    result = cli("bench", "latency", "--n", "500", "--other-tenants", "0", "--queries", "5",
                 "--sample", "5", "--pool", "20", "--data", str(locomo_path))
    assert result.exit_code == 0, result.output
    assert "recall p50 / p95 / p99 ms" in result.stdout


def test_error_mid_run_is_one_line_and_cleans_up(cli: Run, locomo_path: Path,
                                                  tmp_path: Path) -> None:
    questions = longmemeval_sample(locomo_path, limit=1, distractors=0)
    questions[0]["haystack_dates"] = ["last Tuesday"] * len(questions[0]["haystack_dates"])
    path = tmp_path / "bad-dates.json"
    path.write_text(json.dumps(questions))
    result = cli("bench", "longmemeval", "--data", str(path), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "cortex/import-file"
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_missing_data_file_is_a_usage_error(cli: Run, tmp_path: Path) -> None:
    result = cli("bench", "locomo", "--data", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
