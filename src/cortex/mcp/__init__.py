"""Cortex over the Model Context Protocol: memory tools for agents, on stdio or HTTP.

    from cortex import Cortex
    from cortex.mcp import run_stdio
    from cortex.tenancy import Principal, Role
    with Cortex.open("sqlite:///agent.db") as engine:
        run_stdio(engine, Principal(tenant="default", role=Role.WRITER, subject="stdio"))
"""

from cortex.mcp.server import (
    INSTRUCTIONS,
    StreamableHTTPApp,
    create_mcp_server,
    fixed_principal,
    principal_from_request_state,
    run_stdio,
    streamable_http_app,
)
from cortex.mcp.tools import PrincipalSource, QuotaCheck

__all__ = [
    "INSTRUCTIONS",
    "PrincipalSource",
    "QuotaCheck",
    "StreamableHTTPApp",
    "create_mcp_server",
    "fixed_principal",
    "principal_from_request_state",
    "run_stdio",
    "streamable_http_app",
]
