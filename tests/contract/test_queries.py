"""Query and document text of every kind searches the same on both backends.

Lexical-only recall, so the words alone decide what is found: quotes and operators of
either query language, accents, other scripts, emoji, and words inside e-mail addresses
and file names. The engine's contract is FTS5's ``unicode61 remove_diacritics 2``
tokenizer: a word is a run of letters and digits (``cortex.store.sqlite.fts.query_terms``
splits queries the same way), accents fold ("cafe" finds "café"), and a query of
stopwords only still searches those words. Stemming is not compared here: porter
(SQLite) and snowball (PostgreSQL) stem a few words differently (see test_ranking).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cortex.core.models import FusionWeights
from tests.contract.twins import Pair, both

LEXICAL_ONLY = FusionWeights(dense=0.0, bm25=1.0, recency=0.0, importance=0.0)
TEXTS = [
    "Conan O'Brien hosted the show",  # m0
    "The café on Rue Cler serves crêpes",  # m1
    "We met at the cafe near the station",  # m2
    "東京の天気は晴れです",  # m3
    "C++ and C# are languages; so is Go",  # m4
    "AND OR NOT are words too",  # m5
    "Path is C:\\Users\\ann\\notes.txt",  # m6
    "Party time 🎉 with friends",  # m7
    "prefix* matching near(one two)",  # m8
    "Write to ann.lee@example.com today",  # m9
]
QUERIES = {
    "O'Brien": ["m0"],
    "obrien": [],
    "東京の天気は晴れです": ["m3"],
    "C++": ["m4", "m6"],  # "c" is also the drive letter of m6
    "C:\\Users": ["m4", "m6"],
    "🎉 party": ["m7"],
    "prefix*": ["m8"],
    "near(station": ["m2", "m8"],
    '"unbalanced': [],
    "-- ; DROP TABLE memories": [],
    # accents fold, as FTS5's remove_diacritics does
    "café": ["m1", "m2"],
    "cafe": ["m1", "m2"],
    "crepes": ["m1"],
    # a query of stopwords only searches them (query_terms keeps them when nothing else is left)
    "AND OR NOT": ["m4", "m5"],
    # words inside file names and e-mail addresses are words
    "notes.txt": ["m6"],
    "notes": ["m6"],
    "example": ["m9"],
    "lee": ["m9"],
}


@pytest.fixture(scope="module")
def seeded(module_pair: Pair) -> Iterator[Pair]:
    module_pair.each(lambda mem, _: mem.set_fusion_weights(LEXICAL_ONLY))
    module_pair.write(lambda mem, _: mem.remember_many([{"text": t} for t in TEXTS]))
    yield module_pair


@pytest.mark.parametrize("query", list(QUERIES))
def test_queries_match_alike(seeded: Pair, query: str) -> None:
    hits = seeded.each(lambda mem, _: mem.recall(query, k=20))
    assert seeded.found(hits, ordered=False) == both(QUERIES[query])
