"""stats, namespaces, check, reindex, sweep: looking after a store."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from cortex.cli import render
from cortex.cli.state import JsonFlag, get_state


def stats(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Totals for the tenant: memories, bytes, and a table per namespace.

    Examples:

      cortex stats

      cortex --store sqlite:///agent.db --tenant acme stats --json
    """
    state = get_state(ctx, json_output)
    info = state.engine().stats()
    if state.json:
        state.emit(info)
        return
    state.out.print(f"store: {info['store']}  tenant: {info['tenant']}  "
                    f"embedder: {info['embedder']} ({info['dim']} dims)", markup=False)
    state.out.print(f"memories: {info['memories']}  bytes: {info['bytes']}")
    spaces = state.engine().namespaces()
    if spaces:
        state.out.print(render.namespaces_table(spaces))


def namespaces(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """List the tenant's namespaces with their memory counts and sizes.

    Example:

      cortex namespaces --json
    """
    state = get_state(ctx, json_output)
    spaces = state.engine().namespaces()
    if state.json:
        state.emit({"namespaces": [s.model_dump(mode="json") for s in spaces]})
    elif spaces:
        state.out.print(render.namespaces_table(spaces))
    else:
        state.out.print("no namespaces yet")


def check(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Check the store's integrity (rows, full-text index, vectors); exit 1 on any problem.

    Example:

      cortex --store sqlite:///agent.db check
    """
    state = get_state(ctx, json_output)
    report = state.engine().check()
    if state.json:
        state.emit(report.model_dump(mode="json"))
    else:
        for line in render.check_lines(report):
            state.out.print(line)
    if not report.ok:
        raise typer.Exit(1)


def reindex(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Rebuild everything derived from the memories (full-text rows, vector indexes).

    Example:

      cortex reindex
    """
    state = get_state(ctx, json_output)
    engine = state.engine()
    if state.json:
        engine.reindex()
        state.emit({"reindexed": True})
        return
    columns = (TextColumn("reindexing"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=state.err) as bar:
        task = bar.add_task("reindex", total=None)
        engine.reindex(lambda done, total: bar.update(task, completed=done, total=total))
    state.out.print("reindexed")


def sweep(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Delete every memory whose TTL or expires_at has passed, and erase those older than
    their kind's retention in the constitution (all tenants). `cortex serve` runs this
    every CORTEX_SWEEP_SECONDS.

    Example:

      cortex sweep
    """
    state = get_state(ctx, json_output)
    removed = state.engine().sweep_detail()
    if state.json:
        state.emit(removed)
    else:
        state.out.print(f"expired {render.plural(removed['expired'], 'memory', 'memories')}, "
                        f"erased {removed['retention']} past retention")


def register(app: typer.Typer) -> None:
    for command in (stats, namespaces, check, reindex, sweep):
        app.command()(command)
