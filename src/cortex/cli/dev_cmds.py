"""``cortex dev``: local services for development (a PostgreSQL with pgvector)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from cortex.cli.state import JsonFlag, get_state
from cortex.core.errors import StoreUnavailable

dev_app = typer.Typer(help="Local services for development: `cortex dev postgres`.", no_args_is_help=True)


@dev_app.command("postgres")
def postgres(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Option(
        "--dir", help="Folder of the server's data, password and log (created and initialised on "
        "first use, reused after).")],
    port: Annotated[int | None, typer.Option(
        "--port", help="Port on 127.0.0.1 (default: the folder's last one, else a free one).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Run a local PostgreSQL with pgvector until Ctrl-C (or SIGTERM), then stop it cleanly.

    The first line on stdout is the connection URL (with --json: {"url": ...}), ready
    for `--store` or CORTEX_STORE_URL. Needs the postgres extra.

    Examples:

      cortex dev postgres --dir .cortex/pg --port 5544

      cortex --store postgresql://postgres:...@127.0.0.1:5544/postgres stats
    """
    from cortex.store.postgres.local import LocalPostgres, binaries

    state = get_state(ctx, json_output)
    binaries()  # the extra is installed, or one clear line naming it
    server = LocalPostgres(folder, port=port)
    stop = threading.Event()
    previous = _on_signals(stop)
    try:
        url = server.start()
        if state.json:
            state.emit({"url": url, "dir": str(server.root), "port": server.port})
        else:
            typer.echo(url)
        version = (server.data / "PG_VERSION").read_text().strip()
        state.err.print(f"PostgreSQL {version} with pgvector in {server.root}"
                        f" (log: {server.log}); Ctrl-C stops it")
        while not stop.wait(0.5):
            if server.wait(0) is not None:
                raise StoreUnavailable(f"PostgreSQL in {server.root} exited on its own; see {server.log}")
    finally:
        status = server.stop()
        _restore(previous)
    if status not in (0, None):
        raise StoreUnavailable(f"PostgreSQL did not stop cleanly (exit status {status}); see {server.log}")
    state.err.print("PostgreSQL stopped")


Handlers = dict[signal.Signals, Callable[[int, FrameType | None], Any] | int | None]


def _on_signals(stop: threading.Event) -> Handlers:
    """SIGINT and SIGTERM end the wait (also while the server is still starting)."""
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}


def _restore(previous: Handlers) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def register(app: typer.Typer) -> None:
    app.add_typer(dev_app, name="dev")
