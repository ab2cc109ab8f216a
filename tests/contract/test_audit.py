"""The audit log and API keys on both backends: the same leaves, sizes and proofs.

A leaf's event carries its time and the backend's ULIDs, so the two logs never have the
same bytes or roots. What must match: the sequence of events (action, actor, tenant,
content hash, namespace, detail) with ids named alike and times left out; the leaf
indexes; the checkpoint sizes; the shape of every proof. And every receipt, inclusion
proof, consistency proof and exported log must verify on each side with the one signing
key both engines use.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from cortex.audit import merkle
from cortex.audit.checkpoint import open_signed
from cortex.audit.events import acting_as, current_actor
from cortex.audit.log import verify_live
from cortex.audit.verify import verify_export, verify_receipt
from cortex.core.errors import KeyNotFound, MemoryNotFound, NotFound, Unauthenticated
from tests.contract.twins import Pair


def _events(pair: Pair, side: int, tenant: str = "default") -> list[dict[str, Any]]:
    store = pair.engines[side].store
    return [pair.event(side, leaf.event) for leaf in store.audit_leaves(tenant, 0, store.audit_size(tenant))]


def _same_log(pair: Pair, tenant: str = "default") -> list[dict[str, Any]]:
    first, second = _events(pair, 0, tenant), _events(pair, 1, tenant)
    assert first == second
    return first


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_every_change_appends_the_same_leaves(pair: Pair) -> None:
    with acting_as("key:contract"):
        pair.write(lambda mem, _: mem.remember("Ann's passport number is X1234567", namespace="ann"))
        pair.write(lambda mem, my: mem.update(my("m0"), text="Ann's passport was renewed"))
        pair.write(lambda mem, _: mem.remember_many([{"text": "short-lived", "ttl": 0.05},
                                                     {"text": "kept", "kind": "fact"}]))
        pair.same(lambda mem, my: mem.forget(my("m1")))
        pair.write(lambda mem, _: mem.keys.create("default", "reader", name="ci"), prefix="k")
        pair.same(lambda mem, my: mem.keys.revoke("default", my("k0")))
        pair.same(lambda mem, _: mem.forget_where(kinds=["fact"]))
    time.sleep(0.06)
    pair.same(lambda mem, _: mem.sweep())
    log = _same_log(pair)
    assert [e["action"] for e in log] == [
        "memory.remember", "memory.update", "memory.remember", "memory.remember", "memory.forget",
        "memory.forget", "key.create", "key.revoke", "memory.forget", "memory.expire"]
    assert [e["memory_id"] for e in log if "memory_id" in e] == [
        "m0", "m1", "m2", "m3", "m0", "m1", "m3", "m2"]
    # the sweep runs outside acting_as: whoever the process acts as (library, or cli after
    # an in-process CLI test set it), the same on both sides
    assert {e["actor"] for e in log[:-1]} == {"key:contract"} and log[-1]["actor"] == current_actor()
    assert all("passport" not in json.dumps(e) for e in log)


def test_receipts_and_inclusion_proofs_verify_on_both(pair: Pair) -> None:
    results = pair.write(lambda mem, _: mem.remember_many([{"text": f"fact number {n}"}
                                                           for n in range(7)]))
    assert [r.receipt.leaf_index for r in results if r.receipt] == list(range(7))
    duplicate = pair.write(lambda mem, _: mem.remember("fact number 3"))
    assert duplicate.receipt is not None and duplicate.receipt.leaf_index == 3
    pair.write(lambda mem, my: mem.update(my("m5"), text="fact number five"))  # m7, leaf 7
    for side, engine in enumerate(pair.engines):
        verifier = engine.audit.signer.verifier()
        for name, index in (("m0", 0), ("m3", 3), ("m6", 6), ("m7", 7)):
            receipt = engine.audit.receipt("default", pair.id(side, name))
            assert receipt.leaf_index == index
            head = verify_receipt(receipt, verifier)
            assert (head.size, head.origin) == (8, "cortex-audit/default")
    pair.same(lambda mem, my: [mem.audit.receipt("default", my(n)) for n in ("m0", "m5", "m7")])
    pair.same(lambda mem, my: mem.audit.receipts_for("default", [my("m1"), my("m2")]))
    assert pair.fails(lambda mem, _: mem.audit.receipt("default", "01J00000000000000000000000")) \
        is MemoryNotFound


def test_checkpoints_and_consistency_proofs_verify_on_both(pair: Pair) -> None:
    pair.write(lambda mem, _: mem.remember_many([{"text": f"first batch {n}"} for n in range(5)]))
    first = pair.each(lambda mem, _: mem.audit.checkpoint("default"))
    assert [c.size for c in first if c] == [5, 5]
    assert pair.each(lambda mem, _: mem.audit.checkpoint("default").size) == (5, 5)  # no growth
    pair.write(lambda mem, _: mem.remember_many([{"text": f"second batch {n}"} for n in range(17)]))
    pair.same(lambda mem, my: mem.forget(my("m2")))
    second = pair.each(lambda mem, _: mem.audit.checkpoint("default"))
    assert [c.size for c in second if c] == [23, 23]
    for side, engine in enumerate(pair.engines):
        verifier = engine.audit.signer.verifier()
        old, new = first[side], second[side]
        assert old is not None and new is not None
        for head in (old, new):
            parsed = open_signed(head.note, [verifier], origin="cortex-audit/default")
            assert (parsed.size, parsed.root) == (head.size, head.root)
        proof = engine.audit.consistency("default", 5, 23)
        assert _b64(proof["from_root"]) == old.root and _b64(proof["to_root"]) == new.root
        merkle.verify_consistency(5, 23, old.root, new.root, [_b64(p) for p in proof["proof"]])
        with pytest.raises(merkle.InvalidProof):
            merkle.verify_consistency(5, 23, new.root, old.root, [_b64(p) for p in proof["proof"]])
        for old_size in (1, 4, 8, 16, 22, 23):
            step = engine.audit.consistency("default", old_size, 23)
            merkle.verify_consistency(old_size, 23, _b64(step["from_root"]), _b64(step["to_root"]),
                                      [_b64(p) for p in step["proof"]])
    shapes = pair.each(lambda mem, _: [len(mem.audit.consistency("default", m, 23)["proof"])
                                       for m in range(1, 24)])
    assert shapes[0] == shapes[1]
    pair.same(lambda mem, _: [(c.size, c.tenant) for c in mem.store.checkpoints("default")])
    assert pair.fails(lambda mem, _: mem.audit.consistency("default", 0, 5)) is NotFound
    assert pair.fails(lambda mem, _: mem.audit.consistency("default", 5, 24)) is NotFound


def test_exported_logs_verify_on_both(pair: Pair) -> None:
    pair.write(lambda mem, _: mem.remember_many([{"text": f"note {n}"} for n in range(4)]))
    pair.each(lambda mem, _: mem.audit.checkpoint("default"))
    pair.write(lambda mem, my: mem.update(my("m1"), text="note one"))
    pair.same(lambda mem, my: mem.forget(my("m2")))
    reports = []
    for engine in pair.engines:
        records = list(engine.audit.export("default"))
        report = verify_export(records, engine.audit.signer.verifier())
        reports.append((report.tenant, report.leaves, report.checkpoints, report.notes,
                        [r["type"] for r in records]))
        live = verify_live(engine.audit, "default")
        assert live.memories_checked == 4  # m0, m1 (superseded), m3, m4 (m1's update)
    assert reports[0] == reports[1]
    assert reports[0][1:3] == (6, 2)  # 4 + update + forget; at 4 and at export
    pair.same(lambda mem, _: mem.audit.checkpoint_all())
    pair.same(lambda mem, _: mem.store.audit_tenants())


def test_api_keys_create_list_revoke(pair: Pair) -> None:
    issued = pair.write_each(lambda mem, _: [
        mem.keys.create("default", "admin", name="ops"),
        mem.keys.create("default", "reader", namespaces=["b", "a", "a"]),
        mem.keys.create("acme", "writer", expires_at="2999-01-01T00:00:00Z"),
    ], prefix="k")
    pair.same(lambda mem, _: mem.keys.list("default"))
    pair.same(lambda mem, _: mem.keys.list("acme"))
    assert pair.same(lambda mem, _: mem.keys.list("nobody")) == []
    assert pair.same(lambda mem, _: mem.keys.count()) == 3
    principals = pair.each(lambda mem, my: [
        mem.keys.authenticate(next(i.key for i in issued[0 if mem is pair.sqlite else 1]
                                   if i.record.id == my(name)))
        for name in ("k0", "k1", "k2")])
    assert [_principal(p) for p in principals[0]] == [_principal(p) for p in principals[1]]
    assert [_principal(p) for p in principals[0]] == [
        ("default", "admin", None), ("default", "reader", ("a", "b")), ("acme", "writer", None)]
    pair.same(lambda mem, my: mem.keys.revoke("default", my("k1")))
    pair.same(lambda mem, my: mem.keys.revoke("default", my("k1")))  # again: unchanged
    assert pair.fails(lambda mem, my: mem.keys.revoke("default", my("k2"))) is KeyNotFound  # acme's
    assert pair.fails(lambda mem, _: mem.keys.revoke("default", "aaaaaaaaaaaa")) is KeyNotFound
    listed = pair.same(lambda mem, _: mem.keys.list("default"))
    assert [k.revoked_at is not None for k in listed] == [False, True]
    assert [e["action"] for e in _same_log(pair)] == ["key.create", "key.create", "key.revoke"]
    assert [e["action"] for e in _same_log(pair, "acme")] == ["key.create"]


def _principal(principal: Any) -> tuple[str, str, tuple[str, ...] | None]:
    return principal.tenant, principal.role.value, principal.namespaces


def test_revoked_and_unknown_keys_fail_alike(pair: Pair) -> None:
    issued = pair.write_each(lambda mem, _: mem.keys.create("default", "writer", namespaces=["x"]),
                             prefix="k")
    pair.same(lambda mem, my: mem.keys.revoke("default", my("k0")))
    for side, engine in enumerate(pair.engines):
        with pytest.raises(Unauthenticated, match="revoked"):
            engine.keys.authenticate(issued[side].key)
        with pytest.raises(Unauthenticated, match="invalid"):
            engine.keys.authenticate(issued[side].key[:-4] + "AAAA")
        with pytest.raises(Unauthenticated, match="invalid"):
            engine.keys.authenticate("ctx_aaaaaaaaaaaa_" + "b" * 40)
