"""Every SDK method against a real server, on the sync and the async client alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cortex.client import CortexClient
from cortex.core.errors import (
    CortexError,
    Forbidden,
    InvalidId,
    InvalidInput,
    InvalidText,
    MemoryNotFound,
    NamespaceNotFound,
    Unauthenticated,
)
from cortex.core.models import ApiKey, Hit, Memory, NamespaceStats, RememberResult, Usage
from cortex.tenancy.keys import IssuedKey
from cortex.working import WorkingMessage
from tests.client.conftest import Server, connect
from tests.live import free_port

pytestmark = pytest.mark.anyio
SAID = "Caroline went to the LGBTQ support group on 7 May 2023"
ASKED = "When did Caroline go to the support group?"


def space() -> str:
    return f"ns-{uuid.uuid4().hex[:8]}"


async def test_memory_lifecycle(live: Server, flavour: str) -> None:
    _, key = live.tenant()
    ns = space()
    async with connect(flavour, live.url, key) as mem:
        first = await mem.remember(SAID, namespace=ns, kind="fact", metadata={"topic": "support"},
                                   tags=["lgbtq"], importance=0.8,
                                   source={"agent": "a1", "session": "s1", "speaker": "Caroline"},
                                   occurred_at=datetime(2023, 5, 7, 14, 0, tzinfo=UTC))
        assert isinstance(first, RememberResult) and first.created
        memory = first.memory
        assert (memory.namespace, memory.kind, memory.tags) == (ns, "fact", ["lgbtq"])
        assert memory.occurred_at == datetime(2023, 5, 7, 14, 0, tzinfo=UTC)
        again = await mem.remember(SAID, namespace=ns, kind="fact", importance=0.8,
                                   source={"speaker": "Caroline"}, occurred_at="2023-05-07T14:00:00Z")
        assert not again.created and again.duplicate_of == memory.id

        assert await mem.get(memory.id) == memory

        hits = await mem.recall(ASKED, namespace=ns, k=3)
        assert all(isinstance(hit, Hit) for hit in hits)
        top = hits[0]
        assert top.memory.id == memory.id and top.origin == "store" and top.score > 0
        assert top.explain and all(isinstance(v, float) for v in top.explain.values())
        assert (top.provenance.agent, top.provenance.session) == ("a1", "s1")

        newer = await mem.update(memory.id, text=SAID + " with Melanie", tags=["lgbtq", "friends"])
        assert isinstance(newer, Memory) and newer.supersedes == memory.id
        assert newer.metadata == {"topic": "support"} and newer.importance == 0.8  # unchanged fields kept
        versions = await mem.history(newer.id)
        assert [v.id for v in versions] == [memory.id, newer.id]
        assert versions[0].superseded_by == newer.id

        assert await mem.forget(newer.id) == 2
        with pytest.raises(MemoryNotFound) as caught:
            await mem.get(newer.id)
        assert caught.value.detail["id"] == newer.id and caught.value.status == 404


async def test_list_follows_cursors(live: Server, flavour: str) -> None:
    _, key = live.tenant()
    ns, other = space(), space()
    async with connect(flavour, live.url, key) as mem:
        stored = await mem.remember_many([{"text": f"note number {n}", "namespace": ns, "tags": ["n"]}
                                          for n in range(7)])
        await mem.remember("elsewhere", namespace=other)
        newest_first = [r.memory.id for r in reversed(stored)]

        pages, after = [], None
        while True:
            page = await mem.list(namespace=ns, limit=3, after=after)
            pages.append([m.id for m in page])
            if len(page) < 3:
                break
            after = page[-1].id
        assert pages == [newest_first[:3], newest_first[3:6], newest_first[6:]]

        for size in (3, 7, 100):  # 7: a full last page, then an empty one
            assert [m.id async for m in mem.iter_memories(namespace=ns, page_size=size)] == newest_first
        both = [m.namespace async for m in mem.iter_memories(namespace=[ns, other], tags=None)]
        assert sorted(set(both)) == sorted([ns, other]) and len(both) == 8
        assert len(await mem.list(namespace=ns, kinds=["episode"], tags=["n"], limit=50)) == 7
        assert await mem.list(namespace=ns, kinds=["fact"]) == []

        await mem.update(stored[0].memory.id, text="note number zero")
        assert len(await mem.list(namespace=ns)) == 7
        assert len(await mem.list(namespace=ns, include_superseded=True)) == 8


async def test_namespaces_sessions_usage_and_keys(live: Server, flavour: str) -> None:
    tenant, key = live.tenant()
    ns = space()
    async with connect(flavour, live.url, key) as mem:
        assert await mem.healthz() and await mem.ready()
        await mem.remember("the sky is blue", namespace=ns)
        stats = await mem.namespaces()
        assert stats == live.engine.namespaces(tenant=tenant)  # the engine's answer, over HTTP
        assert [(s.namespace, s.memories) for s in stats] == [(ns, 1)]
        usage = await mem.usage()
        assert isinstance(usage, Usage) and usage == live.engine.usage(tenant=tenant)
        assert usage.memories == 1 and isinstance(stats[0], NamespaceStats)

        said = await mem.session_append("chat-1", "I adopted a puppy named Rex", speaker="Caroline")
        assert isinstance(said, WorkingMessage) and (said.role, said.speaker) == ("user", "Caroline")
        reply = await mem.session_append("chat-1", "Congratulations!", role="assistant")
        assert [m.id for m in await mem.session_messages("chat-1")] == [said.id, reply.id]
        hits = await mem.recall("what is the puppy called?", k=3, session="chat-1")
        assert hits[0].origin == "working" and "Rex" in hits[0].memory.text
        assert await mem.session_clear("chat-1") == 2
        assert await mem.session_messages("chat-1") == []

        tomorrow = datetime.now(UTC) + timedelta(days=1)
        issued = await mem.create_key("reader", namespaces=[ns], name="dashboard", expires_at=tomorrow)
        assert isinstance(issued, IssuedKey) and issued.record.tenant == tenant
        assert issued.record.namespaces == [ns] and issued.record.name == "dashboard"
        assert issued.record.expires_at is not None
        assert abs((issued.record.expires_at - tomorrow).total_seconds()) < 60
        hourly = await mem.create_key("writer", expires_in=3600)
        assert hourly.record.role == "writer" and hourly.record.expires_at is not None
        with pytest.raises(InvalidInput, match="future"):
            await mem.create_key("reader", expires_at="2001-01-01T00:00:00Z")
        async with connect(flavour, live.url, issued.key) as reader:
            assert [m.text for m in await reader.list()] == ["the sky is blue"]
            with pytest.raises(Forbidden):
                await reader.remember("not allowed", namespace=ns)
        listed = await mem.list_keys()
        assert all(isinstance(k, ApiKey) for k in listed)
        assert {k.id for k in listed} >= {issued.record.id, hourly.record.id}
        revoked = await mem.revoke_key(issued.record.id)
        assert revoked.revoked_at is not None
        async with connect(flavour, live.url, issued.key) as reader:
            with pytest.raises(Unauthenticated, match="revoked"):
                await reader.list()


async def test_errors_are_the_engines_classes(live: Server, flavour: str) -> None:
    tenant, key = live.tenant()
    ns = space()
    theirs = live.engine.remember("another tenant's secret", namespace=ns, tenant="someone-else")
    async with connect(flavour, live.url, key) as mem:
        with pytest.raises(InvalidText) as long:  # the engine's own check, through the API
            await mem.remember("x" * 40_000, namespace=ns)
        assert long.value.detail["field"] == "text" and long.value.type == "cortex/invalid-text"
        with pytest.raises(InvalidInput) as blank:  # the API's schema check: the generic class
            await mem.remember("   ", namespace=ns)
        assert blank.value.detail["errors"][0]["loc"] == ["body", "text"]
        with pytest.raises(MemoryNotFound):
            await mem.get(theirs.memory.id)
        with pytest.raises(MemoryNotFound):
            await mem.forget(theirs.memory.id)
        with pytest.raises(InvalidId):  # checked before sending, as the engine checks it
            await mem.get("not-a-memory-id")
        with pytest.raises(InvalidId):
            await mem.list(after="nope")
        with pytest.raises(NamespaceNotFound):
            await mem.recall("anything", namespace="never-written")
        with pytest.raises(InvalidInput, match="batch_size"):
            await mem.remember_many([{"text": "x"}], batch_size=1001)
        with pytest.raises(InvalidInput, match="JSON"):
            await mem.remember("nan metadata", metadata={"x": float("nan")})
    async with connect(flavour, live.url, key + "x") as wrong:
        with pytest.raises(Unauthenticated) as bad:
            await wrong.list()
        assert bad.value.detail["request_id"]
    async with connect(flavour, live.url, live.key(tenant, "reader")) as reader:
        with pytest.raises(Forbidden, match="may not write"):
            await reader.remember("readers cannot write", namespace=ns)


async def test_a_bad_batch_item_names_its_place_in_the_whole_list(live: Server, flavour: str) -> None:
    _, key = live.tenant()
    ns = space()
    items = [{"text": f"item {n}" if n != 15 else "", "namespace": ns} for n in range(25)]
    async with connect(flavour, live.url, key) as mem:
        with pytest.raises(InvalidInput) as caught:
            await mem.remember_many(items, batch_size=10)
        assert caught.value.detail["index"] == 15
        # Each batch call is atomic, the whole list is not: the first batch was stored.
        assert len(await mem.list(namespace=ns)) == 10


async def test_no_server_is_a_clear_cortex_error(flavour: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with connect(flavour, url, "ctx_key", retries=1) as mem:
        assert not await mem.healthz() and not await mem.ready()
        with pytest.raises(CortexError, match=f"cannot reach Cortex at {url}") as caught:
            await mem.remember("hello")
    assert type(caught.value) is CortexError
    assert caught.value.detail["transport"] == "ConnectError" and caught.value.detail["attempts"] == 2


@pytest.mark.slow
async def test_remember_many_chunks_into_batch_calls(live: Server, flavour: str) -> None:
    _, key = live.tenant()
    ns = space()
    before = live.requests("POST", "/v1/memories/batch", 201)
    async with connect(flavour, live.url, key) as mem:
        results = await mem.remember_many(
            {"text": f"fact {n}: the number {n} squared is {n * n}", "namespace": ns}
             for n in range(2500))
        assert live.requests("POST", "/v1/memories/batch", 201) - before == 3
        assert len(results) == 2500 and all(r.created for r in results)
        assert [r.memory.text for r in results[:2]] == ["fact 0: the number 0 squared is 0",
                                                       "fact 1: the number 1 squared is 1"]
        assert (await mem.namespaces())[0].memories == 2500

        before = live.requests("POST", "/v1/memories/batch", 201)
        big = [{"text": f"{n} " + "long text " * 300, "namespace": ns} for n in range(30)]
        assert len(await mem.remember_many(big, max_batch_bytes=40_000)) == 30  # 13 per call
        assert live.requests("POST", "/v1/memories/batch", 201) - before == 3


def test_the_key_comes_from_the_environment_when_not_given(live: Server,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _, key = live.tenant()
    monkeypatch.setenv("CORTEX_API_KEY", key)
    with CortexClient(live.url) as mem:
        assert mem.list() == []
    monkeypatch.delenv("CORTEX_API_KEY")
    with CortexClient(live.url) as mem, pytest.raises(Unauthenticated, match="missing credentials"):
        mem.list()
