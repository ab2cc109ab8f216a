"""Erasure: after it, no API, search, export, backup or database page yields the text."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from cortex import Cortex
from cortex.audit.verify import verifier_from, verify_receipt
from cortex.core.errors import KeyDestroyed, MemoryNotFound
from cortex.embed import CachingEmbedder
from cortex.store import open_store

SECRET = "Zanzibarquokka"  # one word no other memory has


def _files(db: Path) -> list[Path]:
    """The database, its WAL, keystore, key file and saved index graphs."""
    return [p for p in db.parent.rglob("*") if (p.is_file() and p.name.startswith(db.name))
            or (p.is_file() and p.parent.name.startswith(db.name))]


def _raw_contains(db: Path, needle: str) -> list[str]:
    found = []
    for path in _files(db):
        data = path.read_bytes()
        if needle.encode() in data or needle.lower().encode() in data:
            found.append(path.name)
    return found


def test_erase_subject_leaves_no_trace(tmp_path: Path, embedder: CachingEmbedder) -> None:
    db = tmp_path / "e.db"
    engine = Cortex(open_store(f"sqlite:///{db}", dim=embedder.dim), embedder)
    ann = engine.remember(f"Ann's secret word is {SECRET}", subject="user:ann", source={"session": "s1"})
    engine.update(ann.memory.id, text=f"Ann's secret word is still {SECRET}")
    follow = engine.remember("She told me that yesterday", source={"session": "s1"})
    bob = engine.remember("Bob likes tea", subject="user:bob")
    for i in range(30):
        engine.remember(f"filler memory number {i} about gardening")
    assert engine.recall(SECRET)[0].memory.subject == "user:ann"
    engine.store.warm("default")
    # the full-text index holds the word as a term (not the text): the scan below can see it
    assert _raw_contains(db, SECRET), "the raw scan must find the indexed term before erasure"

    erasure = engine.privacy.erase_subject("user:ann")
    assert erasure.memories == 2 and erasure.keys_destroyed == 1
    assert "user:ann" not in erasure.receipt.event  # the leaf names a hash, not the id

    # no API or search yields it
    with pytest.raises(MemoryNotFound):
        engine.get(ann.memory.id)
    assert all(SECRET not in h.memory.text for h in engine.recall(SECRET, k=50))
    assert engine.recall("secret word", k=50)[0].memory.id != ann.memory.id
    assert engine.privacy.export_subject("user:ann").memories == []
    assert engine.get(bob.memory.id).text == "Bob likes tea"
    assert engine.get(follow.memory.id).text == "She told me that yesterday"  # context re-derived
    assert engine.store.check().ok, engine.store.check().problems

    # the receipt of the erasure leaf is proven against a signed checkpoint, offline
    head = verify_receipt(erasure.receipt, verifier_from(engine.audit.public_key()))
    assert head.size == erasure.receipt.leaf_index + 1
    assert '"action":"subject.erase"' in erasure.receipt.event
    engine.close()

    # no byte of the database, its WAL or the index files holds the text
    assert _raw_contains(db, SECRET) == [], "erased text found in raw files"


def test_a_backup_taken_before_erasure_cannot_decrypt_the_subject(tmp_path: Path,
                                                                  embedder: CachingEmbedder) -> None:
    db = tmp_path / "b.db"
    engine = Cortex(open_store(f"sqlite:///{db}", dim=embedder.dim), embedder)
    ann = engine.remember(f"Ann's card PIN is {SECRET}", subject="user:ann")
    keep = engine.remember("Team lunch is on Friday")
    backup = tmp_path / "backup.db"
    with sqlite3.connect(backup) as target:  # the SQLite online backup API, as `.backup` does
        engine.store.raw().backup(target)
    assert SECRET.encode() not in backup.read_bytes()  # sealed even before erasure
    engine.privacy.erase_subject("user:ann")
    engine.close()

    # restore the backup beside the live keys (master key and keystore)
    restored = tmp_path / "restored.db"
    shutil.copy(backup, restored)
    for suffix in (".master-key", ".keys"):
        shutil.copy(f"{db}{suffix}", f"{restored}{suffix}")
    again = Cortex(open_store(f"sqlite:///{restored}", dim=embedder.dim), embedder)
    with pytest.raises(KeyDestroyed):
        again.get(ann.memory.id)
    assert again.get(keep.memory.id).text == "Team lunch is on Friday"
    again.close()


def test_erasure_is_per_tenant(tmp_path: Path, embedder: CachingEmbedder) -> None:
    engine = Cortex(open_store(f"sqlite:///{tmp_path / 't.db'}", dim=embedder.dim), embedder)
    a = engine.remember("Ann in acme", subject="user:ann", tenant="acme")
    g = engine.remember("Ann in globex", subject="user:ann", tenant="globex")
    assert engine.privacy.erase_subject("user:ann", tenant="acme").memories == 1
    assert engine.get(g.memory.id, tenant="globex").text == "Ann in globex"
    with pytest.raises(MemoryNotFound):
        engine.get(a.memory.id, tenant="acme")
    engine.close()


def test_export_has_every_version(tmp_path: Path, embedder: CachingEmbedder) -> None:
    engine = Cortex(open_store(f"sqlite:///{tmp_path / 'x.db'}", dim=embedder.dim), embedder)
    first = engine.remember("Ann lives in Leeds", subject="user:ann", metadata={"source": "chat"})
    engine.update(first.memory.id, text="Ann lives in York")
    engine.remember("unrelated")
    export = engine.privacy.export_subject("user:ann")
    assert [m.text for m in export.memories] == ["Ann lives in Leeds", "Ann lives in York"]
    assert export.memories[0].metadata == {"source": "chat"}
    engine.close()
