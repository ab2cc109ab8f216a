"""Human-readable output: rich tables and panels. JSON output never goes through here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from cortex.core.models import CheckReport, Hit, Memory, NamespaceStats, Source

SNIPPET_CHARS = 80
_COMPOSITION = ("relevance", "recency_part", "importance_part")
_NOT_SIGNALS = {"rrf", "relevance", "recency", "recency_part", "importance", "importance_part",
                "score"}


def plural(count: int, singular: str, many: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def when(at: datetime | None) -> str:
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M")


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def source_line(source: Source) -> str:
    fields = source.model_dump(exclude_none=True)
    return " ".join(f"{key}={value}" for key, value in fields.items())


def day(at: datetime | None) -> str:
    return "" if at is None else at.strftime("%Y-%m-%d")


def hits_table(hits: Sequence[Hit]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("namespace", min_width=9, overflow="fold")
    table.add_column("kind", no_wrap=True)
    table.add_column("when", no_wrap=True)
    table.add_column("text", ratio=1, min_width=16)
    table.add_column("source", min_width=6, overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        memory = hit.memory
        table.add_row(str(rank), f"{hit.score:.3f}", Text(memory.namespace), memory.kind.value,
                      day(memory.occurred_at or memory.created_at), Text(snippet(memory.text)),
                      Text(source_line(memory.source)))
    return table


def explain_lines(hits: Sequence[Hit]) -> list[Text]:
    """How each score is made: fused relevance plus recency and importance, then raw signals."""
    lines = [Text("why these ranks (score = relevance + recency + importance):", style="bold")]
    for rank, hit in enumerate(hits, start=1):
        lines.append(Text(f"  #{rank}  {_composition(hit.explain)}   {_signals(hit.explain)}"))
    return lines


def _composition(explain: dict[str, float]) -> str:
    parts = [f"{explain.get(key, 0.0):.3f}" for key in _COMPOSITION]
    return f"{explain.get('score', 0.0):.3f} = " + " + ".join(parts)


def _signals(explain: dict[str, float]) -> str:
    shown = []
    for signal in sorted({key.removesuffix("_rank") for key in explain} - _NOT_SIGNALS):
        if signal in explain:
            rank = explain.get(f"{signal}_rank")
            shown.append(f"{signal} {explain[signal]:.4g}"
                         + ("" if rank is None else f" (rank {int(rank)})"))
    return "  ".join(shown)


def memories_table(memories: Sequence[Memory]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("namespace", min_width=9, overflow="fold")
    table.add_column("when", no_wrap=True)
    table.add_column("text", ratio=1, min_width=16)
    table.add_column("tags", min_width=8, overflow="fold")
    for memory in memories:
        current = memory.valid_to is None
        table.add_row(Text(memory.id, style="" if current else "dim"), Text(memory.namespace),
                      day(memory.occurred_at or memory.created_at),
                      Text(snippet(memory.text, 60)), Text(" ".join(memory.tags)))
    return table


def memory_detail(memory: Memory) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in _detail_rows(memory):
        table.add_row(key, Text(value))
    return table


def _detail_rows(memory: Memory) -> list[tuple[str, str]]:
    rows: list[tuple[str, Any]] = [
        ("id", memory.id), ("namespace", memory.namespace), ("kind", memory.kind.value),
        ("text", memory.text), ("tags", ", ".join(memory.tags)),
        ("metadata", _json(memory.metadata)), ("source", source_line(memory.source)),
        ("importance", f"{memory.importance:g}"), ("created", when(memory.created_at)),
        ("occurred", when(memory.occurred_at)), ("valid from", when(memory.valid_from)),
        ("valid to", when(memory.valid_to)), ("expires", when(memory.expires_at)),
        ("supersedes", memory.supersedes or ""), ("superseded by", memory.superseded_by or ""),
    ]
    return [(key, str(value)) for key, value in rows if value not in ("", None)]


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False) if value else ""


def namespaces_table(spaces: Sequence[NamespaceStats]) -> Table:
    table = Table()
    table.add_column("namespace")
    table.add_column("memories", justify="right")
    table.add_column("bytes", justify="right")
    for space in spaces:
        table.add_row(Text(space.namespace), str(space.memories), str(space.bytes))
    return table


def check_lines(report: CheckReport) -> list[str]:
    lines = ["[green]ok[/green]" if report.ok else "[red]PROBLEMS FOUND[/red]"]
    lines += [f"  problem: {escape(p)}" for p in report.problems]
    lines += [f"  note: {escape(n)}" for n in report.notes]
    lines += [f"  checked {name}: {count}" for name, count in sorted(report.checked.items())]
    return lines
