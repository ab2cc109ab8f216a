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
    assert lexical.informative_words(conn, words, scopes, freq) == words  # small scope: exact
    kept = lexical.informative_words(conn, words, scopes, freq, prune_min_docs=100, budget=50)
    assert kept == ["aquarium", "lisbon"]
    # the same search through the store: the needle is first either way
    hits = store.text_search("t", "do we really like the aquarium in Lisbon?", 5,
                             MemoryFilter(namespaces=("ns",)), utcnow())
    assert hits[0][0] == needle.id
    store.close()


def test_pruning_never_drops_every_word(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db", dim=DIM)
    store.insert("t", [new_memory(f"common words {i}") for i in range(50)], unit_vectors(50), "m")
    kept = lexical.informative_words(store.raw(), ["common", "words"], [scope_token("t", "ns")],
                                     lexical.DocFrequencies(), prune_min_docs=10, budget=1)
    assert kept == ["common"] or kept == ["words"]
    store.close()
