"""Human-readable output: rich tables and panels. JSON output never goes through here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from cortex.core.models import CheckReport, Hit, Memory, NamespaceStats, Source

SNIPPET_CHARS = 80
_EXPLAIN_ORDER = ("dense", "dense_rank", "bm25", "bm25_rank", "rrf", "relevance", "recency",
                  "recency_part", "importance", "importance_part", "score")


def when(at: datetime | None) -> str:
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M")


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def source_line(source: Source) -> str:
    fields = source.model_dump(exclude_none=True)
    return " ".join(f"{key}={value}" for key, value in fields.items())


def hits_table(hits: Sequence[Hit]) -> Table:
    table = Table(show_lines=False)
    for name, justify in (("#", "right"), ("score", "right"), ("namespace", "left"),
                          ("kind", "left"), ("when", "left"), ("text", "left"),
                          ("source", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for rank, hit in enumerate(hits, start=1):
        memory = hit.memory
        table.add_row(str(rank), f"{hit.score:.3f}", memory.namespace, memory.kind.value,
                      when(memory.occurred_at or memory.created_at), snippet(memory.text),
                      source_line(memory.source))
    return table


def explain_table(hits: Sequence[Hit]) -> Table:
    """Every signal behind every score, one row per hit (blank where a signal is absent)."""
    present = {key for hit in hits for key in hit.explain}
    keys = [k for k in _EXPLAIN_ORDER if k in present] + sorted(present - set(_EXPLAIN_ORDER))
    table = Table(title="why these ranks")
    table.add_column("#", justify="right")
    for key in keys:
        table.add_column(key, justify="right")
    for rank, hit in enumerate(hits, start=1):
        table.add_row(str(rank), *(_number(hit.explain.get(key)) for key in keys))
    return table


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) >= 1 else f"{value:.4f}"


def memories_table(memories: Sequence[Memory]) -> Table:
    table = Table()
    for name in ("id", "namespace", "kind", "when", "text", "tags"):
        table.add_column(name, no_wrap=name == "id")
    for memory in memories:
        current = memory.valid_to is None
        table.add_row(Text(memory.id, style="" if current else "dim"), memory.namespace,
                      memory.kind.value, when(memory.occurred_at or memory.created_at),
                      snippet(memory.text, 60), ",".join(memory.tags))
    return table


def memory_detail(memory: Memory) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in _detail_rows(memory):
        table.add_row(key, value)
    return table


def _detail_rows(memory: Memory) -> list[tuple[str, str]]:
    rows: list[tuple[str, Any]] = [
        ("id", memory.id), ("namespace", memory.namespace), ("kind", memory.kind.value),
        ("text", memory.text), ("tags", ", ".join(memory.tags)),
        ("metadata", memory.metadata or ""), ("source", source_line(memory.source)),
        ("importance", f"{memory.importance:g}"), ("created", when(memory.created_at)),
        ("occurred", when(memory.occurred_at)), ("valid from", when(memory.valid_from)),
        ("valid to", when(memory.valid_to)), ("expires", when(memory.expires_at)),
        ("supersedes", memory.supersedes or ""), ("superseded by", memory.superseded_by or ""),
    ]
    return [(key, str(value)) for key, value in rows if value not in ("", None)]


def namespaces_table(spaces: Sequence[NamespaceStats]) -> Table:
    table = Table()
    table.add_column("namespace")
    table.add_column("memories", justify="right")
    table.add_column("bytes", justify="right")
    for space in spaces:
        table.add_row(space.namespace, str(space.memories), str(space.bytes))
    return table


def check_lines(report: CheckReport) -> list[str]:
    lines = ["[green]ok[/green]" if report.ok else "[red]PROBLEMS FOUND[/red]"]
    lines += [f"  problem: {p}" for p in report.problems]
    lines += [f"  note: {n}" for n in report.notes]
    lines += [f"  checked {name}: {count}" for name, count in sorted(report.checked.items())]
    return lines
