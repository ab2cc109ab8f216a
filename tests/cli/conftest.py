"""CLI fixtures: the real app in-process (typer's CliRunner) on real SQLite files.

Each invocation gets a fresh ``CliState`` that carries the session's already-loaded
embedding model, so a test pays for opening the store, not for loading the model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cortex.cli import app
from cortex.cli.state import CliState
from cortex.embed import CachingEmbedder

Run = Callable[..., Result]


@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner: CliRunner, embedder: CachingEmbedder) -> Run:
    """``cli("--store", url, "stats", "--json")`` runs the app in this process."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        state = CliState(embedder=embedder)
        return runner.invoke(app, list(args), input=input, obj=state, env=env)

    return run


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def at(cli: Run, store_url: str) -> Run:
    """Like ``cli`` with ``--store`` already given: ``at("remember", "hello")``."""

    def run(*args: str, **kwargs: Any) -> Result:
        return cli("--store", store_url, *args, **kwargs)

    return run


@pytest.fixture
def count(at: Run) -> Callable[[], int]:
    """How many memories the tenant holds right now (through ``stats --json``)."""

    def memories() -> int:
        result = at("stats", "--json")
        assert result.exit_code == 0, result.output
        return int(json.loads(result.stdout)["memories"])

    return memories
