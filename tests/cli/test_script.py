"""The installed ``cortex`` script as a real child process, including a kill -9 mid-import."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from cortex import Cortex
from cortex.embed import CachingEmbedder

from .helpers import cortex_script, script_env


def run(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([cortex_script(), *args], capture_output=True, text=True,
                          env=script_env(), cwd=cwd, timeout=timeout, check=False)


def test_help_and_version_load_nothing(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0 and "remember" in result.stdout
    assert run("--version").stdout.startswith("cortex ")
    assert run("import", "--help", cwd=tmp_path).returncode == 0
    assert list(tmp_path.iterdir()) == []  # no ./cortex.db was opened


def test_remember_and_recall(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'script.db'}"
    made = run("--store", url, "remember", "The cat is called Biscuit", "--json")
    assert made.returncode == 0, made.stderr
    memory_id = json.loads(made.stdout)["memory"]["id"]
    hits = json.loads(run("--store", url, "recall", "cat's name", "--json").stdout)["hits"]
    assert hits[0]["memory"]["id"] == memory_id
    assert memory_id in run("--store", url, "show", memory_id).stdout


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("not a database at all\n" * 100)
    result = run("--store", f"sqlite:///{garbage}", "stats")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "not a database" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    usage = run("recall")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_demo_runs(tmp_path: Path) -> None:
    result = run("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Ingested 41 turns" in result.stdout and "Pepper" in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_kill_9_during_import_keeps_every_committed_batch(tmp_path: Path,
                                                          embedder: CachingEmbedder) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text("".join(
        json.dumps({"text": f"Synthetic memory number {n}: item {n * 7919 % 3001} of the "
                            f"crash test, filed under topic {n % 17}.",
                    "tags": [f"t{n % 5}"], "metadata": {"n": n}}) + "\n"
        for n in range(3_000)))
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    child = subprocess.Popen(
        [cortex_script(), "--store", url, "import", str(big), "--json", "--batch-size", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=script_env())
    committed: list[str] = []
    batches = 0
    assert child.stdout is not None
    for line in child.stdout:
        event = json.loads(line)
        assert event["event"] == "committed", event
        committed += event["ids"]
        batches += 1
        if batches >= 3:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL, "the import finished before it was killed"
    assert len(committed) >= 300

    check = run("--store", url, "check", "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["ok"] is True
    assert run("--store", url, "show", committed[-1]).returncode == 0
    with Cortex.open(url, embedder=embedder) as engine:
        for memory_id in committed:
            assert engine.get(memory_id).id == memory_id
        stored = engine.stats()["memories"]
        assert stored >= len(committed)
        # no memory without its leaf, no leaf without its memory
        assert engine.store.audit_size("default") == stored
    verdict = run("--store", url, "audit", "verify", "--json")
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert json.loads(verdict.stdout)["memories_checked"] == stored
