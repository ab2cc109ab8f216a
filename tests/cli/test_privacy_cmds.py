"""``cortex privacy scan`` and ``cortex bench privacy`` through the real CLI (in process).

These commands need no store and no model, so they run without the shared embedder.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cortex.cli import app
from cortex.cli.privacy_cmds import mask
from cortex.cli.state import CliState
from tests.cli.helpers import cortex_script, payload, script_env

CARD, MAIL = "4111 1111 1111 1111", "ana@example.org"
TEXT = f"card {CARD}\nmail {MAIL} today\nnothing here\n"


def run(runner: CliRunner, *args: str, input: str | bytes | None = None) -> Result:
    return runner.invoke(app, list(args), input=input, obj=CliState())


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_table_masks_values(runner: CliRunner, sample: Path) -> None:
    result = run(runner, "privacy", "scan", str(sample))
    assert result.exit_code == 0, result.output
    assert "2 findings" in result.stdout and "credit_card" in result.stdout and "email" in result.stdout
    assert "4111***********1111" in result.stdout
    assert CARD not in result.stdout and MAIL not in result.stdout


def test_show_values(runner: CliRunner, sample: Path) -> None:
    result = run(runner, "privacy", "scan", str(sample), "--show-values")
    assert result.exit_code == 0, result.output
    assert CARD in result.stdout and MAIL in result.stdout


def test_json_is_one_document_with_spans_only(runner: CliRunner, sample: Path) -> None:
    result = run(runner, "privacy", "scan", str(sample), "--json")
    assert result.exit_code == 0, result.output
    findings = payload(result)["findings"]
    assert [(f["type"], TEXT[f["start"]:f["end"]]) for f in findings] == [("credit_card", CARD),
                                                                         ("email", MAIL)]
    assert set(findings[0]) == {"type", "start", "end", "confidence", "validator"}
    assert CARD not in result.stdout
    shown = payload(run(runner, "--json", "privacy", "scan", str(sample), "--show-values"))
    assert [f["value"] for f in shown["findings"]] == [CARD, MAIL]


def test_jsonl_one_object_per_line(runner: CliRunner) -> None:
    result = run(runner, "privacy", "scan", "--jsonl", "--show-values", input=TEXT)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["line"] for line in lines] == [1, 2, 3]
    assert [[f["value"] for f in line["findings"]] for line in lines] == [[CARD], [MAIL], []]
    second = lines[1]["findings"][0]
    assert TEXT.splitlines()[1][second["start"]:second["end"]] == MAIL  # offsets within the line


def test_stdin_with_a_dash_and_types(runner: CliRunner) -> None:
    result = run(runner, "privacy", "scan", "-", "--types", "email", "--json", input=TEXT)
    assert result.exit_code == 0, result.output
    assert [f["type"] for f in payload(result)["findings"]] == ["email"]
    groups = run(runner, "privacy", "scan", "--types", "secret,pii", "--json", input=TEXT)
    assert len(payload(groups)["findings"]) == 2


def test_nothing_found(runner: CliRunner) -> None:
    result = run(runner, "privacy", "scan", input="just a quiet afternoon\n")
    assert result.exit_code == 0 and "no findings in stdin" in result.stdout
    assert run(runner, "privacy", "scan", "--fail-on-findings", input="quiet\n").exit_code == 0


def test_fail_on_findings(runner: CliRunner, sample: Path) -> None:
    result = run(runner, "privacy", "scan", str(sample), "--fail-on-findings", "--json")
    assert result.exit_code == 1
    assert len(payload(result)["findings"]) == 2  # the report is still printed


@pytest.mark.parametrize(("args", "stdin", "fragment"), [
    (("privacy", "scan", "/no/such/file.txt"), None, "cannot read /no/such/file.txt"),
    (("privacy", "scan", "--types", "email,e-mail"), "x", "unknown entity type or group 'e-mail'"),
    (("privacy", "scan", "--types", ","), "x", "--types names no entity type"),
    (("privacy", "scan"), b"caf\xe9 latin-1\n", "stdin is not UTF-8 text (invalid byte at offset 3)"),
])
def test_errors_are_one_line(runner: CliRunner, args: tuple[str, ...], stdin: str | bytes | None,
                             fragment: str) -> None:
    result = run(runner, *args, input=stdin)
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert fragment in result.stderr
    if "unknown" in fragment:
        assert "credit_card" in result.stderr and "groups: api_key, pii, secret" in result.stderr


def test_json_and_jsonl_exclude_each_other(runner: CliRunner) -> None:
    result = run(runner, "privacy", "scan", "--json", "--jsonl", input="x")
    assert result.exit_code == 2


def test_scan_opens_no_store(runner: CliRunner, tmp_path: Path, sample: Path) -> None:
    db = tmp_path / "never.db"
    result = run(runner, "--store", f"sqlite:///{db}", "privacy", "scan", str(sample))
    assert result.exit_code == 0, result.output
    assert not db.exists()


def test_the_installed_script_reads_a_pipe(sample: Path) -> None:
    result = subprocess.run([cortex_script(), "privacy", "scan", "--json"], input=sample.read_bytes(),
                            capture_output=True, env=script_env(), timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["findings"]) == 2


def test_mask() -> None:
    assert mask("4111111111111111") == "4111********1111"
    assert mask("hunter2") == "h*****2"
    assert mask("abc") == "***"
    assert len(mask("x" * 500)) == 4 + 16 + 4


def test_bench_privacy_json(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "bench", "privacy", "--json", "--runs", "1", "--data", str(tmp_path / "absent.json"))
    assert result.exit_code == 0, result.output
    report = payload(result)
    assert report["checksum_target_met"] is True
    assert report["sample"].startswith("the privacy corpus")  # LoCoMo absent: the corpus is timed
    assert report["throughput_mb_s"] > 0 and report["throughput_per_message_mb_s"] > 0
    assert report["by_type"]["credit_card"]["recall"] >= 0.95


def test_bench_privacy_table(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "bench", "privacy", "--runs", "1", "--data", str(tmp_path / "absent.json"))
    assert result.exit_code == 0, result.output
    assert "credit_card" in result.stdout and "MB/s" in result.stdout
