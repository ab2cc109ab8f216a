"""The contract suite runs every case on every store backend, in one test, results compared.

``pair``: a fresh SQLite file and a fresh PostgreSQL database for one test.
``module_pair``: one such pair shared by a module's tests (a corpus seeded once).
PostgreSQL comes from ``tests.pg`` (embedded, with pgvector): without it the tests skip
loudly, and fail under CI=true. The embedding model is the real one (``embedder``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cortex.embed import CachingEmbedder
from tests.contract.twins import Pair, open_pair
from tests.pg import PgServer, pg_server, pg_url

__all__ = ["module_pair", "pair", "pg_server", "pg_url"]


@pytest.fixture
def pair(pg_url: str, tmp_path, embedder: CachingEmbedder) -> Iterator[Pair]:
    with open_pair(tmp_path / "pair", pg_url, embedder) as engines:
        yield engines


@pytest.fixture(scope="module")
def module_pair(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory,
                embedder: CachingEmbedder) -> Iterator[Pair]:
    database = pg_server.create_database()
    try:
        with open_pair(tmp_path_factory.mktemp("pair"), pg_server.url(database), embedder) as engines:
            yield engines
    finally:
        pg_server.drop_database(database)
