"""The server in-process, through the SDK client: authorisation, isolation and errors.

Two servers share one engine, each answering as a different principal, the way the HTTP
API serves many callers from one engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from cortex import Cortex
from cortex.core.errors import QuotaExceeded
from cortex.mcp import create_mcp_server, fixed_principal, principal_from_request_state
from cortex.tenancy import Principal, Role
from mcp import Client
from tests.mcp.conftest import MISSING_ID, error_text, ok

pytestmark = pytest.mark.anyio

Connect = Callable[[Principal], AbstractAsyncContextManager[Client]]


@pytest.fixture
def connect(mem: Cortex) -> Connect:
    @asynccontextmanager
    async def as_principal(principal: Principal) -> AsyncIterator[Client]:
        async with Client(create_mcp_server(mem, fixed_principal(principal))) as client:
            yield client
    return as_principal


ALICE = Principal(tenant="acme", role=Role.WRITER, subject="key:alice")
BOB = Principal(tenant="globex", role=Role.WRITER, subject="key:bob")
READER = Principal(tenant="acme", role=Role.READER, subject="key:reader")
SCOPED = Principal(tenant="acme", role=Role.WRITER, subject="key:scoped",
                   namespaces=("team:red", "team:green"))


async def test_server_identifies_itself_with_instructions(connect: Connect) -> None:
    async with connect(ALICE) as client:
        assert client.server_info is not None and client.server_info.name == "cortex"
        assert client.instructions and "recall" in client.instructions


async def test_a_tenant_never_reaches_another_tenants_memory(connect: Connect) -> None:
    async with connect(BOB) as bob:
        secret = ok(await bob.call_tool("remember", {"text": "Globex launches the rocket in May",
                                                     "namespace": "plans"}))["memory"]["id"]
    async with connect(ALICE) as alice:
        ok(await alice.call_tool("remember", {"text": "Acme ships anvils", "namespace": "plans"}))
        hits = ok(await alice.call_tool("recall", {"query": "rocket launch in May", "k": 50}))["hits"]
        assert [h["memory"]["text"] for h in hits] == ["Acme ships anvils"]
        listed = ok(await alice.call_tool("list_memories", {}))["memories"]
        assert [m["text"] for m in listed] == ["Acme ships anvils"]
        for tool, args in [("forget", {}), ("update_memory", {"text": "hijacked"})]:
            text = error_text(await alice.call_tool(tool, {"memory_id": secret, **args}))
            assert text.endswith(f"cortex/memory-not-found: no memory {secret}")
    async with connect(BOB) as bob:
        hits = ok(await bob.call_tool("recall", {"query": "rocket launch", "namespace": "plans"}))["hits"]
        assert [h["memory"]["id"] for h in hits] == [secret]
        assert hits[0]["memory"]["text"] == "Globex launches the rocket in May"


async def test_another_tenants_id_answers_exactly_like_a_missing_one(connect: Connect) -> None:
    async with connect(BOB) as bob:
        secret = ok(await bob.call_tool("remember", {"text": "Bob's secret"}))["memory"]["id"]
    async with connect(ALICE) as alice:
        foreign = error_text(await alice.call_tool("forget", {"memory_id": secret}))
        missing = error_text(await alice.call_tool("forget", {"memory_id": MISSING_ID}))
    assert foreign.replace(secret, "ID") == missing.replace(MISSING_ID, "ID")


async def test_a_reader_may_read_but_not_write(connect: Connect) -> None:
    async with connect(ALICE) as alice:
        memory_id = ok(await alice.call_tool("remember", {"text": "The wiki lives on Confluence"}))[
            "memory"]["id"]
        ok(await alice.call_tool("session_append", {"session": "s1", "text": "hello"}))
    async with connect(READER) as reader:
        for tool, args in [("remember", {"text": "x"}), ("forget", {"memory_id": memory_id}),
                           ("update_memory", {"memory_id": memory_id, "text": "y"}),
                           ("session_append", {"session": "s1", "text": "hi"})]:
            text = error_text(await reader.call_tool(tool, args))
            assert "cortex/forbidden: role reader may not write" in text, (tool, text)
        hits = ok(await reader.call_tool("recall", {"query": "where is the wiki"}))["hits"]
        assert hits[0]["memory"]["id"] == memory_id
        assert ok(await reader.call_tool("list_memories", {}))["memories"][0]["id"] == memory_id
        messages = ok(await reader.call_tool("session_context", {"session": "s1"}))["messages"]
        assert [m["text"] for m in messages] == ["hello"]


async def test_a_namespace_scoped_caller_sees_only_its_namespaces(connect: Connect) -> None:
    async with connect(ALICE) as alice:
        blue = ok(await alice.call_tool("remember", {"text": "Blue team budget is 10k",
                                                     "namespace": "team:blue"}))["memory"]["id"]
    async with connect(SCOPED) as scoped:
        red = ok(await scoped.call_tool("remember", {"text": "Red team budget is 5k",
                                                     "namespace": "team:red"}))["memory"]["id"]
        green = ok(await scoped.call_tool("remember", {"text": "Green team budget is 7k",
                                                       "namespace": "team:green"}))["memory"]["id"]
        hits = ok(await scoped.call_tool("recall", {"query": "team budget"}))["hits"]
        assert {h["memory"]["id"] for h in hits} == {red, green}
        listed = ok(await scoped.call_tool("list_memories", {}))["memories"]
        assert [m["id"] for m in listed] == [green, red]
        assert "cortex/memory-not-found" in error_text(
            await scoped.call_tool("forget", {"memory_id": blue}))
        for tool, args in [("recall", {"query": "budget", "namespace": "team:blue"}),
                           ("remember", {"text": "x", "namespace": "team:blue"}),
                           ("session_context", {"session": "s1"}),
                           ("recall", {"query": "budget", "session": "s1"})]:
            assert "cortex/forbidden" in error_text(await scoped.call_tool(tool, args)), tool


async def test_bad_arguments_are_error_results_with_a_slug(connect: Connect) -> None:
    async with connect(ALICE) as alice:
        cases = {
            ("remember", "text"): "cortex/invalid-input: invalid arguments: text: Field required",
            ("remember", "kind"): "cortex/invalid-input: invalid arguments: kind: Input should be",
            ("recall", "k"): "cortex/invalid-input: invalid arguments: k: Input should be a valid integer",
            ("remember", "namespace"): "cortex/invalid-namespace: namespace 'bad name!' is invalid",
            ("remember", "importance"): "cortex/invalid-input: importance must be a number from 0 to 1",
            ("update_memory", "nothing"): "cortex/invalid-input: give at least one of",
            ("list_memories", "after"): "cortex/invalid-id: 'nope' is not a memory id",
        }
        args = {
            ("remember", "text"): {},
            ("remember", "kind"): {"text": "x", "kind": "gossip"},
            ("recall", "k"): {"query": "x", "k": "many"},
            ("remember", "namespace"): {"text": "x", "namespace": "bad name!"},
            ("remember", "importance"): {"text": "x", "importance": 3},
            ("update_memory", "nothing"): {"memory_id": MISSING_ID},
            ("list_memories", "after"): {"after": "nope"},
        }
        for (tool, case), expected in cases.items():
            text = error_text(await alice.call_tool(tool, args[(tool, case)]))
            assert text.startswith(f"Error executing tool {tool}: {expected}"), (case, text)
            assert "Traceback" not in text and "pydantic" not in text


async def test_a_quota_check_refuses_before_anything_is_written(mem: Cortex) -> None:
    def at_most_one(tenant: str, items: list[dict[str, Any]]) -> None:
        if mem.usage(tenant=tenant).memories + len(items) > 1:
            raise QuotaExceeded("tenant quota of 1 memories reached", limit=1)

    server = create_mcp_server(mem, fixed_principal(ALICE), quota=at_most_one)
    async with Client(server) as alice:
        ok(await alice.call_tool("remember", {"text": "first"}))
        assert "cortex/invalid-text" in error_text(await alice.call_tool("remember", {"text": " "}))
        text = error_text(await alice.call_tool("remember", {"text": "second"}))
        assert text.endswith("cortex/quota-exceeded: tenant quota of 1 memories reached")
    assert [m.text for m in mem.list(tenant=ALICE.tenant)] == ["first"]


async def test_http_principal_helper_refuses_a_call_without_a_request(mem: Cortex) -> None:
    """In-process there is no HTTP request, so there is nobody to act for."""
    async with Client(create_mcp_server(mem, principal_from_request_state)) as client:
        text = error_text(await client.call_tool("recall", {"query": "anything"}))
    assert "cortex/unauthenticated" in text
