"""The ``cortex`` command: global options, command registration and the entry point.

Global options go before the command (``cortex --store sqlite:///a.db recall ...``);
``--json`` is also accepted after any command. Expected errors print one line,
``error: <message>``, on stderr and exit 1; usage errors exit 2.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cortex.cli import (
    admin_cmds,
    audit_cmds,
    constitution_cmds,
    demo_cmd,
    dev_cmds,
    import_cmd,
    memory_cmds,
    migrate_cmd,
    privacy_cmds,
    service_cmds,
    session_cmds,
    subject_cmds,
)
from cortex.cli.state import CliState, CortexGroup
from cortex.core.config import Settings

app = typer.Typer(
    cls=CortexGroup,
    name="cortex",
    help="Cortex: a governed memory engine for AI agents. Remember, recall, forget.",
    epilog="Settings also come from CORTEX_* environment variables (docs/configuration.md).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        from cortex import __version__

        typer.echo(f"cortex {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    store: Annotated[str | None, typer.Option(
        "--store", metavar="URL", show_default=False,
        help="Store URL, e.g. sqlite:///agent.db (env CORTEX_STORE_URL, "
        "default sqlite:///./cortex.db).")] = None,
    tenant: Annotated[str | None, typer.Option(
        "--tenant", metavar="T", show_default=False,
        help="Tenant to act for (env CORTEX_TENANT, default: default).")] = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Machine-readable output: one JSON object on stdout.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_version, help="Print the version and exit.")
    ] = False,
) -> None:
    """Cortex: a governed memory engine for AI agents."""
    state = ctx.ensure_object(CliState)
    state.json = state.json or json_output
    state.store_flag = store
    ctx.call_on_close(state.close)
    state.settings = Settings.load(store_url=store, tenant=tenant)


memory_cmds.register(app)
import_cmd.register(app)
admin_cmds.register(app)
session_cmds.register(app)
demo_cmd.register(app)
service_cmds.register(app)
audit_cmds.register(app)
constitution_cmds.register(app)
privacy_cmds.register(app)
subject_cmds.register(app)
dev_cmds.register(app)
migrate_cmd.register(app)


def _add_bench(parent: typer.Typer) -> None:
    try:
        from cortex.cli.bench_cmd import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
            bench_app,
        )
    except ImportError:
        return
    parent.add_typer(bench_app, name="bench")


_add_bench(app)


def main() -> None:
    """Entry point of the ``cortex`` script."""
    app(prog_name="cortex")
