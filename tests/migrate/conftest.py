"""One source store built per run (real model), copied into each test's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from cortex.embed import CachingEmbedder

from .helpers import Built, build_source, copy_source


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, embedder: CachingEmbedder) -> Built:
    return build_source(tmp_path_factory.mktemp("migrate-template"), embedder)


@pytest.fixture
def source(template: Built, tmp_path: Path) -> Built:
    """A fresh copy of the template source, with its keys and signing key."""
    return copy_source(template, tmp_path / "source")
