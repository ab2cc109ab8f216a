"""``python -m cortex.mcp``: serve one store on stdio without the CLI's settings layer.

For tests and for MCP client configs that run a module; ``cortex mcp`` is the user-facing
command. Argument parsing is the whole job here: everything else is ``run_stdio``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cortex.core.errors import CortexError
from cortex.engine import DEFAULT_TENANT, Cortex
from cortex.mcp.server import run_stdio
from cortex.mcp.tools import describe
from cortex.tenancy import Principal, Role


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cortex.mcp",
                                     description="Serve Cortex memory over MCP on stdin/stdout.")
    parser.add_argument("--store", default="sqlite:///cortex.db", help="store URL")
    parser.add_argument("--tenant", default=DEFAULT_TENANT, help="the tenant every call acts in")
    parser.add_argument("--role", choices=[r.value for r in Role], default=Role.WRITER.value,
                        help="what the caller may do (default: writer)")
    parser.add_argument("--namespace", action="append", dest="namespaces", metavar="NS",
                        help="limit the caller to this namespace (repeatable)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    principal = Principal(tenant=args.tenant, role=Role(args.role), subject="stdio",
                          namespaces=tuple(args.namespaces) if args.namespaces else None)
    try:
        with Cortex.open(args.store) as engine:
            run_stdio(engine, principal)
    except CortexError as exc:  # e.g. an unreadable store: one line on stderr, not a traceback
        sys.exit(f"cortex mcp: {describe(exc)}")


if __name__ == "__main__":
    main()
