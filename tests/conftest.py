"""Shared fixtures: real SQLite files under tmp_path and the real embedding model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cortex import Cortex
from cortex.embed import CachingEmbedder, MiniLMEmbedder
from cortex.store import open_store

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Real data nobody here wrote lives in shared/ beside the repository (never committed).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LOCOMO = SHARED_DATA / "locomo" / "locomo10.json"


def skip_or_fail(reason: str) -> None:
    """A missing service skips loudly on a laptop and fails under CI."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(f"SKIPPED (not available here): {reason}")


@pytest.fixture(scope="session")
def embedder() -> CachingEmbedder:
    """One real all-MiniLM-L6-v2 for the whole run (loading it costs ~1 s)."""
    return CachingEmbedder(MiniLMEmbedder())


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'memories.db'}"


@pytest.fixture
def mem(db_url: str, embedder: CachingEmbedder) -> Iterator[Cortex]:
    engine = Cortex(open_store(db_url, dim=embedder.dim), embedder)
    yield engine
    engine.close()
