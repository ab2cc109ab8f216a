"""What every command shares: settings, output mode and the lazily opened engine.

The engine is opened on first use, so ``--help`` and usage errors never touch the store
or the model. Errors are rendered once, by ``CortexGroup.invoke`` around every command.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from cortex.core.config import Settings
from cortex.core.errors import ConfigError, CortexError

if TYPE_CHECKING:
    from cortex.embed import Embedder
    from cortex.engine import Cortex


@dataclass
class CliState:
    """One invocation's context. ``embedder`` lets a host (or a test) share a loaded model."""

    settings: Settings | None = None
    json: bool = False
    embedder: Embedder | None = None
    store_flag: str | None = None  # --store exactly as given on the command line
    _engine: Cortex | None = field(default=None, repr=False)

    @property
    def config(self) -> Settings:
        if self.settings is None:
            self.settings = Settings.load()
        return self.settings

    def engine(self) -> Cortex:
        """The engine for this invocation, opened on first call."""
        if self._engine is None:
            self._engine = self._open()
        return self._engine

    def _open(self) -> Cortex:
        from cortex.audit.events import set_actor
        from cortex.wiring import open_engine

        set_actor("cli")  # audit leaves written by this command name the CLI as the actor
        return open_engine(self.config, self.embedder)

    def override(self, **values: Any) -> None:
        """Change settings before the engine opens (e.g. ``import --batch-size``)."""
        if self._engine is not None:
            raise ConfigError("settings cannot change after the store is open")
        self.settings = self.config.model_copy(update=values)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    # ---- output ------------------------------------------------------------------
    @property
    def out(self) -> Console:
        return Console(highlight=False)

    @property
    def err(self) -> Console:
        return Console(stderr=True, highlight=False)

    def emit(self, payload: dict[str, Any]) -> None:
        """One JSON object (or one line of a JSON-lines stream) on stdout, flushed."""
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        sys.stdout.flush()


JsonFlag = Annotated[bool, typer.Option(
    "--json", show_default=False,
    help="Machine-readable output: one JSON object on stdout (same as the global --json).")]


def get_state(ctx: typer.Context, json_output: bool = False) -> CliState:
    """This invocation's state; a command's own ``--json`` switches JSON output on."""
    state = ctx.ensure_object(CliState)
    state.json = state.json or json_output
    return state


def report_error(state: CliState | None, exc: CortexError) -> None:
    """The CLI's one error renderer: one line on stderr, plus a JSON object in --json mode."""
    message = " ".join(str(exc).split())
    if state is not None and state.json:
        state.emit({"error": {"type": exc.type, "message": message}})
    typer.echo(f"error: {message}", err=True)


class CortexGroup(TyperGroup):
    """The root group: every expected error becomes one line and exit status 1."""

    def invoke(self, ctx: Any) -> Any:  # typer's (vendored click) Context
        try:
            return super().invoke(ctx)
        except CortexError as exc:
            report_error(ctx.find_object(CliState), exc)
            raise typer.Exit(1) from None
