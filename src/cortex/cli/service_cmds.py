"""``cortex serve``, ``cortex keys ...`` and ``cortex mcp``: running Cortex as a service."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Column, Table

from cortex.cli.state import CliState, JsonFlag, get_state
from cortex.core.models import ApiKey

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on (env CORTEX_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (env CORTEX_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes (env CORTEX_WORKERS); each loads the model.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Run the HTTP API (REST under /v1, MCP at /mcp, docs at /docs) on the configured store.

    On first start, when the store has no API keys, prints a one-time admin key.

    Examples:

      cortex serve

      cortex --store sqlite:///agent.db serve --port 9000 --workers 2
    """
    import uvicorn

    from cortex.api.logs import uvicorn_log_config

    state = get_state(ctx, json_output)
    state.override(**{k: v for k, v in {"host": host, "port": port, "workers": workers}.items()
                      if v is not None})
    cfg = state.config
    state.engine().governance.current()  # fail closed: one line and exit 1 if it does not verify
    _first_admin_key(state)
    state.close()  # the workers open their own engines
    os.environ["CORTEX_STORE_URL"] = cfg.store_url  # workers read settings from CORTEX_*
    os.environ["CORTEX_TENANT"] = cfg.tenant
    os.environ["CORTEX_WORKERS"] = str(cfg.workers)  # each worker takes its share of limits
    metrics_dir = None
    if cfg.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        metrics_dir = tempfile.mkdtemp(prefix="cortex-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run("cortex.api.app:app_from_env", factory=True, host=cfg.host, port=cfg.port,
                    workers=cfg.workers, log_config=uvicorn_log_config(cfg.log_level),
                    access_log=False, timeout_graceful_shutdown=10)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _first_admin_key(state: CliState) -> None:
    keys = state.engine().keys
    if keys.count() > 0:
        return
    issued = keys.create(state.config.tenant, "admin", name="first admin key")
    if state.json:
        state.emit({"admin_key": issued.key, "record": issued.record.model_dump(mode="json")})
        return
    # Plain lines, flushed: a supervisor or a script reads the key from stdout.
    sys.stdout.write(f"No API keys yet: created an admin key for tenant '{issued.record.tenant}'.\n"
                     f"It is shown once; store it now:\n{issued.key}\n"
                     "Make more with: cortex --tenant T keys create --role writer\n")
    sys.stdout.flush()


@keys_app.command("create")
def create_key(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help="admin, writer or reader.")] = "writer",
    namespace: Annotated[list[str] | None, typer.Option(
        help="Limit the key to this namespace; repeat for several.")] = None,
    name: Annotated[str | None, typer.Option(help="A label for people (e.g. the app using it).")] = None,
    expires: Annotated[str | None, typer.Option(
        help="Expiry as an ISO-8601 time, e.g. 2027-01-01T00:00:00Z.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Create an API key for the tenant (--tenant); the secret is printed once.

    Examples:

      cortex --tenant acme keys create --role admin

      cortex --tenant acme keys create --role reader --namespace user:ann --expires 2027-01-01 --json
    """
    state = get_state(ctx, json_output)
    issued = state.engine().keys.create(state.config.tenant, role, namespaces=namespace or None,
                                        name=name, expires_at=expires)
    if state.json:
        state.emit({"key": issued.key, "record": issued.record.model_dump(mode="json")})
        return
    state.out.print(f"{issued.key}\n(key {issued.record.id}, tenant {issued.record.tenant}, "
                    f"role {issued.record.role}; shown once, only its hash is stored)", markup=False)


@keys_app.command("list")
def list_keys(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """List the tenant's API keys (ids, roles, scopes, expiry; never secrets).

    Example:

      cortex --tenant acme keys list --json
    """
    state = get_state(ctx, json_output)
    found = state.engine().keys.list(state.config.tenant)
    if state.json:
        state.emit({"tenant": state.config.tenant, "keys": [k.model_dump(mode="json") for k in found]})
        return
    state.out.print(_keys_table(found))


@keys_app.command("revoke")
def revoke_key(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id (the part after ctx_).")],
    json_output: JsonFlag = False,
) -> None:
    """Revoke an API key of the tenant; it stops working at once on this store.

    Example:

      cortex --tenant acme keys revoke 4f2kq7xw3m2a
    """
    state = get_state(ctx, json_output)
    record = state.engine().keys.revoke(state.config.tenant, key_id)
    if state.json:
        state.emit(record.model_dump(mode="json"))
        return
    state.out.print(f"revoked key {record.id} (tenant {record.tenant})", markup=False)


def _keys_table(found: list[ApiKey]) -> Table:
    table = Table("role", "namespaces", "name", "created", "expires", "revoked")
    table.columns.insert(0, Column("id", no_wrap=True, min_width=12))
    for key in found:
        table.add_row(key.id, key.role, ", ".join(key.namespaces or ["(all)"]), key.name or "",
                      _day(key.created_at), _day(key.expires_at), _day(key.revoked_at))
    return table


def _day(at: datetime | None) -> str:
    return "" if at is None else at.strftime("%Y-%m-%d")


def mcp(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help="What the client may do: reader, writer or admin.")] = "writer",
    namespace: Annotated[list[str] | None, typer.Option(
        help="Limit the client to this namespace; repeat for several.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Serve the MCP tools on stdin/stdout for a desktop agent, acting in --tenant.

    stdout carries the protocol; errors go to stderr. Over HTTP, `cortex serve` serves the
    same tools at /mcp with API keys. (--json is accepted for uniformity; MCP is JSON-RPC.)

    Examples:

      cortex --store sqlite:///agent.db --tenant me mcp

      cortex --tenant me mcp --role reader --namespace notes
    """
    from cortex.mcp import run_stdio
    from cortex.tenancy import Principal, Role

    state = get_state(ctx, json_output)
    try:
        who = Role(role)
    except ValueError:
        raise typer.BadParameter("role must be reader, writer or admin", param_hint="--role") from None
    principal = Principal(tenant=state.config.tenant, role=who, subject="stdio",
                          namespaces=tuple(namespace) if namespace else None)
    run_stdio(state.engine(), principal)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(mcp)
    app.add_typer(keys_app, name="keys")
