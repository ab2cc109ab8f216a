"""Reading import files into validated ``remember`` items, each tagged with FILE:LINE.

The whole input is read and checked before anything is written: a bad line stops the
import (``ImportFileError``) unless the caller asked to skip bad lines, in which case
each one is reported with its line number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cortex.cli.chunking import chunk_text
from cortex.core import validate
from cortex.core.errors import ImportFileError, InvalidInput
from cortex.core.models import utcnow

FIELDS = frozenset({"text", "namespace", "kind", "metadata", "tags", "source", "importance",
                    "occurred_at", "valid_from", "expires_at", "ttl"})
FORMATS = ("auto", "jsonl", "text")
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
_TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}


@dataclass(frozen=True)
class Entry:
    file: str
    line: int
    item: dict[str, Any]


@dataclass(frozen=True)
class Skipped:
    file: str
    line: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "reason": self.reason}


@dataclass
class ImportPlan:
    entries: list[Entry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class ImportOptions:
    namespace: str | None = None
    kind: str | None = None
    format: str = "auto"
    skip_invalid: bool = False
    max_text_bytes: int = validate.MAX_TEXT_BYTES
    max_metadata_bytes: int = validate.MAX_METADATA_BYTES
    validator: Callable[[Mapping[str, Any]], None] | None = None  # Cortex.validate


def plan_import(paths: list[Path], options: ImportOptions) -> ImportPlan:
    """Every item of every file, checked; raises on the first bad one unless skipping."""
    plan = ImportPlan()
    now = utcnow()
    for path in paths:
        for line, parsed in _read(path, options):
            _admit(plan, str(path), line, parsed, options, now)
    return plan


def _admit(plan: ImportPlan, file: str, line: int, parsed: Parsed, options: ImportOptions,
           now: datetime) -> None:
    try:
        if isinstance(parsed, _Unreadable):
            raise InvalidInput(parsed.reason)
        check_item(parsed, options, now)
    except InvalidInput as exc:
        if not options.skip_invalid:
            raise ImportFileError(f"{file}:{line}: {exc}", file=file, line=line) from None
        plan.skipped.append(Skipped(file, line, str(exc)))
        return
    plan.entries.append(Entry(file, line, parsed))


def check_item(raw: Mapping[str, Any], options: ImportOptions, now: datetime) -> None:
    """The engine's own checks, run per item so errors carry a FILE:LINE."""
    if options.validator is None:
        raise InvalidInput("no validator configured for this import")
    options.validator(raw)


@dataclass(frozen=True)
class _Unreadable:
    """A line that is not a JSON object; carried along so skipping can report it."""

    reason: str


Parsed = dict[str, Any] | _Unreadable


def _read(path: Path, options: ImportOptions) -> list[tuple[int, Parsed]]:
    kind = _format(path, options.format)
    content = _load(path)
    if kind == "jsonl":
        return [(n, _with_defaults(item, options)) for n, item in _jsonl(content)]
    return _text_items(path, content, options)


def _format(path: Path, given: str) -> str:
    if given != "auto":
        return given
    suffix = path.suffix.lower()
    if suffix in _JSONL_SUFFIXES:
        return "jsonl"
    if suffix in _TEXT_SUFFIXES:
        return "text"
    raise ImportFileError(f"{path}: cannot tell the format from the name; "
                          "use --format jsonl or --format text", file=str(path))


def _load(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text ({exc.reason})", file=str(path)) from None
    except OSError as exc:
        raise ImportFileError(f"{path}: {exc.strerror or exc}", file=str(path)) from None


def _jsonl(content: str) -> list[tuple[int, Parsed]]:
    items: list[tuple[int, Parsed]] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if line.strip():
            items.append((number, _object(line)))
    return items


def _object(line: str) -> Parsed:
    try:
        value = json.loads(line)
    except ValueError as exc:
        return _Unreadable(f"invalid JSON ({exc})")
    if not isinstance(value, dict):
        return _Unreadable(f"expected a JSON object, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _with_defaults(item: Parsed, options: ImportOptions) -> Parsed:
    if isinstance(item, _Unreadable):
        return item
    defaults = {"namespace": options.namespace, "kind": options.kind}
    return {k: v for k, v in defaults.items() if v is not None} | item


def _text_items(path: Path, content: str,
                options: ImportOptions) -> list[tuple[int, Parsed]]:
    url = path.resolve().as_uri()
    items: list[tuple[int, Parsed]] = []
    for number, chunk in enumerate(chunk_text(content), start=1):
        item: dict[str, Any] = {
            "text": chunk.text, "kind": options.kind or "document",
            "source": {"url": url}, "metadata": {"file": path.name, "chunk": number}}
        if options.namespace is not None:
            item["namespace"] = options.namespace
        items.append((chunk.line, item))
    return items
