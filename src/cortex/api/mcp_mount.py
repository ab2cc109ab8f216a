"""``/mcp``: the MCP server over streamable HTTP, behind the same credentials as ``/v1``.

A raw ASGI endpoint (FastAPI dependencies do not run for one), so it authenticates here,
with the same ``authenticate`` as every route (keys, JWTs, rate limits), and hands the
MCP app a request whose ``state.principal`` the tools read.
"""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from cortex.api.deps import Services, authenticate, bearer_token, run
from cortex.api.problems import from_error
from cortex.api.routes.memories import check_quota
from cortex.core.errors import CortexError
from cortex.mcp import StreamableHTTPApp, create_mcp_server, principal_from_request_state
from cortex.mcp.server import streamable_http_app


def build(svc: Services) -> StreamableHTTPApp:
    server = create_mcp_server(svc.engine, principal_from_request_state, quota=partial(check_quota, svc))
    return streamable_http_app(server)


class Endpoint:
    """An ASGI app, not a function: Starlette would wrap a function as a GET-only handler."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["app"]
        request = Request(scope)
        try:
            principal = await run(authenticate, app.state.services, bearer_token(request))
        except CortexError as exc:
            await from_error(exc, request)(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await app.state.mcp_app(scope, receive, send)
