"""Benchmark fixtures: LoCoMo from shared/ (sliced at test time), real SQLite, real model.

Nothing derived from LoCoMo is committed: every slice, LongMemEval-format sample and
BEIR-layout fixture is written under tmp_path from the real file when the tests run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cortex import Cortex, Limits
from cortex.bench import locomo_slice, new_tenant
from cortex.embed import CachingEmbedder
from cortex.store.sqlite.store import SQLiteStore
from tests.conftest import LOCOMO

OpenEngine = Callable[..., Cortex]


@pytest.fixture(scope="session")
def locomo_path() -> Path:
    if not LOCOMO.is_file():
        reason = f"LoCoMo is expected at {LOCOMO} (shared/ beside the repository)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    return LOCOMO


@pytest.fixture(scope="session")
def small_locomo(locomo_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Conversation 0, sessions 1-3 (about 50 turns) with the questions they answer."""
    return locomo_slice(locomo_path, tmp_path_factory.mktemp("locomo") / "small.json",
                        conversations=1, sessions=3)


@pytest.fixture
def open_engine(tmp_path: Path, embedder: CachingEmbedder) -> Iterator[OpenEngine]:
    """``open_engine(batch_size=..., hnsw_min_rows=...)``: an engine on a fresh file."""
    opened: list[Cortex] = []

    def make(*, batch_size: int = 64, hnsw_min_rows: int | None = None) -> Cortex:
        path = tmp_path / f"bench{len(opened)}.db"
        store = (SQLiteStore(path, dim=embedder.dim) if hnsw_min_rows is None
                 else SQLiteStore(path, dim=embedder.dim, hnsw_min_rows=hnsw_min_rows))
        engine = Cortex(store, embedder, limits=Limits(batch_size=batch_size))
        opened.append(engine)
        return engine

    yield make
    for engine in opened:
        engine.close()


@pytest.fixture
def tenant() -> str:
    return new_tenant("test")
