"""SQLite to SQLite: every table copied, the copy verified, resumed after SIGKILL, refusals."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from cortex import Cortex
from cortex.audit.events import event
from cortex.audit.log import verify_live
from cortex.audit.verify import verify_receipt
from cortex.core.errors import ConfigError, Conflict, NotFound, VerificationFailed
from cortex.core.models import Kind, NewMemory, Source, content_hash, utcnow
from cortex.embed import CachingEmbedder
from cortex.migrate import Options, migrate, open_endpoint, preflight
from cortex.store import open_store
from tests.cli.helpers import cortex_script, script_env

from .helpers import QUERIES, Built, build_source, dump, unit_vectors


def target_at(folder: Path, name: str = "target.db") -> tuple[str, Path]:
    return f"sqlite:///{folder / name}", folder / f"{name}.audit-key"


def dumps(source_url: str, target_url: str, tenants: list[str]) -> tuple[dict, dict]:
    src, dst = open_endpoint(source_url), open_endpoint(target_url)
    try:
        return dump(src, tenants), dump(dst, tenants)
    finally:
        src.close()
        dst.close()


def test_everything_is_copied_and_the_target_works(source: Built, tmp_path: Path,
                                                    embedder: CachingEmbedder) -> None:
    url, audit_key = target_at(tmp_path)
    report = migrate(source.url, url, Options(audit_keys=(source.audit_key, audit_key)))
    assert report.verified is not None and sorted(report.verified.tenants) == sorted(source.tenants)
    acme = report.tenants["acme"].tables
    assert acme["memories"].copied == report.verified.tenants["acme"].memories >= 15
    assert acme["keys"].copied == 2 and acme["checkpoints"].copied == 2 and acme["settings"].copied == 1
    assert report.constitutions.copied == 1 and report.audit_key == "copied"
    assert report.verified.tenants["acme"].vault == 1
    mine, theirs = dumps(source.url, url, source.tenants)
    assert theirs == mine  # every row of every table, opened: text, times, vectors, leaves, keys
    again = migrate(source.url, url, Options(audit_keys=(source.audit_key, audit_key)))
    assert again.rows() == 0 and again.tenants["acme"].tables["memories"].present == acme["memories"].copied
    assert dumps(source.url, url, source.tenants)[1] == theirs

    with Cortex(open_store(source.url, dim=embedder.dim), embedder) as before, \
            Cortex(open_store(url, dim=embedder.dim), embedder) as after:
        for query, expected in QUERIES.items():
            top = after.recall(query, tenant="acme", k=3)
            assert top[0].memory.id == before.recall(query, tenant="acme", k=3)[0].memory.id
            assert top[0].memory.text.startswith(expected)
        assert after.check().ok, after.check().problems
        assert after.history(after.list(namespace="office", tenant="acme")[0].id, tenant="acme")[0].valid_to
        assert after.privacy.export_subject("user:ann", tenant="acme").vault  # the vault opened on the target
        for tenant in ("acme", "globex"):
            assert verify_live(after.audit, tenant).leaves == after.store.audit_size(tenant)
        assert after.audit.public_key() == before.audit.public_key()
        head = verify_receipt(source.receipt, after.audit.signer.verifier())
        assert any(c.note == source.receipt.checkpoint for c in after.store.checkpoints("acme"))
        assert head.size <= after.store.audit_size("acme")
        fresh = after.audit.receipt("acme", source.receipt.memory_id)  # against a newer checkpoint
        assert (fresh.leaf_index, fresh.leaf_hash) == (source.receipt.leaf_index, source.receipt.leaf_hash)
        verify_receipt(fresh, before.audit.signer.verifier())  # clients keep the key they pinned
        assert after.store.get_weights("globex").dense == 0.55
        assert after.store.tenant_policies("acme").startswith('@id("no-legal-writes")')
    again = migrate(source.url, url)  # the target signed checkpoints of its own since: over the same log
    assert again.rows() == 0 and again.verified is not None


def test_one_tenant_only(source: Built, tmp_path: Path) -> None:
    url, _ = target_at(tmp_path)
    report = migrate(source.url, url, Options(tenants=["globex"]))
    assert list(report.tenants) == ["globex"] and report.verified is not None
    target = open_endpoint(url)
    try:
        assert target.reader.tenants() == ["globex"]
        assert target.reader.constitutions() != []  # deployment-wide: always copied
    finally:
        target.close()
    with pytest.raises(NotFound, match="tenant nobody has nothing"):
        migrate(source.url, url, Options(tenants=["nobody"]))


def test_changes_on_the_source_are_caught_up_by_a_rerun(source: Built, tmp_path: Path,
                                                       embedder: CachingEmbedder) -> None:
    url, _ = target_at(tmp_path)
    migrate(source.url, url)
    with Cortex(open_store(source.url, dim=embedder.dim), embedder) as engine:
        current = engine.list(namespace="people", tenant="acme")[0]
        engine.update(current.id, text=current.text + " (confirmed)", tenant="acme")
        for key in engine.keys.list("acme"):
            engine.keys.revoke("acme", key.id)
        engine.remember("Something new for globex.", tenant="globex")
    report = migrate(source.url, url)
    assert report.tenants["acme"].tables["memories"].updated == 1
    assert report.tenants["acme"].tables["memories"].copied == 1
    assert report.tenants["acme"].tables["keys"].updated == 1
    assert report.tenants["globex"].tables["memories"].copied == 1
    mine, theirs = dumps(source.url, url, source.tenants)
    assert theirs == mine


def test_sessions_are_copied_when_asked(source: Built, tmp_path: Path) -> None:
    from cortex.working.base import WorkingMessage
    from cortex.working.sqlite import SQLiteWorkingMemory

    working = SQLiteWorkingMemory(source.path)
    for n in range(3):
        working.append("acme", WorkingMessage(id=f"m{n}", session="s1", role="user", text=f"turn {n}",
                                              speaker="ann", at=utcnow(), tokens=2))
    url, _ = target_at(tmp_path)
    assert migrate(source.url, url).tenants["acme"].tables.get("sessions") is None
    report = migrate(source.url, url, Options(sessions=True))
    assert report.tenants["acme"].tables["sessions"].copied == 3
    assert report.verified is not None and report.verified.tenants["acme"].sessions == 3
    assert [m.text for m in SQLiteWorkingMemory(tmp_path / "target.db").messages("acme", "s1")] == [
        "turn 0", "turn 1", "turn 2"]


def test_resumes_after_sigkill(tmp_path: Path, embedder: CachingEmbedder) -> None:
    big = build_source(tmp_path / "big", embedder, bulk=2000)
    url, _ = target_at(tmp_path)
    target_file = tmp_path / "target.db"
    run = [cortex_script(), "migrate", "--from", big.url, "--to", url, "--batch", "100", "--json"]
    with (tmp_path / "killed.log").open("wb") as log, subprocess.Popen(
            run, env=script_env(), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=log) as child:
        copied = _wait_for_rows(target_file, 200, child, tmp_path / "killed.log")
        os.kill(child.pid, signal.SIGKILL)
    assert child.returncode == -signal.SIGKILL
    assert 200 <= _memories(target_file) < 2000, "killed too late to test resuming"
    assert copied >= 200

    finished = subprocess.run(run, env=script_env(), cwd=tmp_path, capture_output=True, text=True,
                              check=False)
    assert finished.returncode == 0, finished.stderr
    assert '"ok": true' in finished.stdout
    mine, theirs = dumps(big.url, url, big.tenants)
    assert theirs == mine  # the same rows as an uninterrupted run, nothing twice


def _memories(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM memories WHERE tenant = 'bulk'").fetchone()[0])
    except sqlite3.OperationalError:  # not created or not migrated yet
        return 0


def _wait_for_rows(path: Path, rows: int, child: subprocess.Popen[bytes], log: Path) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = _memories(path)
        if found >= rows:
            return found
        if child.poll() is not None:
            pytest.fail(f"the migration exited early: {log.read_text()}")
        time.sleep(0.005)
    pytest.fail("the migration wrote nothing within 60 s")


# ---- refusals and verification failures ---------------------------------------------------
def _memory(memory_id: str, text: str) -> NewMemory:
    now = utcnow()
    return NewMemory(id=memory_id, namespace="ns", kind=Kind.FACT, text=text, metadata={}, tags=[],
                     source=Source(), importance=0.5, created_at=now, occurred_at=None, valid_from=now,
                     expires_at=None, content_hash=content_hash(text))


def _target_rows(url: str) -> tuple[int, int]:
    target = open_endpoint(url)
    try:
        tenants = target.reader.tenants()
        return (sum(target.reader.counts(t).memories for t in tenants),
                sum(target.store.audit_size(t) for t in tenants))
    finally:
        target.close()


def test_refuses_a_different_record_under_the_same_id(source: Built, tmp_path: Path) -> None:
    src = open_endpoint(source.url)
    taken = src.reader.sample_ids("acme", 1)[0]
    src.close()
    url, _ = target_at(tmp_path)
    store = open_store(url, dim=384)
    store.insert("elsewhere", [_memory(taken, "not the same memory")], unit_vectors(1, 384, 1), "m")
    store.close()
    with pytest.raises(Conflict, match=f"different record under memory id {taken}.*nothing was written"):
        migrate(source.url, url)
    assert _target_rows(url) == (1, 1)


def test_refuses_vectors_of_another_dimension(source: Built, tmp_path: Path) -> None:
    url, _ = target_at(tmp_path)
    store = open_store(url, dim=8)
    store.insert("other", [_memory("01J0000000000000000000000X", "eight dims")], unit_vectors(1, 8, 1), "m")
    store.close()
    with pytest.raises(ConfigError, match=r"384 dimensions but .* holds vectors of 8.*nothing was written"):
        migrate(source.url, url)
    assert _target_rows(url) == (1, 1)


def test_refuses_another_log_for_the_same_tenant(source: Built, tmp_path: Path) -> None:
    url, _ = target_at(tmp_path)
    store = open_store(url, dim=384)
    store.record([event("globex", "tenant.policies", utcnow())])
    store.close()
    with pytest.raises(Conflict, match="tenant globex: the target holds a different audit leaf 0"):
        migrate(source.url, url)
    assert _target_rows(url) == (0, 1)


def test_refuses_another_signing_key(source: Built, tmp_path: Path) -> None:
    url, audit_key = target_at(tmp_path)
    audit_key.write_text("someone-else+00000000+AAAA\n")
    with pytest.raises(Conflict, match="audit signing key"):
        migrate(source.url, url, Options(audit_keys=(source.audit_key, audit_key)))
    assert _target_rows(url) == (0, 0)
    audit_key.unlink()
    source.audit_key.rename(tmp_path / "elsewhere.key")  # the source's checkpoints need their key
    with pytest.raises(ConfigError, match="--from-audit-key"):
        migrate(source.url, url, Options(audit_keys=(source.audit_key, audit_key)))
    assert _target_rows(url) == (0, 0)


def test_refuses_subjects_where_the_target_cannot_keep_them(source: Built, tmp_path: Path) -> None:
    """A backend without subjects (as PostgreSQL was before it had them) says so per tenant."""
    url, _ = target_at(tmp_path)
    src, dst = open_endpoint(source.url), open_endpoint(url)
    try:
        dst.subjects = dst.vault = False  # what such a backend's endpoint reports
        with pytest.raises(ConfigError, match="tenant acme has 2 memories with a subject and 1 vault"):
            preflight.check(src, dst, ["globex", "acme"], batch=100)
        preflight.check(src, dst, ["globex"], batch=100)  # a tenant without any is fine
    finally:
        src.close()
        dst.close()


def test_refuses_the_same_store_and_a_missing_source(source: Built, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="same"):
        migrate(source.url, f"sqlite:///{source.path.parent}/../source/source.db")
    with pytest.raises(NotFound, match="no such SQLite file"):
        migrate(f"sqlite:///{tmp_path / 'missing.db'}", target_at(tmp_path)[0])
    assert not (tmp_path / "missing.db").exists()


def test_verify_only_names_the_first_difference(source: Built, tmp_path: Path) -> None:
    url, _ = target_at(tmp_path)
    with pytest.raises(NotFound):
        migrate(source.url, url, Options(verify_only=True))  # nothing there to compare yet
    migrate(source.url, url)
    assert migrate(source.url, url, Options(verify_only=True)).rows() == 0
    with sqlite3.connect(tmp_path / "target.db") as conn:
        conn.execute("DELETE FROM audit_log WHERE tenant = 'globex' AND idx = 0")
    with pytest.raises(VerificationFailed, match=r"^tenant globex: audit leaves differ: source 3, target 2$"):
        migrate(source.url, url, Options(verify_only=True))
    with sqlite3.connect(tmp_path / "target.db") as conn:
        conn.execute("UPDATE vectors SET vector = zeroblob(length(vector)) WHERE seq ="
                     " (SELECT min(seq) FROM memories WHERE tenant = 'acme')")
    with pytest.raises(VerificationFailed, match=r"tenant acme: memory .* differs in vector"):
        migrate(source.url, url, Options(verify_only=True))
