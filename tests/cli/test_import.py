"""``cortex import``: all-or-nothing validation, --skip-invalid, JSON lines, Markdown chunks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cortex.cli.import_cmd import _located
from cortex.cli.importing import Entry
from cortex.core.errors import ImportFileError, InvalidInput

from .conftest import Run
from .helpers import payload


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_good_jsonl(at: Run, tmp_path: Path, count: Callable[[], int]) -> None:
    data = write_jsonl(tmp_path / "good.jsonl", [
        {"text": "Alpha", "tags": ["a"], "metadata": {"n": 1}},
        "",
        {"text": "Beta", "namespace": "other", "kind": "fact", "occurred_at": "2024-01-02",
         "source": {"speaker": "Ann"}, "importance": 0.9, "valid_from": "2024-01-01"},
        {"text": "Alpha", "tags": ["a"]},
        {"text": "Gamma", "ttl": 3600},
    ])
    result = at("import", str(data), "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "imported 3 new memories (1 duplicate, 0 skipped lines)" in result.stdout
    assert count() == 3
    beta = payload(at("recall", "Beta", "-n", "other", "--json"))["hits"][0]["memory"]
    assert beta["kind"] == "fact" and beta["source"]["speaker"] == "Ann"


def test_json_lines_report_every_committed_batch(at: Run, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "five.jsonl", [{"text": f"item {n}"} for n in range(5)])
    result = at("import", str(data), "--json", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    lines = events(result.stdout)
    committed = [e for e in lines if e["event"] == "committed"]
    assert [e["count"] for e in committed] == [2, 2, 1]
    assert lines[-1] == {"event": "done", "created": 5, "duplicates": 0, "skipped": []}
    for memory_id in (i for e in committed for i in e["ids"]):
        assert at("show", memory_id).exit_code == 0
    assert "importing" not in result.stderr  # no progress bar in --json mode


def test_broken_line_stops_everything(at: Run, tmp_path: Path,
                                      count: Callable[[], int]) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [{"text": "fine"}])
    cases = {
        "{not json": "invalid JSON",
        "[1, 2]": "expected a JSON object, got an array",
        '{"text": ""}': "text is empty",
        '{"text": "x", "colour": "red"}': "unknown field(s): colour",
        '{"text": "x", "kind": "banana"}': "unknown kind",
        '{"text": "x", "namespace": "no spaces"}': "namespace",
    }
    for line, reason in cases.items():
        broken = write_jsonl(tmp_path / "broken.jsonl", [{"text": "ok"}, "", line])
        result = at("import", str(good), str(broken))
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"error: {broken}:3: ") and reason in result.stderr
        assert result.stderr.count("\n") == 1
        assert count() == 0


def test_skip_invalid_reports_line_numbers(at: Run, tmp_path: Path,
                                           count: Callable[[], int]) -> None:
    data = write_jsonl(tmp_path / "mixed.jsonl", [
        {"text": "ok one"}, {"text": ""}, "[1]", "{bad", {"text": "ok two", "x": 1},
        {"text": "ok three"}])
    human = at("import", str(data), "--skip-invalid")
    assert human.exit_code == 0, human.output
    for line in (2, 3, 4, 5):
        assert f"skipped {data}:{line}: " in human.stderr
    assert count() == 2
    again = at("import", str(data), "--skip-invalid", "--json")
    done = events(again.stdout)[-1]
    assert done["created"] == 0 and done["duplicates"] == 2
    assert [s["line"] for s in done["skipped"]] == [2, 3, 4, 5]


def test_markdown_is_chunked(at: Run, tmp_path: Path) -> None:
    long_paragraph = " ".join(f"word{n}" for n in range(600))  # ~4,800 characters
    doc = tmp_path / "guide.md"
    doc.write_text(f"# Guide\n\nIntro paragraph.\n\n## Setup\nInstall it.\n\n{long_paragraph}\n")
    result = at("import", str(doc), "-n", "docs", "--json")
    assert result.exit_code == 0, result.output
    ids = [i for e in events(result.stdout) if e["event"] == "committed" for i in e["ids"]]
    chunks = [payload(at("show", i, "--json"))["memory"] for i in ids]
    assert chunks[0]["text"] == "# Guide\n\nIntro paragraph."
    assert chunks[1]["text"].startswith("## Setup\n\nInstall it.")
    assert all(len(c["text"]) <= 1500 for c in chunks) and len(chunks) >= 5
    words = " ".join(c["text"] for c in chunks).split()
    assert [w for w in words if w.startswith("word")] == long_paragraph.split()
    first = chunks[0]
    assert first["kind"] == "document" and first["namespace"] == "docs"
    assert first["source"]["url"] == doc.resolve().as_uri()
    assert [c["metadata"] for c in chunks[:2]] == [{"file": "guide.md", "chunk": 1},
                                                   {"file": "guide.md", "chunk": 2}]


def test_file_problems(at: Run, tmp_path: Path) -> None:
    missing = at("import", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 1 and "no such file" in missing.stderr
    odd = tmp_path / "data.csv"
    odd.write_text("a,b\n")
    assert "--format" in at("import", str(odd)).stderr
    forced = at("import", str(odd), "--format", "text", "--json")
    assert events(forced.stdout)[-1]["created"] == 1
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert "not UTF-8" in at("import", str(binary)).stderr


def test_engine_errors_are_pointed_at_their_line() -> None:
    entries = [Entry("a.jsonl", 1, {"text": "x"}), Entry("a.jsonl", 4, {"text": "y"})]
    located = _located(InvalidInput("text is bad", index=1), entries)
    assert isinstance(located, ImportFileError) and str(located) == "a.jsonl:4: text is bad"
    unplaced = InvalidInput("no index")
    assert _located(unplaced, entries) is unplaced
