"""The Cortex engine end to end: real SQLite file, real MiniLM embeddings."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from cortex import (
    Cortex,
    InvalidId,
    InvalidInput,
    InvalidKind,
    InvalidMetadata,
    InvalidNamespace,
    InvalidQuery,
    InvalidText,
    MemoryNotFound,
    NamespaceNotFound,
)
from cortex.core.models import utcnow


def rows(mem: Cortex, table: str = "memories") -> int:
    return mem.store.raw().execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[attr-defined]


def test_the_readme_example(mem: Cortex) -> None:
    r = mem.remember("Caroline went to the LGBTQ support group on 7 May 2023",
                     namespace="user:caroline", kind="episode",
                     source={"session": "s1", "message": "D1:3", "speaker": "Caroline"},
                     occurred_at="2023-05-08T13:56:00Z", tags=["support"], importance=0.7)
    mem.remember("Melanie painted a sunrise over the lake", namespace="user:caroline")
    mem.remember("Caroline is researching adoption agencies", namespace="user:caroline")
    hits = mem.recall("When did Caroline go to the support group?", namespace="user:caroline", k=5)
    assert hits[0].memory.id == r.memory.id
    top = hits[0]
    assert top.provenance.session == "s1" and top.provenance.speaker == "Caroline"
    assert {"dense", "bm25", "dense_rank", "bm25_rank", "relevance", "score"} <= top.explain.keys()
    assert top.score == pytest.approx(top.explain["score"])


def test_tenants_are_isolated_in_every_call(mem: Cortex) -> None:
    a = mem.remember("Project Falcon launches on Friday", namespace="work", tenant="acme")
    b = mem.remember("Project Falcon launches on Friday", namespace="work", tenant="globex")
    assert a.created and b.created and a.memory.id != b.memory.id
    assert [h.memory.id for h in mem.recall("Falcon launch", tenant="acme")] == [a.memory.id]
    assert [m.id for m in mem.list(tenant="globex")] == [b.memory.id]
    with pytest.raises(MemoryNotFound):
        mem.get(b.memory.id, tenant="acme")
    with pytest.raises(MemoryNotFound):
        mem.update(b.memory.id, text="hijacked", tenant="acme")
    assert mem.forget(b.memory.id, tenant="acme") == 0
    assert mem.forget_where(namespace="work", tenant="acme") == 1
    assert mem.get(b.memory.id, tenant="globex").text == "Project Falcon launches on Friday"
    assert [s.namespace for s in mem.namespaces(tenant="acme")] == []


def test_exact_duplicates_are_detected_per_namespace(mem: Cortex) -> None:
    first = mem.remember("I prefer window seats", namespace="prefs", kind="preference")
    again = mem.remember("  I prefer   window seats ", namespace="prefs", kind="preference")
    elsewhere = mem.remember("I prefer window seats", namespace="travel")
    assert first.created and not again.created and again.duplicate_of == first.memory.id
    assert elsewhere.created
    batch = mem.remember_many([{"text": "twin", "namespace": "b"}, {"text": "twin", "namespace": "b"}])
    assert [r.created for r in batch] == [True, False]
    assert batch[1].duplicate_of == batch[0].memory.id
    assert rows(mem) == 3


def test_update_supersedes_and_as_of_sees_the_past(mem: Cortex) -> None:
    old = mem.remember("Alice lives in Paris", namespace="people").memory
    between = utcnow()
    new = mem.update(old.id, text="Alice lives in Berlin")
    assert new.supersedes == old.id
    assert mem.get(old.id).valid_to is not None and mem.get(old.id).superseded_by == new.id
    now_hits = mem.recall("Where does Alice live?", namespace="people")
    assert [h.memory.id for h in now_hits] == [new.id]
    past_hits = mem.recall("Where does Alice live?", namespace="people", as_of=between)
    assert [h.memory.id for h in past_hits] == [old.id]
    assert [m.text for m in mem.history(new.id)] == ["Alice lives in Paris", "Alice lives in Berlin"]
    assert [m.id for m in mem.list(namespace="people")] == [new.id]
    assert {m.id for m in mem.list(namespace="people", include_superseded=True)} == {old.id, new.id}
    with pytest.raises(Exception, match="already superseded"):
        mem.update(old.id, text="Alice lives in Rome")


def test_forget_removes_text_vectors_and_fts_rows(mem: Cortex) -> None:
    keep = mem.remember("The wifi password is on the fridge", namespace="home").memory
    gone = mem.remember("Grandma's secret lasagna uses nutmeg", namespace="home").memory
    updated = mem.update(gone.id, text="Grandma's secret lasagna uses nutmeg and basil")
    assert mem.forget(updated.id) == 2  # every version
    conn = mem.store.raw()  # type: ignore[attr-defined]
    assert conn.execute("SELECT count(*) FROM memories WHERE text LIKE '%lasagna%'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'lasagna'"
                        ).fetchone()[0] == 0
    assert rows(mem, "vectors") == 1
    assert [h.memory.id for h in mem.recall("lasagna recipe", namespace="home")] == [keep.id]
    with pytest.raises(MemoryNotFound):
        mem.get(gone.id)


def test_forget_by_filter_needs_a_filter(mem: Cortex) -> None:
    mem.remember("tagged one", tags=["tmp"])
    mem.remember("kept one")
    with pytest.raises(InvalidInput, match="at least one filter"):
        mem.forget_where()
    assert mem.forget_where(tags=["tmp"]) == 1
    assert [m.text for m in mem.list()] == ["kept one"]


def test_ttl_hides_at_once_and_sweep_deletes(mem: Cortex) -> None:
    mem.remember("ephemeral reminder about the dentist", expires_at=utcnow() - timedelta(seconds=1))
    lasting = mem.remember("permanent note about the dentist").memory
    assert [h.memory.id for h in mem.recall("dentist")] == [lasting.id]
    assert mem.sweep() == 1
    assert rows(mem) == 1


def test_filters_by_kind_tag_metadata_and_time(mem: Cortex) -> None:
    mem.remember("Coffee order: oat flat white", kind="preference", tags=["drinks"],
                 metadata={"source_app": "chat", "priority": 2}, occurred_at="2024-01-10T09:00:00Z")
    mem.remember("Coffee machine manual, descaling steps", kind="document", tags=["manuals"],
                 metadata={"source_app": "docs"}, occurred_at="2025-06-01T09:00:00Z")
    q = "coffee"
    assert [h.memory.kind for h in mem.recall(q, kinds=["document"])] == ["document"]
    assert [h.memory.tags for h in mem.recall(q, tags=["drinks"])] == [["drinks"]]
    assert len(mem.recall(q, metadata={"source_app": "chat", "priority": 2})) == 1
    assert mem.recall(q, metadata={"source_app": "nope"}) == []
    late = mem.recall(q, occurred_after=datetime(2025, 1, 1, tzinfo=UTC))
    assert [h.memory.kind for h in late] == ["document"]
    early = mem.recall(q, occurred_before="2025-01-01T00:00:00Z")
    assert [h.memory.kind for h in early] == ["preference"]


def test_working_memory_competes_in_the_same_ranking(mem: Cortex) -> None:
    mem.remember("The quarterly report is due on March 3rd", namespace="work")
    mem.remember("Lunch options near the office include ramen", namespace="work")
    mem.session_append("chat-1", "By the way, my dog is called Biscuit", speaker="user")
    mem.session_append("chat-1", "We talked about the weather", speaker="user")
    hits = mem.recall("What is my dog's name?", namespace="work", session="chat-1", k=4)
    assert hits[0].origin == "working" and "Biscuit" in hits[0].memory.text
    report = mem.recall("When is the quarterly report due?", namespace="work", session="chat-1")
    assert report[0].origin == "store"  # not pinned on top: the same scorer decides
    origins = {h.origin for h in report}
    assert origins == {"store", "working"}
    assert mem.recall("dog", namespace="work", session="chat-2")[0].origin == "store"
    assert mem.session_clear("chat-1") == 2 and mem.session_messages("chat-1") == []


def test_working_memory_respects_its_token_budget(mem: Cortex) -> None:
    mem.working.max_tokens = 30  # type: ignore[attr-defined]
    for i in range(10):
        mem.session_append("s", f"message number {i} with some words in it")
    kept = mem.session_messages("s")
    assert sum(m.tokens for m in kept) <= 30 and kept[-1].text.startswith("message number 9")


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"text": ""}, InvalidText),
    ({"text": "   \n\t "}, InvalidText),
    ({"text": "x" * (32 * 1024 + 1)}, InvalidText),
    ({"text": "ok", "kind": "gossip"}, InvalidKind),
    ({"text": "ok", "namespace": "has space"}, InvalidNamespace),
    ({"text": "ok", "namespace": ""}, InvalidNamespace),
    ({"text": "ok", "metadata": {"when": datetime.now}}, InvalidMetadata),
    ({"text": "ok", "metadata": {"blob": "x" * 17_000}}, InvalidMetadata),
    ({"text": "ok", "metadata": ["not", "a", "dict"]}, InvalidMetadata),
    ({"text": "ok", "metadata": {"nan": float("nan")}}, InvalidMetadata),
    ({"text": "ok", "importance": 1.5}, InvalidInput),
    ({"text": "ok", "occurred_at": "last tuesday"}, InvalidInput),
    ({"text": "ok", "ttl": -5}, InvalidInput),
    ({"text": "ok", "tags": "not-a-list"}, InvalidInput),
])
def test_bad_input_is_a_typed_error_and_writes_nothing(mem: Cortex, kwargs, error) -> None:
    with pytest.raises(error):
        mem.remember(**kwargs)
    assert rows(mem) == 0


def test_a_bad_item_in_a_batch_writes_nothing(mem: Cortex) -> None:
    with pytest.raises(InvalidText) as info:
        mem.remember_many([{"text": "fine"}, {"text": "also fine"}, {"text": ""}])
    assert info.value.detail["index"] == 2
    with pytest.raises(InvalidInput, match="unknown field"):
        mem.remember_many([{"text": "fine", "colour": "red"}])
    assert rows(mem) == 0


def test_bad_queries_and_ids(mem: Cortex) -> None:
    mem.remember("something", namespace="here")
    for k in (0, -1, 1001, True, 2.5):
        with pytest.raises(InvalidQuery):
            mem.recall("something", k=k)
    with pytest.raises(InvalidText):
        mem.recall("  ")
    with pytest.raises(NamespaceNotFound):
        mem.recall("something", namespace="nowhere")
    for bad in ("nope", "", "01ARZ3NDEKTSV4RRFFQ69G5FA!", None):
        with pytest.raises(InvalidId):
            mem.get(bad)  # type: ignore[arg-type]
    with pytest.raises(MemoryNotFound):
        mem.get("01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_check_passes_then_flags_tampering(mem: Cortex, db_url: str) -> None:
    mem.remember_many([{"text": f"fact number {i}"} for i in range(20)])
    assert mem.check().ok
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    conn.execute("UPDATE memories SET text = 'forged' WHERE seq = 3")
    conn.commit()
    conn.close()
    report = mem.check()
    assert not report.ok and "content hash" in report.problems[0]


def test_reopening_the_file_keeps_everything(db_url: str, embedder) -> None:
    with Cortex.open(db_url, embedder=embedder) as first:
        ids = [r.memory.id for r in first.remember_many(
            [{"text": f"durable memory {i}", "namespace": "n"} for i in range(50)])]
    with Cortex.open(db_url, embedder=embedder) as again:
        assert {m.id for m in again.list(namespace="n", limit=100)} == set(ids)
        assert again.recall("durable memory 7", namespace="n")[0].memory.text == "durable memory 7"
