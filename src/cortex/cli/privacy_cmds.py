"""``cortex privacy scan``: find PII and secrets in a file or stdin (no store is opened).

Values are masked (``4111********1111``) unless ``--show-values`` is given; JSON output
carries spans, and the values only with ``--show-values`` too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cortex.cli.state import CliState, JsonFlag, get_state
from cortex.core.errors import InvalidInput
from cortex.privacy.detect import GROUPS, TYPES, Finding, scan

privacy_app = typer.Typer(help="The privacy shield: find PII and secrets in text.",
                          no_args_is_help=True)


@privacy_app.command("scan")
def scan_cmd(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(
        metavar="[FILE|-]", help="The text to scan; - or nothing reads stdin.")] = "-",
    types: Annotated[str | None, typer.Option(
        "--types", metavar="A,B", show_default=False,
        help=f"Only these entity types or groups ({', '.join(sorted(GROUPS))}), comma-separated.")
    ] = None,
    jsonl: Annotated[bool, typer.Option(
        "--jsonl", help="One JSON object per input line: {line, findings}, spans within the line.")
    ] = False,
    show_values: Annotated[bool, typer.Option(
        "--show-values", help="Print the values themselves (masked otherwise).")] = False,
    fail_on_findings: Annotated[bool, typer.Option(
        "--fail-on-findings", help="Exit 1 when anything is found (for CI).")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Find PII and secrets (emails, cards, IBANs, tokens, keys...) in FILE or stdin.

    Prints a table of type, span, confidence, validator and the masked value; --json
    prints {"findings": [...]} for the whole input, --jsonl one object per input line
    (each line scanned on its own). Exit status 0 whether or not anything is found,
    unless --fail-on-findings. Opens no store.

    Examples:

      cortex privacy scan notes.txt

      git diff | cortex privacy scan --types secret --fail-on-findings

      cortex privacy scan export.jsonl --jsonl --types email,phone
    """
    state = get_state(ctx, json_output)
    if state.json and jsonl:
        raise typer.BadParameter("--json and --jsonl exclude each other", param_hint="--jsonl")
    wanted = [name.strip() for name in types.split(",") if name.strip()] if types is not None else None
    if wanted is not None and not wanted:
        raise InvalidInput(f"--types names no entity type; known: {', '.join(sorted(TYPES))}")
    text = _read(file)
    found = _scan_lines(state, text, wanted, show_values) if jsonl else _scan_all(
        state, text, wanted, show_values, file)
    if fail_on_findings and found:
        raise typer.Exit(1)


def _scan_all(state: CliState, text: str, wanted: list[str] | None, show: bool, name: str) -> int:
    findings = scan(text, wanted)
    if state.json:
        state.emit({"findings": [_record(text, f, show) for f in findings]})
    elif not findings:
        state.out.print(f"no findings in {_label(name)}", markup=False)
    else:
        state.out.print(_table(text, findings, show, _label(name)))
    return len(findings)


def _scan_lines(state: CliState, text: str, wanted: list[str] | None, show: bool) -> int:
    total = 0
    for number, line in enumerate(text.splitlines(), start=1):
        findings = scan(line, wanted)
        total += len(findings)
        state.emit({"line": number, "findings": [_record(line, f, show) for f in findings]})
    return total


def _record(text: str, finding: Finding, show: bool) -> dict[str, Any]:
    record: dict[str, Any] = finding.model_dump()
    if show:
        record["value"] = text[finding.start:finding.end]
    return record


def _table(text: str, findings: list[Finding], show: bool, name: str) -> Table:
    table = Table(title=f"{len(findings)} finding{'s' if len(findings) != 1 else ''} in {name}")
    for column in ("line", "type", "span", "confidence", "validator", "value"):
        table.add_column(column, justify="right" if column in ("line", "confidence") else "left")
    for f in findings:
        value = text[f.start:f.end]
        table.add_row(str(text.count("\n", 0, f.start) + 1), f.type, f"{f.start}-{f.end}",
                      f"{f.confidence:.2f}", f.validator, value if show else mask(value))
    return table


def mask(value: str) -> str:
    """The first and last four characters of a long value, stars between (at most 16)."""
    keep = 4 if len(value) >= 12 else 1 if len(value) >= 6 else 0
    middle = "*" * min(len(value) - 2 * keep, 16)
    return (value[:keep] + middle + value[len(value) - keep:]).replace("\n", " ") if keep else middle


def _label(name: str) -> str:
    return "stdin" if name == "-" else name


def _read(file: str) -> str:
    if file == "-":
        raw = typer.get_binary_stream("stdin").read()
    else:
        try:
            raw = Path(file).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{_label(file)} is not UTF-8 text (invalid byte at offset {exc.start}); "
                           "convert it first, e.g. iconv -f latin1 -t utf-8") from None


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")


__all__ = ["mask", "privacy_app", "register"]
