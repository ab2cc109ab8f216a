"""``cortex constitution ...``: make, sign, check and apply the signed constitution (k-of-n)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cortex.cli.state import JsonFlag, get_state
from cortex.core.errors import InvalidInput
from cortex.governance.service import governed_errors

constitution_app = typer.Typer(
    help="The signed constitution: roles, retention, privacy actions and limits, signed k-of-n.",
    no_args_is_help=True)

File = Annotated[Path, typer.Argument(help="A constitution file (.json, .yaml or .yml).")]


@constitution_app.command("init")
def init(ctx: typer.Context,
         keys_dir: Annotated[Path, typer.Option(help="Where to write the n signer keys (mode 0600).")],
         out: Annotated[Path, typer.Option(help="Where to write version 1.")] = Path("constitution.v1.json"),
         signers: Annotated[int, typer.Option(help="n: how many signer keys.")] = 3,
         threshold: Annotated[int, typer.Option(help="k: signatures a new version needs.")] = 2,
         json_output: JsonFlag = False) -> None:
    """Make n signer keys and version 1 with safe defaults, signed by all n.

    Hand each key to its holder afterwards: k keys kept together defeat k-of-n.

    Example:

      cortex constitution init --keys-dir keys --signers 3 --threshold 2
    """
    from cortex.governance import dump
    from cortex.governance import init as make

    state = get_state(ctx, json_output)
    with governed_errors():
        envelope = make(keys_dir, signers, threshold)
        dump(envelope, out)
    document = envelope.document()
    state.emit({"file": str(out), "version": 1, "threshold": threshold, "keys": sorted(document.keys)}) \
        if state.json else state.out.print(
            f"wrote {out}: version 1, {threshold}-of-{signers}, keys in {keys_dir}", markup=False)


@constitution_app.command("draft")
def draft(ctx: typer.Context, current: File,
          out: Annotated[Path, typer.Option(help="Where to write the unsigned next version.")],
          new_keys_dir: Annotated[Path | None, typer.Option(
              help="Rotate: make a new key set here (the next version's signers).")] = None,
          signers: Annotated[int | None, typer.Option(help="n of the new key set.")] = None,
          threshold: Annotated[int | None, typer.Option(help="k of the next version.")] = None,
          json_output: JsonFlag = False) -> None:
    """Write the next version (version + 1, new expiry) unsigned, to edit and then sign.

    Example:

      cortex constitution draft constitution.v1.json --out constitution.v2.yaml --new-keys-dir keys2
    """
    from cortex.governance import dump, load
    from cortex.governance.service import draft_next

    state = get_state(ctx, json_output)
    with governed_errors():
        envelope, keys = draft_next(load(current), new_keys_dir=new_keys_dir, signers=signers,
                                    threshold=threshold)
        dump(envelope, out)
    version = envelope.document().version
    state.emit({"file": str(out), "version": version, "new_keys": [str(k) for k in keys]}) \
        if state.json else state.out.print(f"wrote {out}: version {version}, unsigned"
                                           + (f"; {len(keys)} new keys in {new_keys_dir}" if keys else ""),
                                           markup=False)


@constitution_app.command("sign")
def sign(ctx: typer.Context, file: File,
         key: Annotated[Path, typer.Option(help="A signer's private key file.")],
         json_output: JsonFlag = False) -> None:
    """Add one signature to a constitution file, in place.

    Example:

      cortex constitution sign constitution.v2.yaml --key keys/3f2a9c1d5e7b8a60.key
    """
    from cortex.governance import dump, load
    from cortex.governance import sign as add_signature

    state = get_state(ctx, json_output)
    with governed_errors():
        envelope = add_signature(load(file), key)
        dump(envelope, file)
    count = len(envelope.signatures)
    state.emit({"file": str(file), "signatures": count}) if state.json else state.out.print(
        f"signed {file}: {count} signature(s)", markup=False)


@constitution_app.command("verify")
def verify(ctx: typer.Context, file: File,
           trusted: Annotated[Path | None, typer.Option(
               help="The version in force; FILE must be its valid successor.")] = None,
           json_output: JsonFlag = False) -> None:
    """Check signatures, thresholds, version step and expiry, as `apply` would.

    Examples:

      cortex constitution verify constitution.v1.json

      cortex constitution verify constitution.v2.yaml --trusted constitution.v1.json
    """
    from cortex.governance import load, verify_chain, verify_root

    state = get_state(ctx, json_output)
    with governed_errors():
        document = verify_root(load(file)) if trusted is None else verify_chain(load(trusted), load(file))
    line = f"OK: version {document.version}, {document.threshold}-of-{len(document.keys)}, " \
           f"expires {document.expires.isoformat()}"
    state.emit({"ok": True, "version": document.version}) if state.json else state.out.print(
        line, markup=False)


@constitution_app.command("show")
def show(ctx: typer.Context,
         file: Annotated[Path | None, typer.Argument(help="A file; omitted: the version in force.")] = None,
         json_output: JsonFlag = False) -> None:
    """Print a constitution (the one in force for the store by default).

    Example:

      cortex constitution show --json
    """
    from cortex.governance import dumps, load

    state = get_state(ctx, json_output)
    with governed_errors():
        envelope = load(file) if file is not None else state.engine().governance.envelope()
    if envelope is None:
        raise InvalidInput("no constitution has been applied to this store")
    if state.json:
        state.emit(envelope.to_data())
    else:
        state.out.print(dumps(envelope, "yaml"), markup=False, highlight=False)


@constitution_app.command("diff")
def diff(ctx: typer.Context, old: File, new: File, json_output: JsonFlag = False) -> None:
    """What changes between two versions, one line per setting.

    Example:

      cortex constitution diff constitution.v1.json constitution.v2.yaml
    """
    from cortex.governance import diff as changes
    from cortex.governance import load

    state = get_state(ctx, json_output)
    with governed_errors():
        lines = changes(load(old).document(), load(new).document())
    if state.json:
        state.emit({"changes": lines})
    else:
        state.out.print("\n".join(lines) or "no changes", markup=False)


@constitution_app.command("apply")
def apply(ctx: typer.Context, file: File, json_output: JsonFlag = False) -> None:
    """Put a signed version in force for the store (an audit leaf records it).

    Version 1 becomes the pinned root of trust; later versions must be the next version
    and carry k signatures of the old key set and k of the new one.

    Example:

      cortex constitution apply constitution.v2.yaml
    """
    from cortex.governance import load

    state = get_state(ctx, json_output)
    with governed_errors():
        envelope = load(file)
    document = state.engine().governance.apply(envelope)
    state.emit({"applied": document.version}) if state.json else state.out.print(
        f"applied constitution version {document.version}", markup=False)


@constitution_app.command("policies")
def policies(ctx: typer.Context,
             file: Annotated[Path | None, typer.Argument(
                 help="Cedar policies to set for --tenant ('-': stdin; empty: clear).")] = None,
             json_output: JsonFlag = False) -> None:
    """Show, or replace, the tenant's own Cedar policies (forbid only, each with an @id).

    They are added to the policies generated from the constitution for this tenant, so a
    tenant can narrow what the constitution allows but never widen it.

    Examples:

      cortex --tenant acme constitution policies

      cortex --tenant acme constitution policies legal-read-only.cedar
    """
    import sys

    state = get_state(ctx, json_output)
    governance = state.engine().governance
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        governance.set_tenant_policies(state.config.tenant, text)
    current = governance.tenant_policies(state.config.tenant)
    if state.json:
        state.emit({"tenant": state.config.tenant, "policies": current})
    else:
        state.out.print(current or "(no tenant policies)", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(constitution_app, name="constitution")
