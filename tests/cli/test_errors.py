"""Every expected error: one line on stderr, exit 1, nothing written, no traceback."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from .conftest import Run

BAD_INPUTS = [
    pytest.param(["show", "NOTAULID"], "cortex/invalid-id", "is not a memory id", id="bad-ulid"),
    pytest.param(["forget", "NOTAULID"], "cortex/invalid-id", "is not a memory id",
                 id="forget-bad-ulid"),
    pytest.param(["update", "NOTAULID", "--text", "x"], "cortex/invalid-id", "not a memory id",
                 id="update-bad-ulid"),
    pytest.param(["show", "01HZX3J8Q2V5K7M9N0P1R2S3T4"], "cortex/memory-not-found",
                 "no memory", id="unknown-id"),
    pytest.param(["remember", "   "], "cortex/invalid-text", "empty", id="empty-text"),
    pytest.param(["remember", "a" * 40_000], "cortex/invalid-text", "the limit is 32768",
                 id="over-limit-text"),
    pytest.param(["remember", "x", "--kind", "banana"], "cortex/invalid-kind", "unknown kind",
                 id="unknown-kind"),
    pytest.param(["remember", "x", "-n", "bad ns!"], "cortex/invalid-namespace",
                 "namespace 'bad ns!' is invalid", id="bad-namespace"),
    pytest.param(["recall", "x", "-k", "0"], "cortex/invalid-query", "k must be", id="k-zero"),
    pytest.param(["recall", "x", "-k", "1001"], "cortex/invalid-query", "k must be",
                 id="k-too-big"),
    pytest.param(["recall", "x", "-n", "nowhere"], "cortex/namespace-not-found",
                 "no memories in namespace", id="unknown-namespace"),
    pytest.param(["list", "--limit", "0"], "cortex/invalid-query", "k must be", id="limit-0"),
    pytest.param(["remember", "x", "--importance", "2"], "cortex/invalid-input", "importance",
                 id="importance"),
    pytest.param(["remember", "x", "--occurred-at", "yesterday"], "cortex/invalid-input",
                 "ISO-8601", id="bad-time"),
    pytest.param(["remember", "x", "--ttl", "1h", "--expires-at", "2031-01-01"],
                 "cortex/invalid-input", "not both", id="ttl-and-expiry"),
    pytest.param(["remember", "x", "--ttl", "soon"], "cortex/invalid-input", "--ttl",
                 id="bad-ttl"),
    pytest.param(["remember", "x", "--metadata-json", "[1]"], "cortex/invalid-metadata",
                 "JSON object", id="metadata-not-object"),
    pytest.param(["remember", "x", "--metadata-json", "{nope"], "cortex/invalid-metadata",
                 "not valid JSON", id="metadata-bad-json"),
    pytest.param(["remember", "x", "--meta", "novalue"], "cortex/invalid-metadata",
                 "KEY=VALUE", id="meta-without-equals"),
    pytest.param(["remember", "x", "--tag", "two words"], "cortex/invalid-input", "tag",
                 id="bad-tag"),
]


def assert_one_line_error(result: Result, fragment: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ") and fragment in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture
def seeded(at: Run) -> Run:
    assert at("remember", "one memory so the store is not empty").exit_code == 0
    return at


@pytest.mark.parametrize(("args", "slug", "fragment"), BAD_INPUTS)
def test_bad_input_is_one_line_and_writes_nothing(
        seeded: Run, count: Callable[[], int], args: list[str], slug: str, fragment: str) -> None:
    before = count()
    result = seeded(*args)
    assert_one_line_error(result, fragment)
    assert result.stdout == ""
    assert count() == before


@pytest.mark.parametrize(("args", "slug", "fragment"), BAD_INPUTS)
def test_bad_input_in_json_mode(seeded: Run, args: list[str], slug: str,
                                fragment: str) -> None:
    result = seeded(*args, "--json")
    assert_one_line_error(result, fragment)
    error = json.loads(result.stdout)["error"]
    assert error["type"] == slug and fragment in error["message"]


def test_global_json_flag_also_renders_errors(cli: Run, store_url: str) -> None:
    result = cli("--json", "--store", store_url, "show", "NOTAULID")
    assert json.loads(result.stdout)["error"]["type"] == "cortex/invalid-id"


def test_file_that_is_not_a_database(cli: Run, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("these are not the pages you are looking for\n" * 50)
    before = garbage.read_bytes()
    result = cli("--store", f"sqlite:///{garbage}", "stats")
    assert_one_line_error(result, "not a database")
    assert garbage.read_bytes() == before
    as_json = cli("--store", f"sqlite:///{garbage}", "stats", "--json")
    assert json.loads(as_json.stdout)["error"]["type"] == "cortex/store-corrupt"


def test_directory_and_unknown_scheme(cli: Run, tmp_path: Path) -> None:
    assert_one_line_error(cli("--store", f"sqlite:///{tmp_path}", "stats"), "directory")
    assert_one_line_error(cli("--store", "mysql://db/x", "stats"), "unknown store URL")


def test_bad_setting_from_environment(cli: Run, store_url: str) -> None:
    result = cli("--store", store_url, "stats", env={"CORTEX_BATCH_SIZE": "lots"})
    assert_one_line_error(result, "CORTEX_BATCH_SIZE")


@pytest.mark.slow
def test_locked_database(at: Run, count: Callable[[], int], store_url: str) -> None:
    assert at("remember", "before the lock").exit_code == 0
    holder = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = at("remember", "while locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_one_line_error(result, "locked")
    assert count() == 1


@pytest.mark.parametrize("args", [
    ["remember"], ["recall"], ["stats", "--no-such-option"], ["no-such-command"],
    ["import", "x.jsonl", "--format", "csv"], ["import", "x.jsonl", "--batch-size", "0"],
])
def test_usage_errors_exit_2(at: Run, args: list[str]) -> None:
    result = at(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
