"""The privacy shield on PostgreSQL (issue 6): sealed text, metadata and vault values, the
blind index, subjects and their erasure, through the engine as the SQLite tests do it, plus
what only a shared database has (copies of the database, nodes with the wrong keystore,
rows written before migration 0006, dead tuples)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cortex import Cortex
from cortex.audit.verify import verifier_from, verify_receipt
from cortex.core.config import Settings
from cortex.core.errors import ConfigError, KeyDestroyed, MemoryNotFound
from cortex.core.models import MemoryFilter, content_hash, utcnow
from cortex.embed import CachingEmbedder
from cortex.privacy.sealing import Sealer
from cortex.store.postgres.keys import default_key_paths
from cortex.store.postgres.migrate import PACKAGE, migrate
from cortex.store.postgres.store import PostgresStore
from cortex.store.sqlite.migrate import load_migrations
from tests import pg
from tests.privacy.conftest import Govern
from tests.privacy.conftest import govern as govern

from .helpers import DIM, new_memory, unit_vectors

pg_server = pg.pg_server
pg_url = pg.pg_url
pg_keys = pg.pg_keys
SECRET = "Zanzibarquokka"  # one word no other memory has
PHONE = "+44 20 7946 0958"


@pytest.fixture
def engine(pg_url: str, pg_keys: pg.Keys, embedder: CachingEmbedder, tmp_path: Path) -> Iterator[Cortex]:
    mem = Cortex.open(pg_url, embedder=embedder, sealer=pg_keys.sealer(), audit_key=tmp_path / "audit.key")
    yield mem
    mem.close()


def raw(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows as the owner sees them (a superuser here: no row-level security), unopened."""
    with psycopg.connect(url) as conn:
        return conn.execute(sql.encode(), params).fetchall()


def leaves(engine: Cortex, tenant: str = "default") -> list[dict[str, Any]]:
    size = engine.store.audit_size(tenant)
    return [json.loads(leaf.event) for leaf in engine.store.audit_leaves(tenant, 0, size)]


def test_text_metadata_and_vault_values_are_sealed_at_rest(
        engine: Cortex, pg_url: str, pg_keys: pg.Keys, govern: Callable[[Cortex], Govern]) -> None:
    govern(engine)(privacy={"phone": "tokenize"}, vault_readers=["admin"])
    made = engine.remember(f"{SECRET} said to call on {PHONE}", subject="user:ann",
                           metadata={"hint": "ann-lee-private", "user": {"id": 7}})
    memory = made.memory
    assert memory.text == f"{SECRET} said to call on [PHONE_1]"
    [(text, metadata, subject)] = raw(pg_url, "SELECT text, metadata, subject FROM memories")
    [(vault,)] = raw(pg_url, "SELECT sealed FROM vault")
    for blob in (text, metadata, vault):
        assert blob[:1] == b"\x01"  # Sealer's version byte: sealed, never plaintext
        for clear in (SECRET, "ann-lee-private", "7946 0958", "hint"):
            assert clear.encode() not in blob
    assert subject == "user:ann"
    # the SQLite backend's bytes: same fields, same metadata JSON, one sealer opens both
    sealer = pg_keys.sealer()
    assert sealer.open_text("default", memory.id, "text", text) == memory.text
    opened = sealer.open("default", memory.id, "metadata", metadata)
    assert opened == b'{"hint":"ann-lee-private","user":{"id":7}}'
    assert sealer.open_text("default", memory.id, "vault:[PHONE_1]", vault) == PHONE
    assert sealer.key("default", "user:ann").key_id == bytes(text[1:17])  # the subject's key
    tokens = {bytes(r[0]) for r in raw(pg_url, "SELECT token FROM memory_meta")}
    assert tokens == set(sealer.metadata_tokens("default", memory.metadata))
    sealer.keystore.close()
    assert engine.get(memory.id).metadata == {"hint": "ann-lee-private", "user": {"id": 7}}


def test_metadata_filters_use_the_blind_index(engine: Cortex) -> None:
    a = engine.remember("alpha", metadata={"user": {"id": 7}, "flag": True, "name": "a"}).memory
    b = engine.remember("bravo", metadata={"user": {"id": 8}, "note": None, "flag": 0}).memory
    c = engine.remember("charlie", metadata={"flag": 1.0, "name": "c", "tags": ["x"]}).memory

    def listed(**metadata: Any) -> set[str]:
        return {m.id for m in engine.list(metadata=metadata)}

    assert listed(**{"user.id": 7}) == {a.id}
    assert listed(flag=True) == {a.id, c.id}  # true == 1 == 1.0, as in SQLite
    assert listed(flag=1) == {a.id, c.id} and listed(flag=False) == {b.id}
    assert listed(note=None) == {a.id, b.id, c.id}  # null matches a missing key too
    assert listed(name=None) == {b.id}
    assert listed(name="c") == {c.id} and listed(**{"user.id": "7"}) == set()  # "7" is not 7
    assert listed(flag=True, name="a") == {a.id}
    hits = engine.recall("alpha bravo charlie", metadata={"user.id": 8})
    assert [h.memory.id for h in hits] == [b.id]


def test_erase_subject_removes_everything_and_destroys_the_key(
        engine: Cortex, pg_url: str, pg_keys: pg.Keys, govern: Callable[[Cortex], Govern]) -> None:
    govern(engine)(privacy={"phone": "tokenize"}, vault_readers=["admin"])
    ann = engine.remember(f"Ann's secret word is {SECRET}", subject="user:ann", source={"session": "s1"},
                          tags=["secret"], metadata={"k": "v"})
    second = engine.update(ann.memory.id, text=f"Ann's secret word is still {SECRET}, call {PHONE}")
    follow = engine.remember("She told me that yesterday", source={"session": "s1"})
    bob = engine.remember("Bob likes tea", subject="user:bob")
    for i in range(10):
        engine.remember(f"filler memory number {i} about gardening")
    assert engine.recall(SECRET)[0].memory.subject == "user:ann"
    store = engine.store
    assert [m.id for m in store.list("default", MemoryFilter(subject="user:ann", include_superseded=True),
                                     utcnow(), 10)] == [second.id, ann.memory.id]
    assert store.text_search("default", SECRET, 10, MemoryFilter(), utcnow())  # follow's context too

    erasure = engine.privacy.erase_subject("user:ann")
    assert (erasure.memories, erasure.vault_entries, erasure.keys_destroyed) == (2, 1, 1)
    assert "user:ann" not in erasure.receipt.event  # the leaf names a hash, not the id
    head = verify_receipt(erasure.receipt, verifier_from(engine.audit.public_key()))
    assert head.size == erasure.receipt.leaf_index + 1
    actions = [leaf["action"] for leaf in leaves(engine)]
    assert actions[-3:] == ["memory.erase", "memory.erase", "subject.erase"]

    gone = [ann.memory.id, second.id]
    for table, sql in {"memories": "SELECT count(*) FROM memories WHERE subject = 'user:ann'",
                       "vault": "SELECT count(*) FROM vault",
                       "vectors": "SELECT count(*) FROM vectors v LEFT JOIN memories m ON m.seq = v.seq"
                                  " WHERE m.seq IS NULL",
                       "memory_meta": "SELECT count(*) FROM memory_meta",  # only ann had metadata
                       "memory_tags": "SELECT count(*) FROM memory_tags WHERE tag = 'secret'"}.items():
        assert raw(pg_url, sql) == [(0,)], table
    with pytest.raises(MemoryNotFound):
        engine.get(ann.memory.id)
    assert engine.privacy.export_subject("user:ann").memories == []
    assert store.vault_entries("default", gone) == {}
    assert store.text_search("default", SECRET, 10, MemoryFilter(), utcnow()) == []  # context re-derived
    assert all(SECRET not in h.memory.text for h in engine.recall(SECRET, k=50))
    assert engine.get(follow.memory.id).text == "She told me that yesterday"
    assert engine.get(bob.memory.id).text == "Bob likes tea"
    keys = pg_keys.sealer().keystore
    assert not keys.has_subject_key("default", "user:ann") and keys.has_subject_key("default", "user:bob")
    keys.close()
    assert store.check().ok, store.check().problems
    # a new memory about the subject gets a new key
    again = engine.remember("Ann is back", subject="user:ann")
    assert engine.get(again.memory.id).text == "Ann is back"


def test_a_copy_of_the_database_taken_before_erasure_cannot_decrypt_the_subject(
        pg_server: pg.PgServer, pg_url: str, pg_keys: pg.Keys, embedder: CachingEmbedder,
        tmp_path: Path) -> None:
    def open_engine(url: str) -> Cortex:
        return Cortex.open(url, embedder=embedder, sealer=pg_keys.sealer(), audit_key=tmp_path / "a.key")

    engine = open_engine(pg_url)
    ann = engine.remember(f"Ann's card PIN is {SECRET}", subject="user:ann")
    keep = engine.remember("Team lunch is on Friday")
    engine.close()
    source = pg_url.rsplit("/", 1)[1]
    copy = pg_server.create_database(template=source)  # a backup, as a database (no pg_dump here)
    try:
        engine = open_engine(pg_url)
        engine.privacy.erase_subject("user:ann")
        engine.close()
        restored = open_engine(pg_server.url(copy))  # the backup beside the live keystore
        assert restored.get(keep.memory.id).text == "Team lunch is on Friday"
        with pytest.raises(KeyDestroyed):
            restored.get(ann.memory.id)
        with pytest.raises(KeyDestroyed):
            restored.privacy.export_subject("user:ann")
        problems = restored.store.check().problems
        assert any(ann.memory.id in p and "destroyed" in p for p in problems)
        restored.close()
    finally:
        pg_server.drop_database(copy)


def test_tokenized_values_round_trip_through_the_vault(
        engine: Cortex, pg_url: str, govern: Callable[[Cortex], Govern]) -> None:
    govern(engine)(privacy={"phone": "tokenize", "credit_card": "redact"}, vault_readers=["admin"])
    made = engine.remember(f"Call Ann on {PHONE}, card 4111 1111 1111 1111", subject="user:ann").memory
    assert made.text == "Call Ann on [PHONE_1], card [CREDIT_CARD_1]"
    entries = engine.privacy.reveal(made.id, role="admin")
    assert [(e.placeholder, e.entity, e.value) for e in entries] == [("[PHONE_1]", "phone", PHONE)]
    newer = engine.update(made.id, text="Call Ann on +44 20 7946 0999 instead")
    assert newer.text == "Call Ann on [PHONE_1] instead"
    assert [e.value for e in engine.privacy.reveal(newer.id, role="admin")] == ["+44 20 7946 0999"]
    export = engine.privacy.export_subject("user:ann")
    assert [m.id for m in export.memories] == [made.id, newer.id]
    assert {k: [e.value for e in v] for k, v in export.vault.items()} == {
        made.id: [PHONE], newer.id: ["+44 20 7946 0999"]}
    assert {"privacy.tokenize", "privacy.redact", "privacy.reveal"} <= {x["action"] for x in leaves(engine)}
    assert engine.forget(newer.id) == 2
    assert raw(pg_url, "SELECT count(*) FROM vault") == [(0,)]  # vault items go with their versions


def test_tenants_share_no_subjects_and_no_vault(engine: Cortex, pg_keys: pg.Keys,
                                                govern: Callable[[Cortex], Govern]) -> None:
    govern(engine)(privacy={"phone": "tokenize"}, vault_readers=["admin"])
    acme = engine.remember(f"Ann in acme, {PHONE}", subject="user:ann", tenant="acme").memory
    globex = engine.remember(f"Ann in globex, {PHONE}", subject="user:ann", tenant="globex").memory
    store = engine.store
    assert store.vault_entries("globex", [acme.id]) == {}
    assert [m.id for m in store.subject_memories("globex", "user:ann")] == [globex.id]
    assert store.list("acme", MemoryFilter(subject="user:ann"), utcnow(), 10)[0].id == acme.id
    assert engine.privacy.erase_subject("user:ann", tenant="acme").memories == 1
    assert engine.get(globex.id, tenant="globex").text == "Ann in globex, [PHONE_1]"
    assert [e.value for e in store.vault_entries("globex", [globex.id])[globex.id]] == [PHONE]
    with pytest.raises(MemoryNotFound):
        engine.get(acme.id, tenant="acme")
    keys = pg_keys.sealer().keystore
    assert keys.has_subject_key("globex", "user:ann") and not keys.has_subject_key("acme", "user:ann")
    keys.close()


def test_check_reports_tampered_and_moved_sealed_values(engine: Cortex, pg_url: str) -> None:
    one = engine.remember("first memory", metadata={"a": 1}).memory
    two = engine.remember("second memory").memory
    assert engine.store.check().ok
    with psycopg.connect(pg_url) as conn:  # the owner copies one row's sealed text onto another
        conn.execute("UPDATE memories SET text = (SELECT text FROM memories WHERE id = %s) WHERE id = %s",
                     (one.id, two.id))
        conn.execute("UPDATE memories SET metadata = set_byte(metadata, 30, get_byte(metadata, 30) # 1)"
                     " WHERE id = %s", (one.id,))
    problems = engine.store.check().problems
    assert any(two.id in p and "text fails authentication" in p for p in problems)
    assert any(one.id in p and "metadata fails authentication" in p for p in problems)


def test_rows_written_before_migration_6_are_sealed_by_it(pg_server: pg.PgServer, pg_keys: pg.Keys) -> None:
    name = pg_server.create_database(template="template0")
    url = pg_server.url(name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn, DIM, load_migrations(PACKAGE)[:5])
            conn.execute(  # a row as the store wrote it before 0006: text and jsonb in the clear
                "INSERT INTO memories (id, tenant, namespace, kind, text, metadata, tags, source, importance,"
                " created_at, valid_from, content_hash, bytes, search) VALUES ('01JLEGACY0000000000000000A',"
                " 't', 'ns', 'fact', %s, '{\"user\": {\"id\": 7}}', '[]', '{}', 0.5, 1, 1, %s, 10,"
                " to_tsvector('english', %s))", (f"legacy {SECRET}", content_hash(f"legacy {SECRET}"),
                                                  f"legacy {SECRET}"))
            conn.execute("INSERT INTO vectors (seq, tenant, model, dim, embedding)"
                         " SELECT seq, tenant, 'm', 8, '[1,0,0,0,0,0,0,0]' FROM memories")
        store = PostgresStore(url, dim=DIM, sealer=pg_keys.sealer())
        [(text, metadata)] = raw(url, "SELECT text, metadata FROM memories")
        assert SECRET.encode() not in text and b"user" not in metadata and text[:1] == b"\x01"
        got = store.get("t", "01JLEGACY0000000000000000A")
        assert got is not None and got.text == f"legacy {SECRET}" and got.metadata == {"user": {"id": 7}}
        assert [m.id for m in store.list("t", MemoryFilter(metadata={"user.id": 7}), utcnow(), 5)] == [got.id]
        store.reindex()  # the hand-made search vector above is not quite the store's
        assert store.check().ok, store.check().problems
        store.close()
    finally:
        pg_server.drop_database(name)


def test_a_node_with_another_keystore_is_refused(pg_url: str, pg_keys: pg.Keys, tmp_path: Path) -> None:
    first = PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer())
    item = new_memory("written by the first node")
    first.insert("t", [item], unit_vectors(1), "m")
    other = PostgresStore(pg_url, dim=DIM, sealer=pg.Keys(tmp_path / "elsewhere", pg_keys.master).sealer())
    with pytest.raises(ConfigError, match="same keystore"):
        other.insert("t", [new_memory("would be unreadable to the first node")], unit_vectors(1), "m")
    with pytest.raises(ConfigError, match="same keystore"):
        other.get("t", item.id)
    other.insert("u", [new_memory("a tenant of its own is fine")], unit_vectors(1), "m")
    for store in (first, other):
        store.close()


def test_default_keys_live_in_a_per_user_folder_not_in_the_database(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    master, keystore = default_key_paths(pg_url)
    assert keystore.parent == tmp_path / ".cortex" and master.parent == keystore.parent
    # named by host, port and database: not by the login, password or options
    assert default_key_paths("postgresql://a:b@db.internal:5432/mem?sslmode=require") == \
        default_key_paths("postgresql://other@db.internal/mem")
    assert default_key_paths("postgresql://db.internal/mem") != default_key_paths("postgresql://db.internal/x")
    store = PostgresStore(pg_url, dim=DIM)
    assert not keystore.exists()  # nothing sealed yet: no key files made
    store.insert("t", [new_memory("sealed with the default keys")], unit_vectors(1), "m")
    assert keystore.exists() and master.exists()
    store.close()
    from cortex.wiring import key_paths, open_sealer

    assert key_paths(Settings(store_url=pg_url)) == (master, keystore)
    chosen = Settings(store_url=pg_url, keystore=str(tmp_path / "shared.keys"),
                      master_key_file=str(tmp_path / "shared.master-key"))
    assert key_paths(chosen) == (tmp_path / "shared.master-key", tmp_path / "shared.keys")
    sealer: Sealer = open_sealer(chosen)
    assert sealer.keystore.path == tmp_path / "shared.keys"
    sealer.keystore.close()


def _holding(url: str, needle: bytes) -> set[str]:
    """Relations whose files (every fork and segment) hold ``needle``, after a checkpoint
    wrote every page out. The test process may read the server's data directory."""
    found = set()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        [(data,)] = conn.execute("SELECT current_setting('data_directory')").fetchall()
        for relation in ("memories", "memories_search", "vectors", "vault", "memory_meta"):
            [(path,)] = conn.execute("SELECT pg_relation_filepath(%s)", (relation,)).fetchall()
            if any(needle in file.read_bytes() for file in Path(data).glob(f"{path}*")):
                found.add(relation)
    return found


def test_dead_tuples_keep_search_terms_until_vacuum_full(engine: Cortex, pg_url: str) -> None:
    """What docs/security.md says about PostgreSQL after an erasure, measured on the files."""
    for i in range(20):
        engine.remember(f"filler memory number {i} about gardening")
    engine.remember(f"Ann's secret word is {SECRET}", subject="user:ann")  # the newest tuple on its page
    term = SECRET.lower().encode()  # the search vector's lexeme; the text itself is sealed
    assert _holding(pg_url, SECRET.encode()) == set()
    assert _holding(pg_url, term) == {"memories", "memories_search"}
    engine.privacy.erase_subject("user:ann")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("VACUUM memories")
    after_vacuum = _holding(pg_url, term)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("VACUUM FULL memories")
    assert _holding(pg_url, term) == set()
    # measured on PostgreSQL 18: plain VACUUM frees the dead tuple but does not zero it, and
    # the GIN index keeps the word as a key until it is rebuilt
    assert "memories_search" in after_vacuum


def test_a_write_about_a_subject_waits_for_its_erasure_and_gets_a_fresh_key(
        pg_url: str, pg_keys: pg.Keys) -> None:
    """The erasure holds the subject's lock until its key is destroyed: a concurrent write
    about the subject never seals under the doomed key, nor commits a row it missed."""
    import threading
    import time

    store = PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer())
    doomed = store.sealer.key("t", "user:ann").key_id
    item = new_memory("Ann, written during her erasure").model_copy(update={"subject": "user:ann"})
    with psycopg.connect(pg_url) as eraser:  # stands in for erase_subject, mid-transaction
        eraser.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (0x7375626A, "t\x1fuser:ann"))
        writer = threading.Thread(target=store.insert, args=("t", [item], unit_vectors(1), "m"))
        writer.start()
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        for _ in range(500):  # until the write waits on the lock
            if raw(pg_url, waiting) == [(1,)]:
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the write did not wait for the erasure's lock")
        keys = pg_keys.sealer().keystore
        keys.destroy("t", "user:ann")
        keys.close()
    writer.join(timeout=30)
    [(text,)] = raw(pg_url, "SELECT text FROM memories")
    assert bytes(text[1:17]) != doomed
    assert store.get("t", item.id).text == "Ann, written during her erasure"  # type: ignore[union-attr]
    store.close()
