"""Meta-tests: every command is documented, and the package exports what it says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

import cortex.cli
from cortex.cli import app

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


def command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[str]:
    """Every command and subcommand of the click tree, as ``"session append"`` etc."""
    found = []
    for name, command in sorted(getattr(group, "commands", {}).items()):
        path = (*prefix, name)
        found.append(" ".join(path))
        found += command_paths(command, path)
    return found


def lookup(root: Any, path: str) -> Any:
    command = root
    for part in path.split():
        command = command.commands[part]
    return command


def test_every_command_is_in_the_docs() -> None:
    text = DOCS.read_text()
    paths = command_paths(typer.main.get_command(app))
    assert {"remember", "recall", "import", "session append", "demo"} <= set(paths)
    root = typer.main.get_command(app)
    groups = {p for p in paths if hasattr(lookup(root, p), "commands")}
    missing = [p for p in paths if f"### `cortex {p}`" not in text and p not in groups]
    missing += [p for p in groups if f"`cortex {p}" not in text]
    assert missing == [], f"document these in docs/cli.md: {missing}"


def test_every_command_has_help_with_an_example() -> None:
    root = typer.main.get_command(app)
    for path in command_paths(root):
        command = lookup(root, path)
        assert command.help, path
        if not hasattr(command, "commands") and not path.startswith("bench"):
            assert "cortex " in command.help, f"{path} has no example in its help"


def test_public_names() -> None:
    assert cortex.cli.__all__ == ["app", "main"]
    assert callable(cortex.cli.main)


def test_every_command_accepts_json() -> None:
    root = typer.main.get_command(app)
    for path in command_paths(root):
        command = lookup(root, path)
        if not hasattr(command, "commands"):
            options = {opt for param in command.params for opt in param.opts}
            assert "--json" in options, f"cortex {path} has no --json"
