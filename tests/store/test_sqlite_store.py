"""SQLite backend: atomic writes, tenant scoping, change-log catch-up, integrity checks."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from cortex.core.errors import InvalidInput, MigrationError, StoreCorrupt, StoreUnavailable
from cortex.core.models import MemoryFilter, utcnow
from cortex.store.sqlite import index_files
from cortex.store.sqlite.store import SQLiteStore

from .helpers import DIM, new_memory, unit_vectors


@pytest.fixture
def store(tmp_path: Path):
    s = SQLiteStore(tmp_path / "s.db", dim=DIM)
    yield s
    s.close()


def count(store: SQLiteStore, table: str) -> int:
    return store.raw().execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_insert_writes_row_vector_and_fts_together(store: SQLiteStore) -> None:
    items = [new_memory(f"apple number {i}") for i in range(3)]
    store.insert("t", items, unit_vectors(3), "model")
    assert (count(store, "memories"), count(store, "vectors"), count(store, "memories_fts")) == (3, 3, 3)


def test_bad_vectors_write_nothing(store: SQLiteStore) -> None:
    with pytest.raises(InvalidInput):
        store.insert("t", [new_memory("a"), new_memory("b")], unit_vectors(1), "model")
    bad = unit_vectors(2)
    bad[1, 0] = np.nan
    with pytest.raises(InvalidInput):
        store.insert("t", [new_memory("a"), new_memory("b")], bad, "model")
    assert count(store, "memories") == 0


def test_failure_mid_transaction_rolls_back_everything(store: SQLiteStore) -> None:
    first = new_memory("first")
    store.insert("t", [first], unit_vectors(1), "model")
    again = [new_memory("second"), first]  # same ULID twice: UNIQUE fails on the 2nd row
    with pytest.raises(Exception):  # noqa: B017 - the driver's IntegrityError, typed at the edge
        store.insert("t", again, unit_vectors(2), "model")
    assert count(store, "memories") == 1 and count(store, "memories_fts") == 1
    assert count(store, "vectors") == 1


def test_tenants_never_see_each_other(store: SQLiteStore) -> None:
    mine, theirs = new_memory("shared words here"), new_memory("shared words here")
    store.insert("a", [mine], unit_vectors(1, 1), "m")
    store.insert("b", [theirs], unit_vectors(1, 1), "m")
    now = utcnow()
    assert store.get("a", theirs.id) is None
    assert [i for i, _ in store.text_search("a", "shared", 10, MemoryFilter(), now)] == [mine.id]
    assert [i for i, _ in store.vector_search("a", unit_vectors(1, 1)[0], 10, MemoryFilter(),
                                              now)] == [mine.id]
    assert [m.id for m in store.list("a", MemoryFilter(), now, 10)] == [mine.id]
    assert store.delete("a", [theirs.id]) == 0
    assert store.get("b", theirs.id) is not None
    assert store.get_many("a", [mine.id, theirs.id]).keys() == {mine.id}


def test_second_process_sees_writes_through_the_change_log(tmp_path: Path) -> None:
    """Two store objects on one file stand in for two processes (separate connections)."""
    path = tmp_path / "shared.db"
    reader, writer = SQLiteStore(path, dim=DIM), SQLiteStore(path, dim=DIM)
    vectors = unit_vectors(3, 5)
    writer.insert("t", [new_memory("one")], vectors[:1], "m")
    assert len(reader.vector_search("t", vectors[0], 5, MemoryFilter(), utcnow())) == 1
    later = new_memory("two")
    writer.insert("t", [later], vectors[1:2], "m")
    writer.delete("t", [reader.vector_search("t", vectors[0], 1, MemoryFilter(), utcnow())[0][0]])
    ids = [i for i, _ in reader.vector_search("t", vectors[0], 5, MemoryFilter(), utcnow())]
    assert ids == [later.id]
    reader.close()
    writer.close()


def test_hard_delete_removes_text_everywhere(store: SQLiteStore) -> None:
    item = new_memory("secret pineapple recipe")
    store.insert("t", [item], unit_vectors(1), "m")
    assert store.delete("t", [item.id]) == 1
    conn = store.raw()
    assert conn.execute("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'pineapple'"
                        ).fetchone()[0] == 0
    assert (count(store, "memories"), count(store, "vectors"), count(store, "memory_tags")) == (0, 0, 0)


def test_expire_deletes_only_what_is_due(store: SQLiteStore) -> None:
    now = utcnow()
    due = new_memory("old", expires_at=now - timedelta(seconds=1))
    keep = new_memory("new", expires_at=now + timedelta(hours=1))
    store.insert("t", [due, keep], unit_vectors(2), "m")
    now = utcnow()
    assert [i for i, _ in store.vector_search("t", unit_vectors(2)[0], 5, MemoryFilter(), now)
            ] == [keep.id]
    assert store.expire(now) == 1
    assert store.get("t", due.id) is None and store.get("t", keep.id) is not None


def test_check_detects_tampering_and_reindex_repairs(store: SQLiteStore) -> None:
    store.insert("t", [new_memory(f"row {i}") for i in range(5)], unit_vectors(5), "m")
    assert store.check().ok
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE memories SET text = 'tampered' WHERE seq = 1")
    conn.execute("DELETE FROM fts_source WHERE seq = 2")  # the index no longer holds row 2
    conn.commit()
    conn.close()
    report = store.check()
    assert not report.ok
    assert any("content hash" in p for p in report.problems)
    assert any("full-text index" in p for p in report.problems)
    store.reindex()
    report = store.check()
    assert any("content hash" in p for p in report.problems)  # reindex can't invent the text
    assert not any("full-text" in p for p in report.problems)


def test_check_detects_a_tampered_sealed_text(store: SQLiteStore) -> None:
    store.insert("t", [new_memory(f"row {i}") for i in range(3)], unit_vectors(3), "m")
    conn = sqlite3.connect(store.path)
    sealed = bytearray(conn.execute("SELECT text FROM memories WHERE seq = 2").fetchone()[0])
    sealed[-1] ^= 1  # one flipped bit in the tag
    conn.execute("UPDATE memories SET text = ? WHERE seq = 2", (bytes(sealed),))
    conn.commit()
    conn.close()
    report = store.check()
    assert [p for p in report.problems if "fails authentication" in p]


def test_corrupt_saved_graph_is_detected_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    store = SQLiteStore(path, dim=DIM, hnsw_min_rows=50)
    store.insert("t", [new_memory(f"row {i}") for i in range(60)], unit_vectors(60), "m")
    store.vector_search("t", unit_vectors(1)[0], 5, MemoryFilter(), utcnow())  # builds + saves
    store.close()
    graph = index_files.graph_path(path, "t")
    raw = bytearray(graph.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    graph.write_bytes(bytes(raw))
    store = SQLiteStore(path, dim=DIM, hnsw_min_rows=50)
    report = store.check()
    assert not report.ok and any("checksum" in p for p in report.problems)
    # recall still works (the corrupt file is never loaded) and reindex makes check pass
    assert len(store.vector_search("t", unit_vectors(1)[0], 5, MemoryFilter(), utcnow())) == 5
    store.reindex()
    assert store.check().ok
    store.close()


def test_stale_saved_graph_catches_up(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    store = SQLiteStore(path, dim=DIM, hnsw_min_rows=50)
    store.insert("t", [new_memory(f"row {i}") for i in range(60)], unit_vectors(60), "m")
    store.vector_search("t", unit_vectors(1)[0], 5, MemoryFilter(), utcnow())
    store.close()
    other = SQLiteStore(path, dim=DIM, hnsw_min_rows=10_000)  # writes without touching the graph
    extra = new_memory("late arrival")
    late_vector = unit_vectors(1, 99)
    other.insert("t", [extra], late_vector, "m")
    other.close()
    store = SQLiteStore(path, dim=DIM, hnsw_min_rows=50)
    assert any("stale" in n for n in store.check().notes)
    hits = store.vector_search("t", late_vector[0], 1, MemoryFilter(), utcnow())
    assert hits[0][0] == extra.id
    store.close()


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("this is not a database " * 100)
    with pytest.raises(StoreCorrupt, match="not a database file"):
        SQLiteStore(bogus, dim=DIM)


def test_locked_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store = SQLiteStore(path, dim=DIM, busy_timeout_ms=200)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            store.insert("t", [new_memory("blocked")], unit_vectors(1), "m")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert count(store, "memories") == 0
    store.insert("t", [new_memory("after the lock")], unit_vectors(1), "m")
    store.close()


def test_edited_migration_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    SQLiteStore(path, dim=DIM).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_migrations SET sha256 = 'edited' WHERE version = 1")
    conn.commit()
    conn.close()
    with pytest.raises(MigrationError, match="edited after it was applied"):
        SQLiteStore(path, dim=DIM)
