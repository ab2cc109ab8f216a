"""``cortex session``: the working memory (recent messages) of a conversation.

Working memory is kept in the store's file beside the memories, so a session appended
here is read back by the next command and by `cortex serve` on the same file.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from cortex.cli import parse, render
from cortex.cli.state import JsonFlag, get_state

NOTE = ("Note: sessions are kept in the store's file, shared with `cortex serve`; each keeps "
        "its newest messages within CORTEX_WORKING_MAX_MESSAGES and CORTEX_WORKING_MAX_TOKENS.")

session_app = typer.Typer(
    help="Working memory of a session: its recent messages, kept in the store's file.",
    no_args_is_help=True)

Session = Annotated[str, typer.Argument(help="Session id, e.g. chat-42.")]


@session_app.command(epilog=NOTE)
def append(
    ctx: typer.Context,
    session: Session,
    text: Annotated[str, typer.Argument(help="The message; '-' reads standard input.")],
    role: Annotated[str, typer.Option(help="user, assistant, system or tool.")] = "user",
    speaker: Annotated[str | None, typer.Option(help="Who said it.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Add a message to a session's working memory.

    Example:

      cortex session append chat-42 "I moved to Lisbon" --speaker Ann
    """
    state = get_state(ctx, json_output)
    message = state.engine().session_append(session, parse.text_arg(text), role=role,
                                            speaker=speaker)
    if state.json:
        state.emit(message.model_dump(mode="json"))
    else:
        state.out.print(f"appended {message.id} ({message.tokens} tokens) to {session}",
                        markup=False)


@session_app.command(epilog=NOTE)
def show(ctx: typer.Context, session: Session, json_output: JsonFlag = False) -> None:
    """Show a session's messages, oldest first.

    Example:

      cortex session show chat-42 --json
    """
    state = get_state(ctx, json_output)
    messages = state.engine().session_messages(session)
    if state.json:
        state.emit({"session": session,
                    "messages": [m.model_dump(mode="json") for m in messages]})
        return
    if not messages:
        state.out.print(f"session {session} has no messages", markup=False)
        return
    table = Table()
    for name in ("when", "role", "speaker", "text"):
        table.add_column(name)
    for m in messages:
        table.add_row(render.when(m.at), m.role, Text(m.speaker or ""), Text(m.text))
    state.out.print(table)


@session_app.command(epilog=NOTE)
def clear(ctx: typer.Context, session: Session, json_output: JsonFlag = False) -> None:
    """Drop a session's working memory.

    Example:

      cortex session clear chat-42
    """
    state = get_state(ctx, json_output)
    cleared = state.engine().session_clear(session)
    if state.json:
        state.emit({"session": session, "cleared": cleared})
    else:
        state.out.print(f"cleared {cleared} message(s) from {session}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(session_app, name="session")
