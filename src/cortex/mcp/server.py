"""The Cortex MCP server: seven memory tools over one engine, served on stdio or streamable HTTP.

Who is calling comes from a ``principal(ctx)`` callable, never from a tool argument: stdio
serves one fixed principal (``fixed_principal``); over HTTP the API authenticates the request
and ``principal_from_request_state`` reads what it put on ``request.state.principal``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import ValidationError
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from cortex import __version__
from cortex.core.errors import InvalidInput, Unauthenticated
from cortex.engine import Cortex
from cortex.mcp.tools import CortexTools, PrincipalSource, QuotaCheck, describe
from cortex.tenancy import Principal

INSTRUCTIONS = """\
Cortex is your long-term memory across conversations.
- Call `recall` before answering anything that may depend on earlier conversations: names,
  preferences, decisions, dates, past events. An empty result means nothing relevant is stored.
- Call `remember` for what is worth keeping: one self-contained statement per call (write names
  and dates, not "he" or "tomorrow"), with `namespace` saying whose memory it is.
- Correct a wrong memory with `update_memory`; delete one on request with `forget`.
- Hits carry provenance (source, created_at, occurred_at) and a score: prefer recent, specific
  memories and say so when memory is thin or conflicting.
- Errors start with a type slug such as `cortex/memory-not-found`; fix the input and retry.
"""

# name -> (description an agent reads to decide when to call it, behaviour hints)
_TOOLS: dict[str, tuple[str, ToolAnnotations]] = {
    "remember": (
        "Store something worth keeping beyond this conversation: a fact, a preference, a decision, "
        "an event or a procedure. Use it when the user tells you about themselves or their work, "
        "decides something, or asks you to remember. One self-contained statement per call. Exact "
        "duplicates are not stored twice. Returns the memory with its id.",
        ToolAnnotations(title="Remember", read_only_hint=False, destructive_hint=False,
                        idempotent_hint=True, open_world_hint=False)),
    "recall": (
        "Search long-term memory by meaning and keywords, ranked with recency and importance. Use it "
        "before answering anything that may depend on earlier conversations. Each hit has the memory's "
        "id, text, provenance (source, created_at, occurred_at), a score and the signals behind it.",
        ToolAnnotations(title="Recall", read_only_hint=True, open_world_hint=False)),
    "forget": (
        "Permanently delete a memory and all its versions. Use it when the user asks you to forget "
        "something. It cannot be undone; to fix a wrong memory use update_memory instead.",
        ToolAnnotations(title="Forget", read_only_hint=False, destructive_hint=True,
                        idempotent_hint=False, open_world_hint=False)),
    "update_memory": (
        "Correct or refine a memory's text, tags, metadata or importance. The old version is kept "
        "(recall with as_of still sees it) and the new version has a NEW id: use that id from now on.",
        ToolAnnotations(title="Update memory", read_only_hint=False, destructive_hint=False,
                        idempotent_hint=False, open_world_hint=False)),
    "list_memories": (
        "Browse stored memories newest first, e.g. to review what is known in a namespace or to find "
        "an id. Not a search: use recall to find memories about a topic. Page with limit and after.",
        ToolAnnotations(title="List memories", read_only_hint=True, open_world_hint=False)),
    "session_append": (
        "Add a message to a session's working memory: the recent turns of the current conversation, "
        "kept within a token budget and not stored long-term. Append each turn so that "
        "recall(session=...) ranks recent context together with long-term memories.",
        ToolAnnotations(title="Append to session", read_only_hint=False, destructive_hint=False,
                        idempotent_hint=False, open_world_hint=False)),
    "session_context": (
        "Read a session's recent messages, oldest first: use it to pick up a conversation where it "
        "left off.",
        ToolAnnotations(title="Session context", read_only_hint=True, open_world_hint=False)),
}


class _CortexServer(MCPServer):
    """Reports arguments that fail the input schema like every other bad input: with a slug."""

    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Context | None = None) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            raise ToolError(f"Error executing tool {name}: {_invalid_arguments(cause)}") from cause


def _invalid_arguments(error: ValidationError) -> str:
    # Field names and pydantic's reason only: the rejected values are the caller's data.
    problems = "; ".join(f"{'.'.join(str(part) for part in e['loc']) or 'arguments'}: {e['msg']}"
                         for e in error.errors(include_url=False))
    return describe(InvalidInput(f"invalid arguments: {problems}"))


def create_mcp_server(engine: Cortex, principal: PrincipalSource, *,
                      quota: QuotaCheck | None = None) -> MCPServer:
    """An MCP server named "cortex" whose tools act for whoever ``principal(ctx)`` returns.

    The caller owns ``engine`` (and closes it); one server may serve many clients. ``quota``
    (see ``QuotaCheck``) lets the API apply its tenant quotas to ``remember`` here too.
    """
    with _root_logging_untouched():
        server = _CortexServer("cortex", title="Cortex memory", instructions=INSTRUCTIONS,
                               version=__version__)
    tools = CortexTools(engine, principal, quota)
    for name, (description, hints) in _TOOLS.items():
        server.add_tool(getattr(tools, name), name=name, description=description, annotations=hints,
                        structured_output=True)
    return server


@contextmanager
def _root_logging_untouched() -> Iterator[None]:
    """The SDK calls logging.basicConfig (INFO, Rich) when the root logger has no handler;
    a library must not reconfigure its host's logging, so give it one for the moment."""
    root = logging.getLogger()
    placeholder = logging.NullHandler() if not root.handlers else None
    if placeholder is not None:
        root.addHandler(placeholder)
    try:
        yield
    finally:
        if placeholder is not None:
            root.removeHandler(placeholder)


def fixed_principal(principal: Principal) -> PrincipalSource:
    """Every call acts as ``principal``: for stdio, where the process owner is the caller."""
    return lambda _ctx: principal


def principal_from_request_state(ctx: Context) -> Principal:
    """The ``Principal`` the HTTP API's authentication put on ``request.state.principal``.

    The SDK hands a tool the Starlette request of the HTTP call that carried it; without one
    (stdio, in-process) or without a principal on it, the call is unauthenticated.
    """
    request = ctx.request_context.request
    principal = getattr(getattr(request, "state", None), "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthenticated("this MCP request carries no authenticated principal")
    return principal


def run_stdio(engine: Cortex, principal: Principal) -> None:
    """Serve MCP on stdin/stdout as ``principal`` until the client hangs up (``cortex mcp``).

    Blocks. stdout is the protocol channel: nothing else may print to it; logs go to stderr.
    """
    anyio.run(create_mcp_server(engine, fixed_principal(principal)).run_stdio_async)


class StreamableHTTPApp:
    """The MCP endpoint as a path-agnostic ASGI app, for a host app to route to.

    Stateless with JSON responses: no session lives in a worker's memory, so any of several
    API workers can answer any request (these tools never call back to the client). GET and
    DELETE answer 405, as the spec allows: with no server-initiated messages and no sessions
    there is nothing to stream or end, and the SDK would otherwise hold an idle GET open.
    """

    def __init__(self, server: MCPServer, security: TransportSecuritySettings) -> None:
        self.server = server
        self.security = security
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Run the SDK's session manager; requests are refused outside this block.

        A manager runs only once, so each entry builds a fresh one: the host app's lifespan
        may run more than once (tests open several clients on one app).
        """
        self.server.streamable_http_app(stateless_http=True, json_response=True,
                                        transport_security=self.security)
        manager = self.server.session_manager
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._manager is None:
            raise RuntimeError("the MCP app is not running: enter `mcp_app.lifespan()` in the host "
                               "app's lifespan")
        if scope["type"] == "http" and scope["method"] != "POST":
            response = PlainTextResponse("Method Not Allowed: this endpoint takes POST only", 405,
                                         headers={"Allow": "POST"})
            await response(scope, receive, send)
            return
        await self._manager.handle_request(scope, receive, send)


def streamable_http_app(server: MCPServer, *,
                        transport_security: TransportSecuritySettings | None = None) -> StreamableHTTPApp:
    """The streamable HTTP endpoint of ``server``, for the API to serve at ``/mcp``.

    What the host (FastAPI) app must do:

    1. Route exactly ``/mcp`` to it, any method (it answers 405 to all but POST):
       ``app.router.routes.append(Route("/mcp", endpoint=mcp_app))``. The app
       ignores the path, so ``app.mount("/mcp", mcp_app)`` works too, but a mount only
       matches ``/mcp/...``: a client posting to ``/mcp`` gets a 307 redirect first.
    2. Run it in the lifespan: ``async with mcp_app.lifespan(): yield``. Starlette does not
       run a routed or mounted app's own lifespan; without this every request raises.
    3. Authenticate before it, in middleware (route dependencies do not run for a raw ASGI
       endpoint): on success set ``request.state.principal = Principal(...)`` (i.e.
       ``scope["state"]["principal"]``), else answer 401 itself. The SDK builds the tool's
       request from the same scope, so ``principal_from_request_state`` finds it there.
       Build the server with ``create_mcp_server(engine, principal_from_request_state)``.

    DNS-rebinding protection is off by default: every request carries an API key, which a
    page rebound in a browser does not have, and the API may sit behind any host name. Pass
    ``transport_security`` to check Host/Origin anyway.
    """
    security = transport_security or TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return StreamableHTTPApp(server, security)


__all__ = [
    "INSTRUCTIONS",
    "StreamableHTTPApp",
    "create_mcp_server",
    "fixed_principal",
    "principal_from_request_state",
    "run_stdio",
    "streamable_http_app",
]
