"""SQLite to PostgreSQL and back, against a real server: the same rows, the same audit roots,
the same top hits; resumed after SIGKILL; refusals. Skips loudly without a server (fails
under CI=true)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from cortex import Cortex
from cortex.audit.log import verify_live
from cortex.audit.verify import verify_receipt
from cortex.core.errors import Conflict
from cortex.embed import CachingEmbedder
from cortex.migrate import Options, migrate, open_endpoint
from cortex.store import open_store
from tests import pg
from tests.cli.helpers import cortex_script, script_env

from .helpers import QUERIES, Built, build_source, dump, sealer_at

pg_server = pg.pg_server
pg_url = pg.pg_url


def dumps(a_url: str, a_folder: Path | None, b_url: str, b_folder: Path | None,
          tenants: list[str]) -> tuple[dict, dict]:
    a = open_endpoint(a_url, sealer=None if a_folder is None else sealer_at(a_folder, "pg"))
    b = open_endpoint(b_url, sealer=None if b_folder is None else sealer_at(b_folder, "pg"))
    try:
        return dump(a, tenants), dump(b, tenants)
    finally:
        a.close()
        b.close()


def test_sqlite_to_postgres_and_back(source: Built, pg_url: str, tmp_path: Path,
                                     embedder: CachingEmbedder) -> None:
    keys = tmp_path / "pg-keys"
    pg_audit_key = tmp_path / "pg.audit-key"
    report = migrate(source.url, pg_url, Options(target_sealer=sealer_at(keys, "pg"),
                                                 audit_keys=(source.audit_key, pg_audit_key)))
    assert report.verified is not None and report.audit_key == "copied"
    assert report.verified.tenants["acme"].vault == 1  # subjects and the vault: PostgreSQL keeps them
    mine, theirs = dumps(source.url, None, pg_url, keys, source.tenants)
    assert theirs == mine

    back = tmp_path / "back.db"
    home = migrate(pg_url, f"sqlite:///{back}", Options(source_sealer=sealer_at(keys, "pg"),
                                                        audit_keys=(pg_audit_key, Path(f"{back}.audit-key"))))
    assert home.verified is not None
    again, original = dumps(f"sqlite:///{back}", None, source.url, None, source.tenants)
    assert again == original  # there and back: every row as it was

    pg_store = open_store(pg_url, dim=embedder.dim, sealer=sealer_at(keys, "pg"))
    with Cortex(open_store(source.url, dim=embedder.dim), embedder) as before, \
            Cortex(pg_store, embedder, audit_key=pg_audit_key) as after:
        for query, expected in QUERIES.items():
            top = after.recall(query, tenant="acme", k=3)
            assert top[0].memory.id == before.recall(query, tenant="acme", k=3)[0].memory.id
            assert top[0].memory.text.startswith(expected)
        checked = after.check()
        assert checked.ok, checked.problems  # content hashes, vectors, search vectors as inserts make them
        assert verify_live(after.audit, "acme").leaves == after.store.audit_size("acme")
        verify_receipt(source.receipt, after.audit.signer.verifier())
        assert any(c.note == source.receipt.checkpoint for c in after.store.checkpoints("acme"))
        assert [k.revoked_at is not None for k in after.keys.list("acme")] == [False, True]
        assert after.privacy.export_subject("user:ann", tenant="acme").vault
    with Cortex(open_store(f"sqlite:///{back}", dim=embedder.dim), embedder) as returned:
        assert returned.check().ok
        assert verify_live(returned.audit, "acme").leaves == returned.store.audit_size("acme")


def test_resumes_after_sigkill(tmp_path: Path, pg_url: str, embedder: CachingEmbedder) -> None:
    big = build_source(tmp_path / "big", embedder, bulk=2000, subjects=False)
    env = script_env() | {"CORTEX_MASTER_KEY_FILE": str(tmp_path / "pg.master-key"),
                          "CORTEX_KEYSTORE": str(tmp_path / "pg.keys")}
    run = [cortex_script(), "migrate", "--from", big.url, "--to", pg_url, "--batch", "100", "--json",
           "--to-audit-key", str(tmp_path / "pg.audit-key")]
    with (tmp_path / "killed.log").open("wb") as log, subprocess.Popen(
            run, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=log) as child:
        deadline = time.monotonic() + 60
        while _rows(pg_url) < 200:
            assert child.poll() is None, (tmp_path / "killed.log").read_text()
            assert time.monotonic() < deadline, "nothing was written within 60 s"
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
    assert 200 <= _rows(pg_url) < 2000, "killed too late to test resuming"

    finished = subprocess.run(run, env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr
    assert '"ok": true' in finished.stdout
    mine, theirs = dumps(big.url, None, pg_url, tmp_path, big.tenants)
    assert theirs == mine


def _rows(url: str) -> int:
    """Memories of the bulk tenant, counted by the owner (a superuser here: no row security)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM memories WHERE tenant = 'bulk'").fetchone()
    return 0 if row is None else int(row[0])


def test_refuses_a_different_record_under_the_same_id(source: Built, pg_url: str, tmp_path: Path) -> None:
    keys = tmp_path / "pg-keys"
    migrate(source.url, pg_url, Options(tenants=["globex"], target_sealer=sealer_at(keys, "pg")))
    src = open_endpoint(source.url)
    taken = src.reader.sample_ids("globex", 1)[0]
    src.close()
    with psycopg.connect(pg_url) as conn:  # as if another deployment had written it
        conn.execute("UPDATE memories SET content_hash = 'another' WHERE id = %s", (taken,))
    with pytest.raises(Conflict, match=f"different record under memory id {taken}"):
        migrate(source.url, pg_url, Options(target_sealer=sealer_at(keys, "pg")))
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT count(*) FROM memories WHERE tenant = 'acme'").fetchone()
    assert row == (0,)  # nothing of the other tenants was written either
