"""PostgreSQL text search sees the words SQLite's FTS5 sees (``cortex.store.postgres.lexical``):
accents fold, the parts of e-mail addresses, file names, hosts and URLs are words, a query
of stopwords only finds them; migration 0007 derives the search vectors of existing rows
again. The backend congruence cases are in tests/contract/test_queries.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cortex.core.errors import ConfigError
from cortex.core.models import MemoryFilter, NewMemory, Source, utcnow
from cortex.store.postgres.lexical import query_words, words
from cortex.store.postgres.store import PostgresStore
from tests import pg

from .helpers import DIM, new_memory, unit_vectors

pg_server = pg.pg_server
pg_url = pg.pg_url
pg_keys = pg.pg_keys

TEXTS = [
    "The café on Rue Cler serves crêpes",  # 0
    "We met at the cafe near the station",  # 1
    "Cre\u0300me bru\u0302le\u0301e for dessert, NAÏVE",  # 2: accents as combining marks
    "Write to ann.lee@example.com today",  # 3
    "Path is C:\\Users\\ann\\notes.txt",  # 4
    "Docs at https://docs.example.org/guide/setup-v2.html",  # 5
    "AND OR NOT are words too",  # 6
    "to be or not to be",  # 7
    "snake_case and kebab-case names",  # 8
]


class Tokens:
    """SQLite's FTS5 tokenizer of the memories table, without the stemmer: its tokens of a text."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 2')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")

    def __call__(self, text: str) -> str:
        self.conn.execute("DELETE FROM t")
        self.conn.execute("INSERT INTO t (rowid, x) VALUES (1, ?)", (text,))
        found = self.conn.execute("SELECT term, offset FROM v").fetchall()
        return " ".join(term for term, _ in sorted(found, key=lambda f: f[1]))


@pytest.fixture(scope="module")
def fts5() -> Iterator[Tokens]:
    conn = sqlite3.connect(":memory:")
    yield Tokens(conn)
    conn.close()


# Latin letters (but two FTS5 leaves unfolded: ǡ, Ǡ), accents as combining marks, separators
# of every kind, other scripts and emoji
ALPHABET = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x24F, exclude_characters="\u01e0\u01e1"),
    st.characters(min_codepoint=0x1E00, max_codepoint=0x1EFF),
    st.sampled_from(list("\u0300\u0301\u0308\u0327\u030a\u0305 _-.@/\\'\"東京の天気は晴れです🎉€—«»ßÆøØŁ")))


@settings(max_examples=500)
@given(text=st.text(ALPHABET, max_size=40))
def test_words_are_the_fts5_tokenizer_s_tokens(fts5: Tokens, text: str) -> None:
    assert words(text) == fts5(text)


@pytest.mark.parametrize("text", TEXTS)
def test_the_sample_texts_split_as_in_fts5(fts5: Tokens, text: str) -> None:
    assert words(text) == fts5(text)


def test_query_words_are_distinct_phrases_of_the_query_s_terms() -> None:
    assert query_words("café Cafe snake_case __ e\u0301 the") == ["cafe", "snake case", "e"]
    assert query_words("The AND the") == ["the", "and"]  # stopwords only: kept


def alone(text: str) -> NewMemory:
    """A memory in no session: its search vector holds no other turn."""
    return new_memory(text).model_copy(update={"source": Source()})


@pytest.fixture
def store(pg_url: str, pg_keys: pg.Keys) -> Iterator[PostgresStore]:
    s = PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer())
    yield s
    s.close()


@pytest.fixture
def seeded(store: PostgresStore) -> list[str]:
    items = [alone(t) for t in TEXTS]
    store.insert("t", items, unit_vectors(len(items)), "m")
    return [m.id for m in items]


def found(store: PostgresStore, query: str, ids: list[str], tenant: str = "t") -> set[int]:
    """Which of the texts the query finds, by index in ``ids``."""
    return {ids.index(i) for i, _ in store.text_search(tenant, query, 20, MemoryFilter(), utcnow())}


@pytest.mark.parametrize(("query", "expected"), [
    ("cafe", {0, 1}), ("café", {0, 1}), ("CAFÉ", {0, 1}), ("crepes", {0}), ("crêpe", {0}),
    ("creme brulee", {2}), ("crème brûlée", {2}), ("cre\u0300me", {2}), ("naive", {2}),
])
def test_accents_fold(store: PostgresStore, seeded: list[str], query: str, expected: set[int]) -> None:
    assert found(store, query, seeded) == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("lee", {3}), ("example", {3, 5}), ("ann.lee@example.com", {3, 4, 5}), ("com", {3}),
    ("notes", {4}), ("notes.txt", {4}), ("txt", {4}), ("users", {4}),
    ("setup", {5}), ("docs.example.org", {3, 5}), ("guide", {5}), ("v2", {5}),
    ("snake", {8}), ("snake_case", {8}), ("kebab", {8}),
])
def test_words_inside_addresses_and_names_are_words(store: PostgresStore, seeded: list[str], query: str,
                                                     expected: set[int]) -> None:
    assert found(store, query, seeded) == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("and", {6, 8}), ("AND OR NOT", {6, 7, 8}), ("to be or not to be", {3, 6, 7}),
    ("the", {0, 1}), ("at", {1, 5}),
])
def test_a_query_of_stopwords_only_searches_them(store: PostgresStore, seeded: list[str], query: str,
                                                 expected: set[int]) -> None:
    assert found(store, query, seeded) == expected


def test_stopwords_beside_other_words_are_dropped_from_the_query(store: PostgresStore,
                                                                  seeded: list[str]) -> None:
    now = utcnow()
    assert store.text_search("t", "the cafe", 20, MemoryFilter(), now) == \
        store.text_search("t", "cafe", 20, MemoryFilter(), now)


def as_before_migration_7(url: str, texts: dict[str, str]) -> None:
    """The database as a store before migration 0007 left it: search vectors of the
    ``english`` configuration over the raw text, no ``cortex_english``."""
    with psycopg.connect(url) as conn:
        for memory_id, text in texts.items():
            conn.execute("UPDATE memories SET search = setweight(to_tsvector('english', %s), 'A')"
                         " WHERE id = %s", (text, memory_id))
        conn.execute("DELETE FROM schema_migrations WHERE version = 7")
        conn.execute("DROP TEXT SEARCH CONFIGURATION cortex_english")
        conn.execute("DROP TEXT SEARCH DICTIONARY cortex_english_stem")


def test_migration_7_derives_existing_search_vectors_again(pg_url: str, pg_keys: pg.Keys) -> None:
    items = [alone(t) for t in TEXTS]
    first = PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer())
    first.insert("t", items[:5], unit_vectors(5), "m")
    first.insert("u", items[5:], unit_vectors(len(items) - 5), "m")
    first.close()
    as_before_migration_7(pg_url, {m.id: m.text for m in items})
    store = PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer())
    try:
        assert found(store, "cafe", [m.id for m in items]) == {0, 1}
        assert found(store, "AND", [m.id for m in items], "u") == {6, 8}
        report = store.check()
        assert report.ok, report.problems  # every vector as an insert makes it
    finally:
        store.close()


def test_migration_7_refuses_a_keystore_without_the_tenant_s_key(
        pg_url: str, pg_keys: pg.Keys, tmp_path_factory: pytest.TempPathFactory) -> None:
    first = PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer())
    first.insert("t", [alone(TEXTS[0])], unit_vectors(1), "m")
    first.close()
    as_before_migration_7(pg_url, {})
    other = pg.Keys(tmp_path_factory.mktemp("other-keys"), b"\x07" * 32)
    with pytest.raises(ConfigError, match="migration 7"):
        PostgresStore(pg_url, dim=DIM, sealer=other.sealer())
    with psycopg.connect(pg_url) as conn:  # rolled back: not applied, no configuration left
        assert conn.execute("SELECT count(*) FROM schema_migrations WHERE version = 7").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pg_ts_config WHERE cfgname = 'cortex_english'"
                            ).fetchone() == (0,)
