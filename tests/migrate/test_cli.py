"""``cortex migrate`` through the real CLI (in-process): output, progress, errors, defaults."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

import cortex.migrate
from cortex.cli import app
from cortex.cli.state import CliState
from cortex.embed import CachingEmbedder

from .helpers import Built


def cli(embedder: CachingEmbedder, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), obj=CliState(embedder=embedder))


def test_json_report_then_the_target_passes_audit_verify(source: Built, tmp_path: Path,
                                                         embedder: CachingEmbedder) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    result = cli(embedder, "migrate", "--from", source.url, "--to", target, "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1  # one JSON document, no progress bars on stdout
    report = json.loads(result.stdout)
    assert report["verification"]["ok"] is True and report["audit_key"] == "copied"
    copied = report["tenants"]["acme"]["memories"]["copied"]
    assert copied == report["verification"]["tenants"]["acme"]["memories"]
    assert report["rows_written"] > 0 and report["dim"] == 384
    assert (tmp_path / "target.db.audit-key").read_bytes() == source.audit_key.read_bytes()
    assert (tmp_path / "target.db.master-key").exists()  # the target seals with its own keys

    for tenant in ("acme", "globex"):
        checked = cli(embedder, "--store", target, "--tenant", tenant, "audit", "verify", "--json")
        assert checked.exit_code == 0, checked.output
        assert json.loads(checked.stdout)["ok"] is True
    again = cli(embedder, "migrate", "--from", source.url, "--to", target, "--verify-only", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["rows_written"] == 0


def test_human_output_and_progress_bars(source: Built, tmp_path: Path, embedder: CachingEmbedder) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    result = cli(embedder, "migrate", "--from", source.url, "--to", target, "--tenant", "acme",
                 "--tenant", "globex", "--batch", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("acme: ") and "globex: " in result.stdout
    assert "verified 2 tenants: counts, audit roots and" in result.stdout
    assert "acme: memories" in result.stderr and "verifying" in result.stderr  # rich bars, on stderr


def test_refusals_and_mismatches_are_one_line_and_exit_1(source: Built, tmp_path: Path,
                                                         embedder: CachingEmbedder) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    same = cli(embedder, "migrate", "--from", source.url, "--to", source.url)
    assert same.exit_code == 1 and same.stderr == "error: --from and --to name the same store\n"
    half = cli(embedder, "migrate", "--from", source.url, "--to", target, "--from-keystore", "x.keys")
    assert half.exit_code == 1 and "go together" in half.stderr
    assert cli(embedder, "migrate", "--from", source.url, "--to", target).exit_code == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "target.db") as conn:
        conn.execute("DELETE FROM api_keys WHERE tenant = 'globex'")
    failed = cli(embedder, "migrate", "--from", source.url, "--to", target, "--verify-only", "--json")
    assert failed.exit_code == 1
    assert failed.stderr == "error: tenant globex: keys differ: source 1, target 0\n"
    assert json.loads(failed.stdout)["error"]["type"] == "cortex/verification-failed"


def test_the_package_exports_what_it_lists() -> None:
    for name in cortex.migrate.__all__:
        assert hasattr(cortex.migrate, name), name
