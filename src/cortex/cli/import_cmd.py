"""``cortex import``: bulk-load JSONL, text and Markdown files, all-or-nothing validation."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cortex.cli.importing import Entry, ImportOptions, ImportPlan, plan_import
from cortex.cli.render import plural
from cortex.cli.state import CliState, JsonFlag, get_state
from cortex.core.errors import ImportFileError, InvalidInput

if TYPE_CHECKING:
    from cortex.core.models import RememberResult


class ImportFormat(StrEnum):
    auto = "auto"
    jsonl = "jsonl"
    text = "text"


def import_(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE...", help="JSONL (.jsonl), text (.txt) or Markdown (.md) files.")],
    namespace: Annotated[str | None, typer.Option(
        "--namespace", "-n", help="Namespace for items that do not name one.")] = None,
    kind: Annotated[str | None, typer.Option(
        help="Kind for items that do not name one (text files default to document).")] = None,
    format_: Annotated[ImportFormat, typer.Option(
        "--format", help="File format; auto goes by the file extension.")] = ImportFormat.auto,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Skip bad lines (reported with line numbers) instead of "
        "stopping before anything is written.")] = False,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, max=10_000, help="Memories per transaction "
        "(default: the batch_size setting).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Bulk-load memories from files, validating ALL input before writing any of it.

    JSONL: one object per line with the fields of `remember` (text, namespace, kind,
    metadata, tags, source, importance, occurred_at, valid_from, expires_at, ttl).
    Text and Markdown: split at headings and paragraphs into chunks of at most ~1,500
    characters (kind document, source.url file://..., metadata file and chunk).

    Each batch is committed on its own; with --json one line per committed batch is
    printed ({"event": "committed", "ids": [...], "count": n}), then a final
    {"event": "done", ...} line.

    Examples:

      cortex import notes.jsonl

      cortex import handbook.md faq.txt -n docs

      cortex import big.jsonl --skip-invalid --batch-size 200 --json
    """
    state = get_state(ctx, json_output)
    if batch_size is not None:
        state.override(batch_size=batch_size)
    plan = plan_import(files, _options(state, namespace, kind, format_, skip_invalid))
    if not state.json:
        for skip in plan.skipped:
            typer.echo(f"skipped {skip.file}:{skip.line}: {skip.reason}", err=True)
    results = _write(state, plan)
    created = sum(1 for r in results if r.created)
    if state.json:
        state.emit({"event": "done", "created": created, "duplicates": len(results) - created,
                    "skipped": [s.as_dict() for s in plan.skipped]})
        return
    state.out.print(f"imported {plural(created, 'new memory', 'new memories')} "
                    f"({plural(len(results) - created, 'duplicate')}, "
                    f"{plural(len(plan.skipped), 'skipped line')})")


def _options(state: CliState, namespace: str | None, kind: str | None, format_: ImportFormat,
             skip_invalid: bool) -> ImportOptions:
    cfg = state.config
    return ImportOptions(namespace=namespace, kind=kind, format=format_.value,
                         skip_invalid=skip_invalid, max_text_bytes=cfg.max_text_bytes,
                         max_metadata_bytes=cfg.max_metadata_bytes,
                         validator=state.engine().validate)


def _write(state: CliState, plan: ImportPlan) -> list[RememberResult]:
    engine = state.engine()
    items = [entry.item for entry in plan.entries]
    try:
        if state.json:
            return engine.remember_many(items, on_batch=lambda batch: _committed(state, batch))
        with _progress_bar(state) as bar:
            task = bar.add_task("importing", total=len(items))
            return engine.remember_many(
                items, progress=lambda done, total: bar.update(task, completed=done))
    except InvalidInput as exc:
        raise _located(exc, plan.entries) from None


def _committed(state: CliState, batch: list[RememberResult]) -> None:
    ids = [result.memory.id for result in batch]
    state.emit({"event": "committed", "ids": ids, "count": len(ids)})


def _located(exc: InvalidInput, entries: list[Entry]) -> InvalidInput:
    """An engine validation error, pointed back at the FILE:LINE it came from."""
    index = exc.detail.get("index")
    if not isinstance(index, int) or not 0 <= index < len(entries):
        return exc
    entry = entries[index]
    return ImportFileError(f"{entry.file}:{entry.line}: {exc}", file=entry.file,
                           line=entry.line)


def _progress_bar(state: CliState) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=state.err)


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
