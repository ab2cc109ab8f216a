"""erase, export, keys rotate-master: subject rights and key management from the shell."""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer

from cortex.cli.service_cmds import keys_app
from cortex.cli.state import JsonFlag, get_state
from cortex.core.errors import InvalidInput, MasterKeyError

Subject = Annotated[str, typer.Option("--subject", metavar="ID", help="The subject id given on remember.")]


def erase(
    ctx: typer.Context,
    subject: Subject,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Erase a subject: every memory about them (all versions), their vectors, full-text
    rows and vault entries, and their data key (crypto-shredding: copies in backups can no
    longer be decrypted). Prints the receipt of the `subject.erase` audit leaf.

    Examples:

      cortex erase --subject user:ann

      cortex --tenant acme erase --subject user:ann --yes --json > erasure.json
    """
    state = get_state(ctx, json_output)
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput("erasure cannot be undone: pass --yes to confirm", field="yes")
        typer.confirm(f"Erase everything about {subject} in tenant {state.config.tenant}?", abort=True)
    erasure = state.engine().privacy.erase_subject(subject, tenant=state.config.tenant)
    if state.json:
        state.emit(erasure.model_dump(mode="json"))
        return
    state.out.print(
        f"erased {erasure.memories} memory versions and {erasure.vault_entries} vault entries of subject "
        f"sha256:{erasure.subject_sha256[:16]}…; data key destroyed\n"
        f"audit leaf {erasure.receipt.leaf_index} ({erasure.receipt.leaf_hash[:16]}…): "
        f"prove it with `cortex audit proof` after the next checkpoint", markup=False)


def export(
    ctx: typer.Context,
    subject: Subject,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE",
                                                help="Write the JSON here instead of stdout.")] = None,
    no_vault: Annotated[bool, typer.Option("--no-vault", help="Leave tokenized originals out.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Export everything kept about a subject as JSON (an access request): every version
    of every memory, and the originals of tokenized values.

    The output is JSON either way (indented; compact on one line with `--json`).

    Examples:

      cortex export --subject user:ann -o ann.json
    """
    state = get_state(ctx, json_output)
    found = state.engine().privacy.export_subject(subject, tenant=state.config.tenant,
                                                  include_vault=not no_vault)
    if state.json and output is None:
        state.emit(found.model_dump(mode="json"))
        return
    text = json.dumps(found.model_dump(mode="json"), indent=2, ensure_ascii=False)
    if output is None:
        state.out.print(text, markup=False, highlight=False, soft_wrap=True)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        state.err.print(f"wrote {len(found.memories)} memories about {subject} to {output}", markup=False)


@keys_app.command("rotate-master")
def rotate_master(
    ctx: typer.Context,
    new_key_file: Annotated[Path | None, typer.Option(
        "--new-key-file", metavar="FILE",
        help="The new master key (base64 of 32 bytes; created when missing). Default: a fresh key "
        "replaces the master key file.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Re-wrap every data key under a new master key; no memory is re-encrypted.

    With the default key file, a fresh key replaces it. With CORTEX_MASTER_KEY, pass
    --new-key-file and then set CORTEX_MASTER_KEY to that file's contents.

    Examples:

      cortex keys rotate-master

      cortex keys rotate-master --new-key-file /run/secrets/cortex-master-2
    """
    from cortex.privacy.keys import KeyStore, LocalMasterKey, write_key_file
    from cortex.wiring import key_paths, open_master_key

    state = get_state(ctx, json_output)
    settings = state.config
    master_file, keystore_path = key_paths(settings)
    current = open_master_key(settings)
    staged: Path | None = None
    if new_key_file is not None:
        new = LocalMasterKey.from_file(new_key_file)
    elif settings.master_key is not None:
        raise MasterKeyError("CORTEX_MASTER_KEY is set: pass --new-key-file FILE, then set "
                             "CORTEX_MASTER_KEY to that file's contents")
    else:
        staged = master_file.with_name(master_file.name + ".new")
        write_key_file(staged, secrets.token_bytes(32))
        new = LocalMasterKey.from_file(staged, create=False)
    keystore = KeyStore(keystore_path, current)
    try:
        count = keystore.rotate_master(new)
    finally:
        keystore.close()
    if staged is not None:  # the keystore is committed under the new key: now the file follows
        os.replace(staged, master_file)
    payload = {"rewrapped": count, "master_key_id": new.key_id, "previous_master_key_id": current.key_id,
               "master_key_file": str(new_key_file or master_file)}
    if state.json:
        state.emit(payload)
        return
    state.out.print(f"re-wrapped {count} data keys under master key {new.key_id} "
                    f"(was {current.key_id}); no memory was re-encrypted", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(erase)
    app.command()(export)
