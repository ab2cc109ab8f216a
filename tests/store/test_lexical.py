"""BM25 candidates: exact for small scopes, rarest words first for large ones."""

from __future__ import annotations

from pathlib import Path

from cortex.core.models import MemoryFilter, utcnow
from cortex.store.sqlite import lexical
from cortex.store.sqlite.rows import scope_token
from cortex.store.sqlite.store import SQLiteStore

from .helpers import DIM, new_memory, unit_vectors


def test_tokens_match_the_index_tokenizer(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db", dim=DIM)
    tokens = lexical.tokens_of(store.raw(), ["running", "Caroline", "cafés"])
    assert tokens == {"running": "run", "Caroline": "carolin", "cafés": "cafe"}
    store.close()


def test_large_scope_keeps_the_rare_words(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db", dim=DIM)
    filler = [new_memory(f"we really like going out {i}") for i in range(300)]
    needle = new_memory("we really like the aquarium in Lisbon")
    store.insert("t", [*filler, needle], unit_vectors(301), "m")
    conn = store.raw()
    freq = lexical.DocFrequencies()
    scopes = [scope_token("t", "ns")]
    words = ["really", "like", "aquarium", "lisbon"]
    assert lexical.plan(conn, words, scopes, freq).words == words  # small scope: exact
    kept = lexical.plan(conn, words, scopes, freq, prune_min_docs=100, budget=50)
    assert kept.words == ["aquarium", "lisbon"] and kept.scope_rows == 301
    # the same search through the store: the needle is first either way
    hits = store.text_search("t", "do we really like the aquarium in Lisbon?", 5,
                             MemoryFilter(namespaces=("ns",)), utcnow())
    assert hits[0][0] == needle.id
    store.close()


def test_pruning_never_drops_every_word(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db", dim=DIM)
    store.insert("t", [new_memory(f"common words {i}") for i in range(50)], unit_vectors(50), "m")
    kept = lexical.plan(store.raw(), ["common", "words"], [scope_token("t", "ns")],
                        lexical.DocFrequencies(), prune_min_docs=10, budget=1).words
    assert kept == ["common"] or kept == ["words"]
    store.close()


def test_dominant_scope_is_filtered_by_the_join(tmp_path: Path) -> None:
    """When one tenant is most of the table the MATCH drops its scope token; the tenant
    and namespace filters on the join must still keep everyone else out."""
    store = SQLiteStore(tmp_path / "t.db", dim=DIM)
    store.insert("big", [new_memory(f"shared topic words {i}") for i in range(30)],
                 unit_vectors(30), "m")
    store.insert("big", [new_memory("shared topic elsewhere", namespace="other")],
                 unit_vectors(1, 3), "m")
    store.insert("small", [new_memory("shared topic words small")], unit_vectors(1, 2), "m")
    conn, freq = store.raw(), lexical.DocFrequencies()
    big = lexical.plan(conn, ["shared"], [scope_token("big", "ns")], freq).scope_rows
    small = lexical.plan(conn, ["shared"], [scope_token("small", "ns")], freq).scope_rows
    assert (big, small) == (30, 1)
    assert not lexical.scope_is_selective(conn, big, freq)
    assert lexical.scope_is_selective(conn, small, freq)
    hits = store.text_search("big", "shared topic", 100, MemoryFilter(namespaces=("ns",)), utcnow())
    found = [store.get("big", i) for i, _ in hits]
    assert len(hits) == 30
    assert all(m is not None and m.namespace == "ns" for m in found)
    store.close()


def test_bounded_work_scores_only_the_newest_rows(tmp_path: Path, monkeypatch) -> None:
    """When even the rarest word matches more than MAX_SCORED rows, BM25 looks at the
    newest rows only (dense search still covers everything)."""
    store = SQLiteStore(tmp_path / "t.db", dim=DIM)
    items = [new_memory(f"ubiquitous word number {i}") for i in range(400)]
    store.insert("t", items, unit_vectors(400), "m")
    monkeypatch.setattr(lexical, "PRUNE_MIN_DOCS", 100)
    monkeypatch.setattr(lexical, "MAX_SCORED", 40)
    hits = store.text_search("t", "ubiquitous", 400, MemoryFilter(), utcnow())
    newest = {m.id for m in items[-60:]}
    assert 20 <= len(hits) <= 60 and {i for i, _ in hits} <= newest
    monkeypatch.setattr(lexical, "MAX_SCORED", 10_000)
    lexical_all = store.text_search("t", "ubiquitous", 400, MemoryFilter(), utcnow())
    assert len(lexical_all) == 400
    store.close()
