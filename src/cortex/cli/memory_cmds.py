"""remember, recall, show, list, update, forget: one memory (or query) at a time."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cortex.cli import parse, render
from cortex.cli.state import CliState, JsonFlag, get_state
from cortex.core.errors import InvalidInput

MAX_PAGE = 1_000
KINDS = "episode, fact, document, preference, procedure"

Namespace = Annotated[str, typer.Option("--namespace", "-n", metavar="NS", help="Namespace to write to.")]
Tags = Annotated[list[str] | None, typer.Option("--tag", "-t", metavar="TAG", help="Tag (repeatable).")]
Meta = Annotated[list[str] | None, typer.Option(
    "--meta", "-m", metavar="KEY=VALUE", help="Metadata entry (repeatable); VALUE is parsed "
    "as JSON when it can be (42, true, [1,2]), else kept as text.")]
TagFilter = Annotated[list[str] | None, typer.Option(
    "--tag", "-t", metavar="TAG", help="Only memories with this tag (repeatable: all must match).")]
Kinds = Annotated[list[str] | None, typer.Option(
    "--kind", metavar="KIND", help=f"Only this kind (repeatable): {KINDS}.")]


def remember(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The memory's text; '-' reads standard input.")],
    namespace: Namespace = "default",
    kind: Annotated[str, typer.Option(metavar="KIND", help=f"One of {KINDS}.")] = "episode",
    tag: Tags = None,
    meta: Meta = None,
    metadata_json: Annotated[str | None, typer.Option(
        "--metadata-json", metavar="JSON", help="Metadata as one JSON object (--meta entries win).")] = None,
    source_json: Annotated[str | None, typer.Option(
        "--source-json", metavar="JSON",
        help='Provenance as a JSON object, e.g. {"agent": "planner"}.')] = None,
    speaker: Annotated[str | None, typer.Option(metavar="NAME", help="Who said it (source.speaker).")] = None,
    session: Annotated[str | None, typer.Option(metavar="ID", help="Session id (source.session).")] = None,
    importance: Annotated[float, typer.Option(metavar="X", help="0 to 1; nudges ranking.")] = 0.5,
    occurred_at: Annotated[str | None, typer.Option(
        "--occurred-at", metavar="TIME", help="When it happened (ISO-8601; naive times are UTC).")] = None,
    expires_at: Annotated[str | None, typer.Option(
        "--expires-at", metavar="TIME",
        help="Delete after this time (ISO-8601); see `cortex sweep`.")] = None,
    ttl: Annotated[str | None, typer.Option(
        metavar="DURATION",
        help="Time to live instead of --expires-at: seconds or 30m, 12h, 7d, 2w.")] = None,
    subject: Annotated[str | None, typer.Option(
        metavar="ID", help="The person it is about (an opaque id); see `cortex erase`.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Store one memory (an exact duplicate in the same namespace is not stored twice).

    Examples:

      cortex remember "Ann prefers window seats" --kind preference -n user:ann

      cortex remember "Standup moved to 10:00" --tag work --meta team=core --ttl 7d

      echo "long note" | cortex remember - --speaker Ann --occurred-at 2024-05-07

      cortex remember "Ann's card ends 4242" --subject user:ann
    """
    state = get_state(ctx, json_output)
    metadata = parse.json_object(metadata_json, "--metadata-json") | parse.meta_pairs(meta)
    result = state.engine().remember(
        parse.text_arg(text), namespace=namespace, kind=kind, tags=tag, metadata=metadata,
        source=parse.source(speaker, session, source_json), importance=importance,
        occurred_at=occurred_at, expires_at=expires_at, ttl=parse.duration(ttl), subject=subject)
    if state.json:
        state.emit(result.model_dump(mode="json"))
    elif result.created:
        state.out.print(f"remembered {result.memory.id}")
    else:
        state.out.print(f"already remembered as {result.memory.id} (duplicate, not stored)")


def recall(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(metavar="QUERY", help="What to look for, in plain words.")],
    namespace: Annotated[list[str] | None, typer.Option(
        "--namespace", "-n", metavar="NS", help="Search only this namespace (repeatable).")] = None,
    k: Annotated[int, typer.Option("-k", "--top", metavar="K", help="How many hits (1-1000).")] = 10,
    kind: Kinds = None,
    tag: TagFilter = None,
    meta: Annotated[list[str] | None, typer.Option(
        "--meta", "-m", metavar="KEY=VALUE", help="Only memories whose metadata has KEY=VALUE.",
    )] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="TIME", help="Recall what was current at this time (ISO-8601).")] = None,
    after: Annotated[str | None, typer.Option(
        metavar="TIME", help="Only memories that occurred after this time.")] = None,
    before: Annotated[str | None, typer.Option(
        metavar="TIME", help="Only memories that occurred before this time.")] = None,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Show every signal behind each score.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Find the memories that best match QUERY (dense + full-text, fused).

    Examples:

      cortex recall "where does Ann like to sit?"

      cortex recall "deadlines" -n work -k 5 --after 2024-01-01 --explain

      cortex recall "what changed" --as-of 2024-03-01T12:00 --json
    """
    state = get_state(ctx, json_output)
    hits = state.engine().recall(
        query, namespace=namespace, k=k, kinds=kind, tags=tag,
        metadata=parse.meta_pairs(meta) or None, as_of=as_of, occurred_after=after,
        occurred_before=before)
    if state.json:
        state.emit({"query": query, "hits": [h.model_dump(mode="json") for h in hits]})
        return
    if not hits:
        state.out.print("no memories matched")
        return
    state.out.print(render.hits_table(hits))
    if explain:
        for line in render.explain_lines(hits):
            state.out.print(line)


def show(
    ctx: typer.Context,
    memory_id: Annotated[str, typer.Argument(metavar="ID", help="The memory's id (a ULID).")],
    history: Annotated[bool, typer.Option(
        "--history", help="Also list every version, oldest first.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Show one memory in full; --history lists its earlier and later versions.

    Examples:

      cortex show 01HZX3J8Q2V5K7M9N0P1R2S3T4

      cortex show 01HZX3J8Q2V5K7M9N0P1R2S3T4 --history --json
    """
    state = get_state(ctx, json_output)
    engine = state.engine()
    memory = engine.get(memory_id)
    versions = engine.history(memory_id) if history else []
    if state.json:
        payload: dict[str, Any] = {"memory": memory.model_dump(mode="json")}
        if history:
            payload["history"] = [v.model_dump(mode="json") for v in versions]
        state.emit(payload)
        return
    state.out.print(render.memory_detail(memory))
    if history:
        state.out.print(f"\n{len(versions)} version(s), oldest first:")
        state.out.print(render.memories_table(versions))


def list_(
    ctx: typer.Context,
    namespace: Annotated[str | None, typer.Option(
        "--namespace", "-n", metavar="NS", help="Only this namespace.")] = None,
    kind: Kinds = None,
    tag: TagFilter = None,
    limit: Annotated[int, typer.Option(metavar="N", help="Page size (1-1000).")] = 20,
    after: Annotated[str | None, typer.Option(
        metavar="ID", help="Continue after this id (from the previous page).")] = None,
    all_versions: Annotated[bool, typer.Option(
        "--all-versions", help="Include superseded versions.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """List memories, newest first, one page at a time.

    Examples:

      cortex list -n user:ann --limit 10

      cortex list --after 01HZX3J8Q2V5K7M9N0P1R2S3T4 --all-versions
    """
    state = get_state(ctx, json_output)
    # One extra row tells whether there is a next page (the engine caps a page at 1,000).
    fetch = limit + 1 if 0 < limit < MAX_PAGE else limit
    memories = state.engine().list(namespace=namespace, kinds=kind, tags=tag, limit=fetch,
                                   after=after, include_superseded=all_versions)
    more = len(memories) > limit or (fetch == limit and len(memories) == limit)
    memories = memories[:limit]
    next_after = memories[-1].id if more and memories else None
    if state.json:
        state.emit({"memories": [m.model_dump(mode="json") for m in memories],
                    "next_after": next_after})
        return
    state.out.print(render.memories_table(memories))
    if next_after is not None:
        state.out.print(f"next page: --after {next_after}")


def update(
    ctx: typer.Context,
    memory_id: Annotated[str, typer.Argument(metavar="ID", help="The memory to revise.")],
    text: Annotated[str | None, typer.Option(metavar="TEXT", help="New text ('-' reads stdin).")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", "-t", metavar="TAG", help="Replace the tags with these (repeatable).")] = None,
    meta: Annotated[list[str] | None, typer.Option(
        "--meta", "-m", metavar="KEY=VALUE", help="Set these metadata keys (others stay).")
    ] = None,
    importance: Annotated[float | None, typer.Option(metavar="X", help="New importance, 0 to 1.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Write a new version of a memory; the old one stays in its history.

    Examples:

      cortex update 01HZX3J8Q2V5K7M9N0P1R2S3T4 --text "Ann now prefers aisle seats"

      cortex update 01HZX3J8Q2V5K7M9N0P1R2S3T4 --tag travel --meta verified=true
    """
    state = get_state(ctx, json_output)
    if text is None and tag is None and meta is None and importance is None:
        raise InvalidInput("nothing to update: give --text, --tag, --meta or --importance")
    engine = state.engine()
    metadata = None
    if meta:
        metadata = engine.get(memory_id).metadata | parse.meta_pairs(meta)
    memory = engine.update(memory_id, text=None if text is None else parse.text_arg(text),
                           tags=tag, metadata=metadata, importance=importance)
    if state.json:
        state.emit({"memory": memory.model_dump(mode="json")})
    else:
        state.out.print(f"updated {memory.supersedes} -> new version {memory.id}")


def forget(
    ctx: typer.Context,
    memory_ids: Annotated[list[str] | None, typer.Argument(
        metavar="ID", help="Ids to delete (every version of each).")] = None,
    namespace: Annotated[str | None, typer.Option(
        "--namespace", "-n", metavar="NS", help="Filter: memories in this namespace.")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", "-t", metavar="TAG", help="Filter: memories with this tag (repeatable: all must match).")
    ] = None,
    kind: Kinds = None,
    before: Annotated[str | None, typer.Option(
        metavar="TIME", help="Filter: memories that occurred before this time (ISO-8601).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete by filter without asking.")
                   ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Hard-delete memories by id, or every current memory matching all given filters.

    Deleting by filter asks first unless --yes is given (in --json mode --yes is required).

    Examples:

      cortex forget 01HZX3J8Q2V5K7M9N0P1R2S3T4 01HZX3J8Q2V5K7M9N0P1R2S3T5

      cortex forget --namespace scratch --tag draft --yes

      cortex forget --kind episode --before 2023-01-01
    """
    state = get_state(ctx, json_output)
    filters = {"namespace": namespace, "tags": tag, "kinds": kind, "occurred_before": before}
    if memory_ids and any(filters.values()):
        raise typer.BadParameter("give ids or filters, not both")
    if memory_ids:
        deleted = state.engine().forget(memory_ids)
    elif any(filters.values()):
        _confirm(state, filters, yes)
        deleted = state.engine().forget_where(namespace=namespace, tags=tag, kinds=kind,
                                              occurred_before=before)
    else:
        raise typer.BadParameter("give at least one ID or a filter "
                                 "(--namespace, --tag, --kind, --before)")
    if state.json:
        state.emit({"deleted": deleted})
    else:
        state.out.print(f"deleted {render.plural(deleted, 'stored version')} "
                        "(every version of a memory counts)")


def _confirm(state: CliState, filters: dict[str, Any], yes: bool) -> None:
    if yes:
        return
    if state.json:
        raise InvalidInput("deleting by filter in --json mode needs --yes")
    described = ", ".join(f"{key}={value}" for key, value in filters.items() if value)
    typer.confirm(f"Delete every current memory matching {described}?", abort=True,
                  err=True)


def register(app: typer.Typer) -> None:
    app.command()(remember)
    app.command()(recall)
    app.command()(show)
    app.command("list")(list_)
    app.command()(update)
    app.command()(forget)
