"""A real ``python -m cortex.mcp`` subprocess on stdio, driven by the SDK's client."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcp import Client, StdioServerParameters
from tests.mcp.conftest import MISSING_ID, TOOLS, error_text, ok

pytestmark = pytest.mark.anyio


def stdio_server(tmp_path: Path, *extra: str) -> Client:
    store = f"sqlite:///{tmp_path / 'memories.db'}"
    return Client(StdioServerParameters(
        command=sys.executable, args=["-m", "cortex.mcp", "--store", store, "--tenant", "acme", *extra]))


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    """One server process for the module: each spawn loads Python, the SDK and the model."""
    async with stdio_server(tmp_path_factory.mktemp("stdio")) as connected:
        yield connected


async def test_lists_every_tool_with_a_described_input_schema(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 60, tool.name
        assert tool.input_schema["type"] == "object"
        for name, prop in tool.input_schema["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
    assert tools["recall"].input_schema["required"] == ["query"]
    assert tools["recall"].input_schema["properties"]["k"]["minimum"] == 1
    assert tools["recall"].annotations is not None and tools["recall"].annotations.read_only_hint
    assert tools["forget"].annotations is not None and tools["forget"].annotations.destructive_hint


async def test_memory_round_trip(client: Client) -> None:
    remembered = ok(await client.call_tool("remember", {
        "text": "Caroline went to the LGBTQ support group on 7 May 2023",
        "namespace": "user:caroline", "kind": "episode", "tags": ["support"],
        "occurred_at": "2023-05-07T18:00:00Z", "source": {"session": "s1", "speaker": "Caroline"}}))
    assert remembered["created"] is True
    memory = remembered["memory"]
    hits = ok(await client.call_tool("recall", {
        "query": "When did Caroline go to the support group?", "namespace": "user:caroline"}))["hits"]
    top = hits[0]
    assert top["memory"]["id"] == memory["id"]
    assert top["memory"]["source"] == {"session": "s1", "speaker": "Caroline"}
    assert top["memory"]["namespace"] == "user:caroline" and top["memory"]["kind"] == "episode"
    assert top["memory"]["created_at"] and top["memory"]["occurred_at"].startswith("2023-05-07T18:00")
    assert top["score"] > 0 and "dense" in top["explain"] and top["origin"] == "store"

    updated = ok(await client.call_tool("update_memory", {
        "memory_id": memory["id"], "text": "Caroline went to the support group on 8 May 2023"}))
    assert updated["supersedes"] == memory["id"] and updated["id"] != memory["id"]
    assert updated["source"] == memory["source"]

    page = ok(await client.call_tool("list_memories", {"namespace": "user:caroline", "limit": 1}))
    assert [m["id"] for m in page["memories"]] == [updated["id"]]
    assert page["next_after"] == updated["id"]
    rest = ok(await client.call_tool("list_memories", {"namespace": "user:caroline",
                                                       "after": page["next_after"]}))
    assert rest == {"memories": [], "next_after": None}

    forgotten = ok(await client.call_tool("forget", {"memory_id": updated["id"]}))
    assert forgotten == {"memory_id": updated["id"], "deleted": 2}
    assert ok(await client.call_tool("list_memories", {"namespace": "user:caroline"}))["memories"] == []
    assert "cortex/memory-not-found" in error_text(
        await client.call_tool("forget", {"memory_id": updated["id"]}))


async def test_session_working_memory(client: Client) -> None:
    first = ok(await client.call_tool("session_append", {
        "session": "chat-1", "text": "I just adopted a cat named Miso", "speaker": "Dana"}))
    ok(await client.call_tool("session_append", {
        "session": "chat-1", "text": "Congratulations!", "role": "assistant"}))
    assert first["session"] == "chat-1" and first["role"] == "user" and first["id"]
    context = ok(await client.call_tool("session_context", {"session": "chat-1"}))
    assert [(m["role"], m["text"]) for m in context["messages"]] == [
        ("user", "I just adopted a cat named Miso"), ("assistant", "Congratulations!")]
    hits = ok(await client.call_tool("recall", {"query": "what is the cat called", "session": "chat-1"}))
    assert hits["hits"][0]["origin"] == "working"
    assert hits["hits"][0]["memory"]["text"] == "I just adopted a cat named Miso"


async def test_bad_input_is_an_error_result_not_a_crash(client: Client) -> None:
    for tool, args, slug in [
        ("remember", {"text": "   "}, "cortex/invalid-text"),
        ("recall", {"query": "x", "k": 0}, "cortex/invalid-query"),
        ("forget", {"memory_id": MISSING_ID}, "cortex/memory-not-found"),
        ("update_memory", {"memory_id": "not-an-id", "text": "x"}, "cortex/invalid-id"),
        ("session_append", {"session": "s", "text": ""}, "cortex/invalid-text"),
        ("recall", {}, "cortex/invalid-input"),
    ]:
        text = error_text(await client.call_tool(tool, args))
        assert text.startswith(f"Error executing tool {tool}: {slug}: "), text
    # the server survived every one of them
    ok(await client.call_tool("remember", {"text": "still here"}))


async def test_role_flag_limits_the_caller(tmp_path: Path) -> None:
    async with stdio_server(tmp_path, "--role", "reader") as client:
        text = error_text(await client.call_tool("remember", {"text": "x"}))
    assert text.endswith("cortex/forbidden: role reader may not write")
