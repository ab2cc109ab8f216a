"""stats, namespaces, check, reindex, sweep, session ..., demo, and --json on each."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Run
from .helpers import payload


@pytest.fixture
def filled(at: Run) -> Run:
    for text, space in (("alpha note", "a"), ("beta note", "b"), ("gamma note", "b")):
        assert at("remember", text, "-n", space).exit_code == 0
    return at


def test_stats_and_namespaces(filled: Run) -> None:
    stats = payload(filled("stats", "--json"))
    assert stats["memories"] == 3 and stats["tenant"] == "default" and stats["bytes"] > 0
    assert {s["namespace"]: s["memories"] for s in stats["namespaces"]} == {"a": 1, "b": 2}
    spaces = payload(filled("namespaces", "--json"))["namespaces"]
    assert [s["namespace"] for s in spaces] == ["a", "b"]
    human = filled("stats")
    assert "memories: 3" in human.stdout and "namespace" in human.stdout


def test_tenants_are_separate(cli: Run, store_url: str) -> None:
    assert cli("--store", store_url, "--tenant", "acme", "remember", "secret").exit_code == 0
    other = payload(cli("--store", store_url, "--tenant", "globex", "stats", "--json"))
    assert other["memories"] == 0 and other["tenant"] == "globex"
    mine = payload(cli("--store", store_url, "--tenant", "acme", "stats", "--json"))
    assert mine["memories"] == 1


def test_check_passes_on_a_fresh_database(at: Run) -> None:
    report = payload(at("check", "--json"))
    assert report["ok"] is True and report["problems"] == []
    human = at("check")
    assert human.exit_code == 0 and human.stdout.startswith("ok")


def test_check_after_writes_and_reindex(filled: Run) -> None:
    assert payload(filled("reindex", "--json")) == {"reindexed": True}
    assert filled("reindex").exit_code == 0
    assert payload(filled("check", "--json"))["ok"] is True
    hits = payload(filled("recall", "beta", "--json"))["hits"]
    assert hits[0]["memory"]["text"] == "beta note"


def test_sweep_removes_expired(at: Run, count: Callable[[], int]) -> None:
    assert at("remember", "already expired", "--expires-at", "2000-01-01").exit_code == 0
    assert at("remember", "still here", "--ttl", "1d").exit_code == 0
    assert payload(at("sweep", "--json")) == {"expired": 1, "retention": 0}
    assert "expired 0 memories" in at("sweep").stdout
    assert count() == 1


def test_session_commands_persist_between_invocations(at: Run) -> None:
    appended = payload(at("session", "append", "chat-1", "I moved to Lisbon", "--speaker",
                          "Ann", "--role", "user", "--json"))
    assert appended["session"] == "chat-1" and appended["speaker"] == "Ann"
    shown = payload(at("session", "show", "chat-1", "--json"))
    assert [m["text"] for m in shown["messages"]] == ["I moved to Lisbon"]
    assert "I moved to Lisbon" in at("session", "show", "chat-1").stdout
    assert payload(at("session", "clear", "chat-1", "--json")) == {"session": "chat-1",
                                                                   "cleared": 1}
    assert "no messages" in at("session", "show", "chat-1").stdout
    assert "store's file" in at("session", "append", "--help").stdout
    bad = at("session", "append", "chat-1", " ")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: ")


def test_demo_in_a_given_store(cli: Run, store_url: str) -> None:
    result = cli("demo", "--store", store_url, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ingested"] == 41 and len(data["recalls"]) == 4
    first = data["recalls"][0]
    assert "Pepper" in first["hits"][0]["memory"]["text"]
    stats = payload(cli("--store", store_url, "stats", "--json"))
    assert stats["namespaces"] == [{"namespace": "demo", "memories": 41, "bytes": stats["bytes"]}]


def test_demo_default_store_is_temporary(cli: Run, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = set(Path(tempfile.gettempdir()).glob("cortex-demo-*"))
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert "Ingested 41 turns" in result.stdout and "Pepper" in result.stdout
    assert set(Path(tempfile.gettempdir()).glob("cortex-demo-*")) == before
    assert list(tmp_path.iterdir()) == []  # not the default ./cortex.db either
