"""The audit log over a real store: every change is a leaf, receipts and exports verify
offline, and altering one byte of a row or a leaf is caught and named."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest

from cortex import Cortex
from cortex.audit.events import acting_as
from cortex.audit.log import verify_live
from cortex.audit.verify import verify_export, verify_receipt
from cortex.core.errors import VerificationFailed
from cortex.core.models import Receipt


def actions(mem: Cortex, tenant: str = "default") -> list[dict[str, object]]:
    size = mem.store.audit_size(tenant)
    return [json.loads(leaf.event) for leaf in mem.store.audit_leaves(tenant, 0, size)]


def test_every_change_appends_a_leaf_without_the_text(mem: Cortex) -> None:
    with acting_as("key:abc123"):
        first = mem.remember("Ann's passport number is X1234567", namespace="user:ann")
        newer = mem.update(first.memory.id, text="Ann's passport was renewed")
        mem.remember("short-lived", ttl=0.001)
        mem.forget(newer.id)
        issued = mem.keys.create("default", "reader")
        mem.keys.revoke("default", issued.record.id)
    import time

    time.sleep(0.01)
    mem.sweep()
    log = actions(mem)
    assert [e["action"] for e in log] == ["memory.remember", "memory.update", "memory.remember",
                                          "memory.forget", "memory.forget", "key.create", "key.revoke",
                                          "memory.expire"]
    assert {e["actor"] for e in log[:7]} == {"key:abc123"} and log[7]["actor"] == "library"
    assert log[1]["detail"] == {"kind": "episode", "supersedes": first.memory.id}
    assert all("passport" not in json.dumps(e) for e in log)
    assert log[0]["content_hash"] == first.memory.content_hash


def test_remember_returns_a_receipt_that_verifies_once_proven(mem: Cortex) -> None:
    result = mem.remember("Caroline went to the support group on 7 May 2023")
    assert result.receipt is not None and result.receipt.leaf_index == 0
    assert result.receipt.proof is None  # a proof needs a checkpoint: ask the log
    for n in range(6):
        mem.remember(f"later memory {n}")
    receipt = mem.audit.receipt("default", result.memory.id)
    head = verify_receipt(receipt, mem.audit.signer.verifier())
    assert head.size == 7 and head.origin == "cortex-audit/default"


def test_a_tampered_receipt_fails_with_the_reason(mem: Cortex) -> None:
    mem.remember("one")
    good = mem.audit.receipt("default", mem.remember("two").memory.id)
    key = mem.audit.signer.verifier()
    changes = {
        "leaf_hash": {"event": good.event.replace('"library"', '"mallory"')},
        "proof": {"proof": [good.proof[0][::-1]] if good.proof else ["AA=="]},
        "checkpoint of default": {"checkpoint": (good.checkpoint or "").replace("\n2\n", "\n3\n")},
        "event": {"memory_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
    }
    for where, change in changes.items():
        with pytest.raises(VerificationFailed) as failed:
            verify_receipt(Receipt(**{**good.model_dump(), **change}), key)
        assert failed.value.detail["where"] == where


def test_successive_checkpoints_are_consistent_and_exports_verify(mem: Cortex) -> None:
    sizes = []
    for round_ in range(4):
        mem.remember_many([{"text": f"round {round_} item {n}"} for n in range(round_ * 3 + 1)])
        head = mem.audit.checkpoint("default")
        assert head is not None
        sizes.append(head.size)
    assert sizes == [1, 5, 12, 22]
    proof = mem.audit.consistency("default", 5, 22)
    assert proof["from"] == 5 and len(proof["proof"]) > 0
    report = verify_export(mem.audit.export("default"), mem.audit.signer.verifier())
    assert (report.leaves, report.checkpoints) == (22, 4)
    assert verify_live(mem.audit, "default").memories_checked == 22


def test_tenants_have_separate_logs_and_origins(mem: Cortex) -> None:
    mem.remember("acme thing", tenant="acme")
    mem.remember("globex thing", tenant="globex")
    mem.remember("globex other", tenant="globex")
    assert (mem.store.audit_size("acme"), mem.store.audit_size("globex")) == (1, 2)
    head = mem.audit.checkpoint("acme")
    assert head is not None and head.note.startswith("cortex-audit/acme\n1\n")


def test_flipping_one_byte_of_a_row_or_a_leaf_is_named(tmp_path: Path, embedder: object) -> None:
    url = f"sqlite:///{tmp_path / 'flip.db'}"
    with Cortex.open(url, embedder=embedder) as mem:  # type: ignore[arg-type]
        ids = [mem.remember(f"memory number {n}").memory.id for n in range(5)]
        mem.audit.checkpoint("default")
    raw = sqlite3.connect(tmp_path / "flip.db")
    raw.execute("UPDATE memories SET text = 'memory number 9' WHERE id = ?", (ids[2],))
    raw.commit()
    with Cortex.open(url, embedder=embedder) as mem:  # type: ignore[arg-type]
        with pytest.raises(VerificationFailed) as failed:
            verify_live(mem.audit, "default")
        assert failed.value.detail["where"] == f"memory {ids[2]}"
    raw.execute("UPDATE memories SET text = 'memory number 2' WHERE id = ?", (ids[2],))
    event = raw.execute("SELECT event FROM audit_log WHERE idx = 3").fetchone()[0]
    raw.execute("UPDATE audit_log SET event = ? WHERE idx = 3", (event.replace("library", "librarz"),))
    raw.commit()
    raw.close()
    with Cortex.open(url, embedder=embedder) as mem:  # type: ignore[arg-type]
        with pytest.raises(VerificationFailed) as failed:
            verify_live(mem.audit, "default")
        assert failed.value.detail["where"] == "leaf 3"


def test_a_rewritten_leaf_with_a_matching_hash_breaks_the_signed_root(tmp_path: Path,
                                                                      embedder: object) -> None:
    import hashlib

    url = f"sqlite:///{tmp_path / 'forge.db'}"
    with Cortex.open(url, embedder=embedder) as mem:  # type: ignore[arg-type]
        for n in range(4):
            mem.remember(f"fact {n}")
        mem.audit.checkpoint("default")
    raw = sqlite3.connect(tmp_path / "forge.db")
    event = raw.execute("SELECT event FROM audit_log WHERE idx = 1").fetchone()[0]
    forged = event.replace('"library"', '"mallory"')
    raw.execute("UPDATE audit_log SET event = ?, leaf_hash = ? WHERE idx = 1",
                (forged, hashlib.sha256(b"\x00" + forged.encode()).digest()))
    raw.commit()
    raw.close()
    with Cortex.open(url, embedder=embedder) as mem:  # type: ignore[arg-type]
        with pytest.raises(VerificationFailed) as failed:
            verify_live(mem.audit, "default")
        assert failed.value.detail["where"] == "checkpoint 4"


def test_the_signing_key_lives_outside_the_database_with_mode_0600(mem: Cortex) -> None:
    key = mem.audit.public_key()
    path = mem.audit_key_path()
    assert path.name.endswith(".audit-key") and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with Cortex.open(mem.store.url, embedder=mem.embedder) as again:
        assert again.audit.public_key() == key  # the same key on the next start
