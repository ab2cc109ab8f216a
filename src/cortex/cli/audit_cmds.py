"""``cortex audit ...``: export the tenant's log, prove memories, verify offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cortex.cli.state import CliState, JsonFlag, get_state
from cortex.core.errors import InvalidInput, VerificationFailed
from cortex.core.models import Receipt

audit_app = typer.Typer(help="The tamper-evident audit log: checkpoints, proofs, export, verify.",
                        no_args_is_help=True)

PublicKey = Annotated[str | None, typer.Option(
    "--public-key", help="The server's public key (name+id+base64, from `cortex audit public-key` or "
    "GET /v1/audit/public-key), or a file holding it.")]


@audit_app.command("public-key")
def public_key(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Print the key that signs this store's checkpoints (pin it to verify offline).

    Example:

      cortex audit public-key > cortex.pub
    """
    state = get_state(ctx, json_output)
    key = state.engine().audit.public_key()
    _say(state, {"public_key": key}, key)


@audit_app.command("checkpoint")
def checkpoint(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Sign a checkpoint (tree head) of the tenant's log now, if it grew, and print it.

    Example:

      cortex --tenant acme audit checkpoint
    """
    state = get_state(ctx, json_output)
    head = state.engine().audit.checkpoint(state.config.tenant)
    if head is None:
        raise InvalidInput(f"tenant {state.config.tenant} has no audit log yet")
    _say(state, {"tenant": head.tenant, "size": head.size, "note": head.note}, head.note.rstrip("\n"))


@audit_app.command("proof")
def proof(ctx: typer.Context,
          memory_id: Annotated[str, typer.Argument(help="The memory whose receipt to print.")],
          json_output: JsonFlag = False) -> None:
    """Print a memory's receipt: its leaf, a signed checkpoint and the inclusion proof (JSON).

    Example:

      cortex audit proof 01J9Z6T8K6Q0W4S8M2X1C3V5B7 > receipt.json
    """
    state = get_state(ctx, json_output)
    receipt = state.engine().audit.receipt(state.config.tenant, memory_id)
    state.emit(receipt.model_dump())


@audit_app.command("export")
def export(ctx: typer.Context,
           out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
           json_output: JsonFlag = False) -> None:
    """Write the tenant's whole log as JSON lines (leaves and signed checkpoints).

    Example:

      cortex --tenant acme audit export --out acme-audit.jsonl
    """
    state = get_state(ctx, json_output)
    records = state.engine().audit.export(state.config.tenant)
    handle = out.open("w", encoding="utf-8") if out is not None else sys.stdout
    try:
        count = 0
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if out is not None:
            handle.close()
    if out is not None:
        _say(state, {"exported": count, "file": str(out)}, f"wrote {count} records to {out}")


@audit_app.command("verify")
def verify(ctx: typer.Context,
           export_file: Annotated[Path | None, typer.Argument(
               help="An export to check offline; omitted: the tenant's live log and rows.")] = None,
           key: PublicKey = None, json_output: JsonFlag = False) -> None:
    """Verify a whole log: every leaf, root, signature and checkpoint consistency.

    With EXPORT_FILE it needs only the file and --public-key (no database). Without it,
    it checks the tenant's live log with this store's own key, and every stored memory
    against the content hash its leaf recorded. Exit status 1 names the first bad entry.

    Examples:

      cortex audit verify acme-audit.jsonl --public-key cortex.pub

      cortex --tenant acme audit verify
    """
    from cortex.audit.log import verify_live
    from cortex.audit.verify import verify_export

    state = get_state(ctx, json_output)
    try:
        if export_file is None:
            report = verify_live(state.engine().audit, state.config.tenant)
        else:
            report = verify_export(_records(export_file), _verifier(key))
    except VerificationFailed as exc:
        _verdict(state, False, f"FAILED at {exc.detail.get('where')}: {exc.message}",
                 {"ok": False, "where": exc.detail.get("where"), "error": exc.message})
        raise typer.Exit(1) from None
    rows = f", {report.memories_checked} stored memories match their leaves" if export_file is None else ""
    _verdict(state, True, f"OK: tenant {report.tenant}, {report.leaves} leaves, "
             f"{report.checkpoints} signed checkpoints, all consistent{rows}",
             {"ok": True, "tenant": report.tenant, "leaves": report.leaves,
              "checkpoints": report.checkpoints, "memories_checked": report.memories_checked,
              "notes": report.notes})


@audit_app.command("verify-receipt")
def verify_receipt_cmd(
        ctx: typer.Context,
        receipt_file: Annotated[Path, typer.Argument(help="A receipt (JSON) from `audit proof` or the API.")],
        key: PublicKey = None, json_output: JsonFlag = False) -> None:
    """Verify one receipt offline: event hash, inclusion proof and checkpoint signature.

    Needs no database: only the receipt and the server's public key.

    Example:

      cortex audit verify-receipt receipt.json --public-key cortex.pub
    """
    from cortex.audit.verify import verify_receipt

    state = get_state(ctx, json_output)
    try:
        receipt = Receipt.model_validate_json(_read(receipt_file))
        head = verify_receipt(receipt, _verifier(key))
    except VerificationFailed as exc:
        _verdict(state, False, f"FAILED at {exc.detail.get('where')}: {exc.message}",
                 {"ok": False, "where": exc.detail.get("where"), "error": exc.message})
        raise typer.Exit(1) from None
    except ValueError as exc:  # pydantic: not a receipt
        raise InvalidInput(f"{receipt_file} is not a receipt: {str(exc).splitlines()[0]}") from None
    _verdict(state, True, f"OK: memory {receipt.memory_id} is leaf {receipt.leaf_index} of "
             f"{head.origin}, proven against a signed checkpoint of size {head.size}",
             {"ok": True, "memory_id": receipt.memory_id, "leaf_index": receipt.leaf_index,
              "origin": head.origin, "checkpoint_size": head.size})


def _verifier(key: str | None) -> Any:
    from cortex.audit.verify import verifier_from

    if key is None:
        raise InvalidInput("--public-key is required (the server's key, or a file holding it)")
    path = Path(key)
    text = _read(path) if "+" not in key and path.exists() else key
    return verifier_from(text)


def _records(path: Path) -> Any:
    for number, line in enumerate(_read(path).splitlines(), start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                raise VerificationFailed(f"{path}:{number} is not JSON", where=f"line {number}") from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None


def _verdict(state: CliState, ok: bool, line: str, payload: dict[str, Any]) -> None:
    if state.json:
        state.emit(payload)
    elif ok:
        state.out.print(line, markup=False, soft_wrap=True)
    else:
        typer.echo(line, err=True)


def _say(state: CliState, payload: dict[str, Any], line: str) -> None:
    if state.json:
        state.emit(payload)
    else:
        state.out.print(line, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
