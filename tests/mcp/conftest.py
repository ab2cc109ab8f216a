"""MCP tests talk to the server through the SDK's own client, on asyncio."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.types import CallToolResult, TextContent


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a call that must have succeeded."""
    assert not result.is_error, error_text(result)
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    """The text of an error result; fails if the call succeeded."""
    assert result.is_error, result.structured_content
    assert result.structured_content is None
    (block,) = result.content
    assert isinstance(block, TextContent)
    return block.text


TOOLS = {"remember", "recall", "forget", "update_memory", "list_memories", "session_append",
         "session_context"}
MISSING_ID = "01HZZZZZZZZZZZZZZZZZZZZZZZ"  # a well-formed id no one has
