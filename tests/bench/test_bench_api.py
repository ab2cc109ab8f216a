"""The package exports what it says, and the engine helper always removes its temp store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

import cortex.bench
from cortex.bench import bench_engine
from cortex.embed import CachingEmbedder


def test_all_is_sorted_and_importable() -> None:
    names = cortex.bench.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    assert all(getattr(cortex.bench, name) is not None for name in names)


def test_temporary_store_is_removed_even_on_error(tmp_path: Path, embedder: CachingEmbedder,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with bench_engine(embedder=embedder) as target:
        target.engine.remember("a memory", tenant=target.tenant)
        assert list(tmp_path.iterdir())
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError), bench_engine(embedder=embedder):
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_given_store_is_kept_with_a_fresh_tenant(tmp_path: Path,
                                                 embedder: CachingEmbedder) -> None:
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    with bench_engine(url, embedder=embedder) as first, bench_engine(url, embedder=embedder) as second:
        assert first.tenant != second.tenant and first.tenant.startswith("bench-")
        assert first.store == url
    assert (tmp_path / "kept.db").exists()
