"""LongMemEval format: the LoCoMo-built sample is valid, loads, and scores sanely."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cortex.bench import (
    format_lme_date,
    load_longmemeval,
    longmemeval_sample,
    parse_lme_date,
    run_longmemeval,
)
from cortex.core.errors import ImportFileError

from .conftest import OpenEngine

DATE = re.compile(r"^\d{4}/\d{2}/\d{2} \((Mon|Tue|Wed|Thu|Fri|Sat|Sun)\) \d{2}:\d{2}$")


def test_dates_round_trip() -> None:
    at = parse_lme_date("2023/05/08 (Mon) 13:56")
    assert (at.year, at.month, at.day, at.hour, at.minute) == (2023, 5, 8, 13, 56)
    assert format_lme_date(at) == "2023/05/08 (Mon) 13:56"
    assert parse_lme_date("2023/05/08").hour == 0
    with pytest.raises(ImportFileError):
        parse_lme_date("8 May 2023")


@pytest.fixture
def sample_file(locomo_path: Path, tmp_path: Path) -> Path:
    path = tmp_path / "lme.json"
    path.write_text(json.dumps(longmemeval_sample(locomo_path, limit=5, distractors=2)))
    return path


def test_sample_is_in_longmemeval_layout(sample_file: Path) -> None:
    data = json.loads(sample_file.read_text())
    assert len(data) == 5
    for q in data:
        assert {"question_id", "question", "question_type", "question_date", "answer",
                "haystack_sessions", "haystack_session_ids", "haystack_dates",
                "answer_session_ids"} <= set(q)
        assert len(q["haystack_sessions"]) == len(q["haystack_session_ids"]) \
            == len(q["haystack_dates"])
        assert set(q["answer_session_ids"]) <= set(q["haystack_session_ids"])
        assert len(q["haystack_session_ids"]) == len(q["answer_session_ids"]) + 2
        assert all(DATE.match(d) for d in [*q["haystack_dates"], q["question_date"]])
        assert q["haystack_dates"] == sorted(q["haystack_dates"])
        for session in q["haystack_sessions"]:
            assert session and all(set(t) == {"role", "content"} for t in session)
            assert {t["role"] for t in session} <= {"user", "assistant"}


def test_run_on_the_sample(open_engine: OpenEngine, tenant: str, sample_file: Path) -> None:
    questions = load_longmemeval(sample_file)
    engine = open_engine()
    data = run_longmemeval(engine, questions, tenant=tenant).model_dump(mode="json")
    assert {"session_recall_at_5", "session_recall_at_10", "session_any_at_5",
            "session_any_at_10", "ingest_per_s", "recall_p50_ms", "recall_p95_ms",
            "questions", "memories", "by_type"} <= set(data)
    assert data["questions"] == 5
    for key in ("session_recall_at_5", "session_recall_at_10", "session_any_at_5",
                "session_any_at_10"):
        assert 0.0 <= data[key] <= 1.0
    assert data["session_recall_at_10"] >= data["session_recall_at_5"]
    assert data["session_any_at_10"] >= data["session_any_at_5"] >= data["session_recall_at_5"]
    assert data["session_any_at_10"] > 0  # real text: some answer session is found
    # Session ids stay in the benchmark: none is in what the engine stored.
    ids = {s for q in questions for s in q.haystack_session_ids}
    for index in range(len(questions)):
        for memory in engine.list(namespace=f"lme-{index}", limit=1000, tenant=tenant):
            visible = json.dumps([memory.text, memory.metadata, memory.source.model_dump()])
            assert not any(s in visible for s in ids)


def test_bad_files(tmp_path: Path, sample_file: Path) -> None:
    data = json.loads(sample_file.read_text())
    data[0]["haystack_dates"] = data[0]["haystack_dates"][:-1]
    (tmp_path / "uneven.json").write_text(json.dumps(data))
    with pytest.raises(ImportFileError, match="different lengths"):
        load_longmemeval(tmp_path / "uneven.json")
    (tmp_path / "shape.json").write_text(json.dumps([{"question": "x"}]))
    with pytest.raises(ImportFileError, match="layout"):
        load_longmemeval(tmp_path / "shape.json")
    assert len(load_longmemeval(sample_file, limit=2)) == 2
