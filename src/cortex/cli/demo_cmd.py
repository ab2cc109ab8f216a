"""``cortex demo``: ingest a bundled conversation and answer four questions from it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from cortex.cli import render
from cortex.cli.importing import ImportOptions, plan_import
from cortex.cli.state import CliState, JsonFlag, get_state

if TYPE_CHECKING:
    from cortex.core.models import Hit

NAMESPACE = "demo"
QUERIES = (
    "What is the name of Maya's dog?",
    "When is Maya's sister getting married, and where?",
    "What was Maya's finishing time in Rotterdam?",
    "Where are Maya and Jonas travelling in September?",
)


def demo(
    ctx: typer.Context,
    store: Annotated[str | None, typer.Option(
        "--store", help="Store to load the demo into (default: a temporary SQLite file, "
        "removed afterwards).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """See Cortex work: load a 41-turn conversation (3 dated sessions) and recall from it.

    Examples:

      cortex demo

      cortex demo --store sqlite:///demo.db --json
    """
    state = get_state(ctx, json_output)
    with _store_url(store or state.store_flag) as url:
        state.override(store_url=url)
        try:
            count = _ingest(state)
            recalls = {q: state.engine().recall(q, namespace=NAMESPACE, k=3) for q in QUERIES}
        finally:
            state.close()
    if state.json:
        state.emit({"store": store or state.store_flag, "ingested": count,
                    "recalls": [{"query": q, "hits": [h.model_dump(mode="json") for h in hits]}
                                for q, hits in recalls.items()]})
        return
    _print(state, count, recalls)


@contextmanager
def _store_url(given: str | None) -> Iterator[str]:
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="cortex-demo-") as folder:
        yield f"sqlite:///{Path(folder) / 'demo.db'}"


def _ingest(state: CliState) -> int:
    data = resources.files("cortex.demo") / "conversation.jsonl"
    with resources.as_file(data) as path:
        plan = plan_import([path], ImportOptions(namespace=NAMESPACE,
                                                 validator=state.engine().validate))
    if not state.json:
        state.err.print(f"loading {len(plan.entries)} conversation turns "
                        "(the first run also loads the embedding model)…")
    return len(state.engine().remember_many([entry.item for entry in plan.entries]))


def _print(state: CliState, count: int, recalls: dict[str, list[Hit]]) -> None:
    state.out.print(f"[bold]Ingested {count} turns between Maya and Jonas "
                    "(sessions on 2 Mar, 14 Apr and 23 Jun 2024).[/bold]")
    for query, hits in recalls.items():
        state.out.print()
        state.out.print(Text(f"? {query}", style="bold cyan"))
        for rank, hit in enumerate(hits, start=1):
            state.out.print(_hit_line(rank, hit))


def _hit_line(rank: int, hit: Hit) -> Text:
    memory = hit.memory
    when = render.when(memory.occurred_at)[:10]
    speaker = memory.source.speaker or "?"
    line = Text(f"  {rank}. ")
    line.append(f"[{when}] {speaker}: ", style="dim")
    line.append(memory.text)
    line.append(f"  ({hit.score:.2f})", style="dim")
    return line


def register(app: typer.Typer) -> None:
    app.command()(demo)
