"""``cortex migrate``: copy tenants between stores (SQLite and PostgreSQL, either way)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from cortex.cli.render import plural
from cortex.cli.state import CliState, JsonFlag, get_state

if TYPE_CHECKING:
    from cortex.migrate import Options, Report
    from cortex.privacy.sealing import Sealer


def migrate(
    ctx: typer.Context,
    source: Annotated[str, typer.Option(
        "--from", metavar="URL", show_default=False, help="The store to copy from (it is only read).")],
    target: Annotated[str, typer.Option(
        "--to", metavar="URL", show_default=False,
        help="The store to copy into (created and migrated if needed).")],
    tenants: Annotated[list[str] | None, typer.Option(
        "--tenant", metavar="T", show_default=False,
        help="Copy only this tenant (repeatable; default: every tenant of the source).")] = None,
    batch: Annotated[int, typer.Option(
        "--batch", min=1, max=100_000, help="Rows per transaction.")] = 1000,
    verify_only: Annotated[bool, typer.Option(
        "--verify-only", help="Copy nothing: compare counts, audit roots and sampled memories.")] = False,
    sessions: Annotated[bool, typer.Option(
        "--sessions", help="Also copy working memory (recent session messages).")] = False,
    from_master_key_file: Annotated[Path | None, typer.Option(
        "--from-master-key-file", metavar="FILE", show_default=False,
        help="The source's master key file (default: <db>.master-key beside a SQLite source).")] = None,
    from_keystore: Annotated[Path | None, typer.Option(
        "--from-keystore", metavar="FILE", show_default=False,
        help="The source's keystore (default: <db>.keys beside a SQLite source).")] = None,
    from_audit_key: Annotated[Path | None, typer.Option(
        "--from-audit-key", metavar="FILE", show_default=False,
        help="The source's audit signing key (default: <db>.audit-key beside a SQLite source, "
        "else ./cortex-audit.key).")] = None,
    to_audit_key: Annotated[Path | None, typer.Option(
        "--to-audit-key", metavar="FILE", show_default=False,
        help="Where the target's engine finds its signing key (default: CORTEX_AUDIT_KEY_FILE, "
        "else beside a SQLite target, else ./cortex-audit.key).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Copy a tenant, or everything, from one store to another, then verify the copy.

    Memories with every version, their vectors (no embedding again), tags and vault
    items; the audit log leaf for leaf with its signed checkpoints (the Merkle roots stay
    the same) and the key that signs them; API keys with their secret hashes; fusion
    weights, tenant policies and the constitutions. Text is opened with the source's keys
    and sealed with the target's, found as every command finds them (CORTEX_MASTER_KEY,
    CORTEX_KEYSTORE, else key files beside a SQLite target). Each batch commits on its
    own: run the same command again to resume an interrupted copy, nothing is copied
    twice. It ends by comparing, per tenant, the row counts, the audit roots and a sample
    of memories field by field; exit 1 names the first difference. A target that cannot
    take the data, or that holds a different record under one of the source's ids, is
    refused before anything is written.

    Examples:

      cortex migrate --from sqlite:///agent.db --to postgresql://cortex@db/cortex

      cortex migrate --from postgresql://cortex@db/cortex --to sqlite:///acme.db --tenant acme

      cortex migrate --from sqlite:///agent.db --to postgresql://cortex@db/cortex --verify-only --json
    """
    from cortex.migrate import migrate as run

    state = get_state(ctx, json_output)
    options = _options(state, target, tenants or [], batch, verify_only, sessions)
    options.source_sealer = _source_sealer(from_master_key_file, from_keystore)
    options.audit_keys = _audit_keys(state, source, target, from_audit_key, to_audit_key)
    if state.json:
        report = run(source, target, options)
        state.emit(report.as_dict())
        return
    bars = _Bars(state)
    options.progress = bars
    try:
        report = run(source, target, options)
    finally:
        bars.close()
    _say(state, report)


def _options(state: CliState, target: str, tenants: list[str], batch: int, verify_only: bool,
             sessions: bool) -> Options:
    """The target's keys come from settings, as for every command on that store."""
    from cortex.migrate import Options
    from cortex.wiring import open_sealer

    target_settings = state.config.model_copy(update={"store_url": target})
    return Options(tenants=tenants, batch=batch, sessions=sessions, verify_only=verify_only,
                   target_sealer=open_sealer(target_settings))


def _source_sealer(master_file: Path | None, keystore: Path | None) -> Sealer | None:
    """The source's keys: the given files, else the store's own defaults (beside a SQLite file)."""
    if master_file is None and keystore is None:
        return None
    from cortex.core.errors import ConfigError
    from cortex.privacy.keys import KeyStore, LocalMasterKey
    from cortex.privacy.sealing import Sealer

    if master_file is None or keystore is None:
        raise ConfigError("--from-master-key-file and --from-keystore go together")
    return Sealer(KeyStore(keystore, LocalMasterKey.from_file(master_file, create=False)))


def _audit_keys(state: CliState, source: str, target: str, from_key: Path | None,
                to_key: Path | None) -> tuple[Path, Path]:
    from cortex.migrate.signing_key import default_path

    return (from_key or default_path(source), to_key or default_path(target, state.config.audit_key_file))


class _Bars:
    """Rich progress bars on stderr, one per tenant and table, each made when its task first
    reports (nothing is drawn for a run refused before copying)."""

    def __init__(self, state: CliState) -> None:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        self.progress = Progress(*columns, console=state.err)
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, task: str, done: int, total: int) -> None:
        if not self.tasks:
            self.progress.start()
        if task not in self.tasks:
            self.tasks[task] = self.progress.add_task(task, total=total)
        self.progress.update(self.tasks[task], completed=done, total=total)

    def close(self) -> None:
        if self.tasks:
            self.progress.stop()


def _say(state: CliState, report: Report) -> None:
    out = state.out
    for tenant, copy in report.tenants.items():
        parts = [f"{t.copied} {name.replace('_', ' ')}" + (f" (+{t.present} there)" if t.present else "")
                 for name, t in copy.tables.items() if t.copied or t.present]
        out.print(f"{tenant}: " + (", ".join(parts) or "nothing to copy"), markup=False)
    if report.tenants:
        rate = report.rows() / report.copy_seconds if report.copy_seconds else 0.0
        out.print(f"wrote {plural(report.rows(), 'row')} in {report.copy_seconds:.1f} s ({rate:,.0f} rows/s);"
                  f" audit signing key: {report.audit_key}")
    checked = report.verified
    if checked is not None:
        out.print(f"verified {plural(len(checked.tenants), 'tenant')}: counts, audit roots and "
                  f"{plural(checked.sampled, 'sampled memory', 'sampled memories')} match "
                  f"({report.source} -> {report.target})", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(migrate)
