"""PostgreSQL backend against a real server: the SQLite store's cases, plus what only a
shared database has (several store objects at once, the serving role, migrations)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import psycopg
import pytest

from cortex.audit import events as audit_events
from cortex.audit.records import StoredCheckpoint
from cortex.core.errors import Conflict, InvalidInput, InvalidQuery, MemoryNotFound, MigrationError
from cortex.core.models import ApiKey, FusionWeights, Kind, MemoryFilter, Source, utcnow
from cortex.store.postgres.store import PostgresStore
from tests import pg

from .helpers import DIM, new_memory, unit_vectors

pg_server = pg.pg_server
pg_url = pg.pg_url
pg_keys = pg.pg_keys


@pytest.fixture
def store(pg_url: str, pg_keys: pg.Keys) -> Iterator[PostgresStore]:
    s = PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer())
    yield s
    s.close()


def count(url: str, table: str) -> int:
    """Rows of a table seen by the owner (a superuser here: row-level security does not apply)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()
    assert row is not None
    return int(row[0])


def ids(hits: list[tuple[str, float]]) -> list[str]:
    return [i for i, _ in hits]


def test_insert_writes_row_vector_and_search_vector_together(store: PostgresStore, pg_url: str) -> None:
    items = [new_memory(f"apple number {i}", tags=["fruit"]) for i in range(3)]
    stored = store.insert("t", items, unit_vectors(3), "model")
    assert [m.id for m in stored] == [i.id for i in items]
    assert (count(pg_url, "memories"), count(pg_url, "vectors"), count(pg_url, "memory_tags")) == (3, 3, 3)
    got = store.get("t", items[1].id)
    assert got is not None and got.text == "apple number 1" and got.tags == ["fruit"]
    assert got.model_dump() == stored[1].model_dump()
    assert store.usage("t").memories == 3
    assert store.audit_size("t") == 3


def test_bad_vectors_write_nothing(store: PostgresStore, pg_url: str) -> None:
    with pytest.raises(InvalidInput):
        store.insert("t", [new_memory("a"), new_memory("b")], unit_vectors(1), "model")
    bad = unit_vectors(2)
    bad[1, 0] = np.nan
    with pytest.raises(InvalidInput):
        store.insert("t", [new_memory("a"), new_memory("b")], bad, "model")
    assert count(pg_url, "memories") == 0


def test_failure_mid_transaction_rolls_back_everything(store: PostgresStore, pg_url: str) -> None:
    first = new_memory("first")
    store.insert("t", [first], unit_vectors(1), "model")
    again = [new_memory("second"), first]  # same ULID twice: UNIQUE fails on the 2nd row
    with pytest.raises(Exception):  # noqa: B017 - the driver's error, typed at the edge
        store.insert("t", again, unit_vectors(2), "model")
    assert (count(pg_url, "memories"), count(pg_url, "vectors"), count(pg_url, "audit_log")) == (1, 1, 1)
    assert store.usage("t").memories == 1


def test_tenants_never_see_each_other(store: PostgresStore) -> None:
    mine, theirs = new_memory("shared words here"), new_memory("shared words here")
    store.insert("a", [mine], unit_vectors(1, 1), "m")
    store.insert("b", [theirs], unit_vectors(1, 1), "m")
    now = utcnow()
    assert store.get("a", theirs.id) is None
    assert ids(store.text_search("a", "shared", 10, MemoryFilter(), now)) == [mine.id]
    for exact in (True, False):
        assert ids(store.vector_search("a", unit_vectors(1, 1)[0], 10, MemoryFilter(), now,
                                       exact=exact)) == [mine.id]
    assert [m.id for m in store.list("a", MemoryFilter(), now, 10)] == [mine.id]
    assert store.delete("a", [theirs.id]) == 0
    assert store.get("b", theirs.id) is not None
    assert store.get_many("a", [mine.id, theirs.id]).keys() == {mine.id}
    assert store.history("a", theirs.id) == []
    assert store.vectors("a", [theirs.id]) == {}
    assert store.tenants() == ["a", "b"]


def test_two_stores_on_one_database_see_each_other_at_once(pg_url: str, pg_keys: pg.Keys) -> None:
    """Two store objects stand in for two API nodes: no in-process index to catch up."""
    reader = PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer())
    writer = PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer())
    vectors = unit_vectors(3, 5)
    first = new_memory("one")
    writer.insert("t", [first], vectors[:1], "m")
    assert ids(reader.vector_search("t", vectors[0], 5, MemoryFilter(), utcnow())) == [first.id]
    later = new_memory("two")
    writer.insert("t", [later], vectors[1:2], "m")
    writer.delete("t", [first.id])
    assert ids(reader.vector_search("t", vectors[0], 5, MemoryFilter(), utcnow())) == [later.id]
    assert reader.get("t", later.id).text == "two"  # type: ignore[union-attr]
    reader.close()
    writer.close()


def test_vector_search_scores_are_cosine_similarities(store: PostgresStore) -> None:
    vectors = unit_vectors(20, 3)
    items = [new_memory(f"row {i}") for i in range(20)]
    store.insert("t", items, vectors, "m")
    expected = sorted(range(20), key=lambda i: -float(vectors[i] @ vectors[4]))[:5]
    for exact in (True, False):
        hits = store.vector_search("t", vectors[4], 5, MemoryFilter(), utcnow(), exact=exact)
        assert ids(hits) == [items[i].id for i in expected]
        assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
        assert [s for _, s in hits] == pytest.approx([float(vectors[i] @ vectors[4]) for i in expected],
                                                     abs=1e-5)
    stored = store.vectors("t", [items[4].id])
    assert np.allclose(stored[items[4].id], vectors[4], atol=1e-6)


def test_text_search_ranks_rare_words_and_context(store: PostgresStore) -> None:
    common = [new_memory(f"we went walking on day {i}") for i in range(8)]
    rare = new_memory("we went kayaking once")
    store.insert("t", [*common, rare], unit_vectors(9), "m")
    now = utcnow()
    hits = store.text_search("t", "went kayaking", 5, MemoryFilter(), now)
    assert hits[0][0] == rare.id and hits[0][1] > hits[1][1] > 0
    assert store.text_search("t", "the of and", 5, MemoryFilter(), now) == []
    assert store.text_search("t", "'\\ & | ! :* (", 5, MemoryFilter(), now) == []  # never syntax


def test_a_reply_is_found_through_the_question_before_it(store: PostgresStore) -> None:
    question = new_memory("Did you visit Lisbon last spring?")
    reply = new_memory("Yes, last May!")
    unrelated = new_memory("Something else entirely")
    store.insert("t", [question, reply, unrelated], unit_vectors(3), "m")  # one session, "s"
    hits = store.text_search("t", "Lisbon", 5, MemoryFilter(), utcnow())
    assert ids(hits)[:2] == [question.id, reply.id]  # the reply through its context, weighted less
    store.delete("t", [question.id])
    assert ids(store.text_search("t", "Lisbon", 5, MemoryFilter(), utcnow())) == []  # no trace left


def test_filters_mean_what_they_mean_in_sqlite(store: PostgresStore) -> None:
    a = new_memory("alpha", "work", tags=["x", "y"], metadata={"user": {"id": 7}, "flag": True})
    b = new_memory("beta", "home", tags=["x"], metadata={"user": {"id": 8}, "note": None},
                   kind=Kind.EPISODE)
    c = new_memory("gamma", "work", metadata={"flag": 1.0, "name": "c"})
    store.insert("t", [a, b, c], unit_vectors(3), "m")
    now = utcnow()

    def listed(**fields: object) -> set[str]:
        return {m.id for m in store.list("t", MemoryFilter(**fields), now, 10)}

    assert listed(namespaces=("work",)) == {a.id, c.id}
    assert listed(kinds=(Kind.EPISODE,)) == {b.id}
    assert listed(tags_all=("x", "y")) == {a.id}
    assert listed(metadata={"user.id": 8}) == {b.id}
    assert listed(metadata={"flag": True}) == {a.id, c.id}  # true == 1 == 1.0, as json_extract
    assert listed(metadata={"name": "c"}) == {c.id}
    assert listed(metadata={"note": None}) == {a.id, b.id, c.id}  # null matches a missing key
    assert listed(metadata={"user.id": "7"}) == set()  # a string is not a number
    with pytest.raises(InvalidQuery):
        listed(metadata={"bad key": 1})
    with pytest.raises(InvalidQuery):
        listed(metadata={"k": 2**70})
    hits = store.vector_search("t", unit_vectors(3)[0], 5, MemoryFilter(tags_all=("y",)), now)
    assert ids(hits) == [a.id]


def test_occurred_filters_and_pages(store: PostgresStore) -> None:
    now = utcnow()
    items = [new_memory(f"day {i}").model_copy(update={"occurred_at": now - timedelta(days=i)})
             for i in range(5)]
    store.insert("t", items, unit_vectors(5), "m")
    now = utcnow()
    window = MemoryFilter(occurred_after=now - timedelta(days=2, hours=1),
                          occurred_before=now - timedelta(hours=1))
    assert {m.id for m in store.list("t", window, now, 10)} == {items[1].id, items[2].id}
    first = store.list("t", MemoryFilter(), now, 2)
    second = store.list("t", MemoryFilter(), now, 2, after=first[-1].id)
    assert [m.id for m in first + second] == sorted((i.id for i in items), reverse=True)[:4]


def test_supersede_history_and_time_travel(store: PostgresStore) -> None:
    old = new_memory("Ann lives in Paris")
    store.insert("t", [old], unit_vectors(1), "m")
    before = utcnow()
    new = new_memory("Ann lives in Rome").model_copy(update={"supersedes": old.id})
    store.supersede("t", old.id, new, unit_vectors(1, 2), "m", utcnow())
    now = utcnow()
    assert [m.id for m in store.list("t", MemoryFilter(), now, 10)] == [new.id]
    assert {m.id for m in store.list("t", MemoryFilter(include_superseded=True), now, 10)} == {old.id, new.id}
    assert [m.id for m in store.list("t", MemoryFilter(as_of=before), now, 10)] == [old.id]
    assert [m.id for m in store.history("t", new.id)] == [old.id, new.id]
    assert store.get("t", old.id).superseded_by == new.id  # type: ignore[union-attr]
    assert store.usage("t").memories == 1
    with pytest.raises(Conflict):
        store.supersede("t", old.id, new_memory("again"), unit_vectors(1), "m", utcnow())
    with pytest.raises(MemoryNotFound):
        store.supersede("t", "01HZZZZZZZZZZZZZZZZZZZZZZZ", new_memory("x"), unit_vectors(1), "m", utcnow())
    assert store.delete("t", [new.id]) == 2  # every version goes
    assert store.usage("t").memories == 0 and store.history("t", old.id) == []


def test_delete_where_and_expire(store: PostgresStore, pg_url: str) -> None:
    now = utcnow()
    due = new_memory("old", expires_at=now - timedelta(seconds=1))
    keep = new_memory("new", expires_at=now + timedelta(hours=1))
    other = new_memory("other tenant", expires_at=now - timedelta(seconds=1))
    store.insert("t", [due, keep], unit_vectors(2), "m")
    store.insert("u", [other], unit_vectors(1), "m")
    assert ids(store.vector_search("t", unit_vectors(2)[0], 5, MemoryFilter(), utcnow())) == [keep.id]
    assert store.expire(utcnow()) == 2
    assert store.get("t", due.id) is None and store.get("t", keep.id) is not None
    assert store.get("u", other.id) is None
    assert "memory.expire" in store.audit_leaves("u", 0, 10)[-1].event
    work = [new_memory(f"w{i}", "work") for i in range(3)]
    store.insert("t", work, unit_vectors(3), "m")
    assert store.delete_where("t", MemoryFilter(namespaces=("work",))) == 3
    assert store.namespaces("t")[0].namespace == "ns" and len(store.namespaces("t")) == 1
    assert store.has_namespace("t", ["ns"]) and not store.has_namespace("t", ["work"])


def test_find_by_hash(store: PostgresStore) -> None:
    item = new_memory("same text")
    store.insert("t", [item], unit_vectors(1), "m")
    found = store.find_by_hash("t", "ns", item.content_hash, utcnow())
    assert [m.id for m in found] == [item.id]
    assert store.find_by_hash("u", "ns", item.content_hash, utcnow()) == []


def test_weights_keys_and_usage(store: PostgresStore) -> None:
    assert store.get_weights("t") == FusionWeights()
    store.set_weights("t", FusionWeights(dense=0.9))
    store.set_weights("t", FusionWeights(dense=0.7))
    assert store.get_weights("t").dense == 0.7 and store.get_weights("u") == FusionWeights()
    now = utcnow()
    key = ApiKey(id="k1", tenant="t", role="writer", namespaces=["a"], name="ci", created_at=now)
    store.add_key(key, "f" * 64)
    store.add_key(ApiKey(id="k2", tenant="u", role="admin", created_at=now), "e" * 64)
    found = store.key_with_secret("k1")
    assert found is not None and found[0] == key and found[1] == "f" * 64
    assert store.key_with_secret("nope") is None
    assert [k.id for k in store.list_keys("t")] == ["k1"] and store.count_keys() == 2
    assert store.revoke_key("u", "k1", now) is None  # another tenant's key
    revoked = store.revoke_key("t", "k1", now)
    assert revoked is not None and revoked.revoked_at is not None
    later = store.revoke_key("t", "k1", now + timedelta(hours=1))
    assert later is not None and later.revoked_at == revoked.revoked_at  # the first revocation stays
    assert audit_events_of(store, "t") == ["key.create", "key.revoke"]
    store.insert("t", [new_memory("abc", metadata={"k": "v"})], unit_vectors(1), "m")
    usage = store.usage_by_tenant()
    assert usage["t"].memories == 1 and usage["t"].bytes == 3 + len('{"k":"v"}')


def audit_events_of(store: PostgresStore, tenant: str) -> list[str]:
    import json

    return [json.loads(leaf.event)["action"] for leaf in store.audit_leaves(tenant, 0, 100)]


def test_audit_leaves_and_checkpoints(store: PostgresStore) -> None:
    item = new_memory("audited")
    store.insert("t", [item], unit_vectors(1), "m")
    leaves = store.record([audit_events.event("t", "policy.deny", utcnow()),
                           audit_events.event("u", "policy.deny", utcnow())])
    assert [leaf.index for leaf in leaves] == [1, 0]
    assert store.audit_size("t") == 2 and store.audit_tenants() == ["t", "u"]
    assert [leaf.index for leaf in store.audit_leaves_for("t", item.id)] == [0]
    hashes = store.audit_leaf_hashes("t", 2)
    assert hashes == [leaf.leaf_hash for leaf in store.audit_leaves("t", 0, 2)]
    for size in (1, 2):
        store.add_checkpoint(StoredCheckpoint(tenant="t", size=size, root=b"r" * 32, note=f"n{size}",
                                              created_at=utcnow()))
    store.add_checkpoint(StoredCheckpoint(tenant="t", size=2, root=b"x" * 32, note="dup",
                                          created_at=utcnow()))
    assert [c.size for c in store.checkpoints("t")] == [1, 2]
    assert [c.size for c in store.checkpoints("t", after_size=1)] == [2]
    latest = store.latest_checkpoint("t")
    assert latest is not None and latest.note == "n2" and store.latest_checkpoint("u") is None


def test_concurrent_writers_keep_one_gapless_audit_log(pg_url: str, pg_keys: pg.Keys) -> None:
    from concurrent.futures import ThreadPoolExecutor

    stores = [PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer()) for _ in range(3)]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda n: stores[n % 3].insert("t", [new_memory(f"m{n}")], unit_vectors(1, n), "m"),
                      range(30)))
    leaves = stores[0].audit_leaves("t", 0, 100)
    assert [leaf.index for leaf in leaves] == list(range(30))
    for s in stores:
        s.close()


def test_constitutions_and_tenant_policies(store: PostgresStore) -> None:
    assert store.constitutions() == [] and store.constitution_version() is None
    event = audit_events.event("_system", "constitution.apply", utcnow())
    store.add_constitution(1, '{"v":1}', event)
    store.add_constitution(2, '{"v":2}', event)
    with pytest.raises(Conflict):
        store.add_constitution(2, '{"v":2}', event)
    assert store.constitutions() == [(1, '{"v":1}'), (2, '{"v":2}')] and store.constitution_version() == 2
    assert store.tenant_policies("t") == ""
    store.set_tenant_policies("t", "forbid(principal, action, resource);",
                              audit_events.event("t", "tenant.policies", utcnow()))
    assert store.tenant_policies("t").startswith("forbid") and store.tenant_policies("u") == ""
    assert store.audit_size("t") == 1 and store.audit_size("_system") == 2


def test_check_detects_tampering_and_reindex_repairs(store: PostgresStore, pg_url: str) -> None:
    items = [new_memory(f"row {i}") for i in range(5)]
    store.insert("t", items, unit_vectors(5), "m")
    store.probe()
    assert store.check().ok
    with psycopg.connect(pg_url) as conn:  # a flipped bit in a sealed text, as the owner
        conn.execute("UPDATE memories SET text = set_byte(text, 40, get_byte(text, 40) # 1)"
                     " WHERE id = %s", (items[0].id,))
        conn.execute("UPDATE memories SET search = to_tsvector('nothing') WHERE id = %s", (items[1].id,))
        conn.execute("DELETE FROM memory_meta")
    report = store.check()
    assert not report.ok
    assert any(items[0].id in p and "fails authentication" in p for p in report.problems)
    assert any("stale search vector" in p for p in report.problems)
    seen: list[tuple[int, int]] = []
    store.reindex(lambda done, total: seen.append((done, total)))
    assert seen[-1] == (5, 5)
    report = store.check()
    assert any("fails authentication" in p for p in report.problems)  # reindex can't invent the text
    assert not any("search" in p for p in report.problems)


def test_session_turns_written_in_one_batch_get_their_context(store: PostgresStore) -> None:
    turns = [new_memory(t).model_copy(update={"source": Source(session="s2", speaker=who)})
             for t, who in [("Where did you go?", "Ann"), ("To the fjords", "Bob")]]
    store.insert("t", turns, unit_vectors(2), "m")
    assert ids(store.text_search("t", "Ann", 5, MemoryFilter(), utcnow())) == [turns[0].id, turns[1].id]


def test_check_and_reindex_keep_metadata_tokens(store: PostgresStore, pg_url: str) -> None:
    item = new_memory("tokens", metadata={"user": {"id": 7}})
    store.insert("t", [item], unit_vectors(1), "m")
    assert store.check().ok
    with psycopg.connect(pg_url) as conn:
        conn.execute("DELETE FROM memory_meta")
    assert store.list("t", MemoryFilter(metadata={"user.id": 7}), utcnow(), 10) == []
    assert any("stale filter tokens" in p for p in store.check().problems)
    store.reindex()
    assert store.check().ok
    assert [m.id for m in store.list("t", MemoryFilter(metadata={"user.id": 7}), utcnow(), 10)] == [item.id]


def test_edited_migration_is_refused(pg_url: str) -> None:
    PostgresStore(pg_url, dim=DIM).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE schema_migrations SET sha256 = 'edited' WHERE version = 1")
    with pytest.raises(MigrationError, match="edited after it was applied"):
        PostgresStore(pg_url, dim=DIM)
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE schema_migrations SET sha256 = 'x' WHERE version = 1")
        conn.execute("INSERT INTO schema_migrations (version, name, sha256) VALUES (999, 'future', 'x')")
    with pytest.raises(MigrationError):
        PostgresStore(pg_url, dim=DIM)


def test_unreachable_server_is_a_clear_error() -> None:
    from cortex.core.errors import StoreUnavailable
    from cortex.store.postgres.local import free_port

    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1") as caught:
        PostgresStore(f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none?connect_timeout=2")
    assert "secret" not in str(caught.value)
