"""The privacy shield on both backends: subjects, erasure, export, the constitution's
actions (tag, redact, tokenize, block), the vault and retention.

Both engines get the same signed constitution. Text and metadata are sealed at rest on
both (each with its own keystore); what the engine returns must be the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cortex.audit.verify import verify_receipt
from cortex.core.errors import Forbidden, MemoryNotFound, PrivacyBlocked
from cortex.core.models import utcnow
from cortex.governance import SignedConstitution, key_id, sign
from cortex.governance.document import default_document
from cortex.governance.signing import public_key_b64, write_private_key
from tests.contract.twins import Pair, both

CARD = "4111 1111 1111 1111"  # Luhn-valid test number
EMAIL = "ann.lee@example.com"
PHONE = "+44 20 7946 0958"
GH_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.fixture
def govern(pair: Pair, tmp_path: Path) -> Callable[..., None]:
    """``govern(privacy=..., retention=...)``: the next constitution version, signed once,
    applied to both engines."""
    private = Ed25519PrivateKey.generate()
    signer = tmp_path / "constitution-signer.key"
    write_private_key(signer, private)
    keys = {key_id(private.public_key()): public_key_b64(private.public_key())}

    def apply(**changes: Any) -> None:
        current = pair.sqlite.governance.current()
        data = default_document(keys, 1, utcnow() + timedelta(days=365))
        data["version"] = 1 if current is None else current.version + 1
        data.update(changes)
        signed = sign(SignedConstitution.from_data(data), signer)
        pair.each(lambda mem, _: mem.governance.apply(signed))

    return apply


def _log(pair: Pair, side: int, tenant: str = "default") -> list[dict[str, Any]]:
    store = pair.engines[side].store
    return [pair.event(side, leaf.event) for leaf in store.audit_leaves(tenant, 0, store.audit_size(tenant))]


def _without_times(value: Any) -> dict[str, Any]:
    """An erasure's or export's fields (models kept, for ``Pair.canon``) but its time."""
    return {k: getattr(value, k) for k in type(value).model_fields if k not in ("erased_at", "exported_at")}


def test_subject_export_and_erasure(pair: Pair) -> None:
    pair.write(lambda mem, _: mem.remember_many([
        {"text": "Ann was born in Leeds", "subject": "ann", "metadata": {"src": "form"}},
        {"text": "Ann's doctor is Dr Patel", "subject": "ann", "kind": "fact"},
        {"text": "Bob likes chess", "subject": "bob"},
        {"text": "The office opens at nine"},
    ]))
    pair.write(lambda mem, my: mem.update(my("m1"), text="Ann's doctor is Dr Singh"))  # m4
    exported = pair.each(lambda mem, _: mem.privacy.export_subject("ann"))
    pair.assert_same(*(_without_times(e) for e in exported))
    assert sorted(pair.names(0, exported[0].memories)) == ["m0", "m1", "m4"]
    erased = pair.each(lambda mem, _: mem.privacy.erase_subject("ann"))
    pair.assert_same(*(_without_times(e) for e in erased))
    assert (erased[0].memories, erased[0].vault_entries, erased[0].keys_destroyed) == (3, 0, 1)
    for side, engine in enumerate(pair.engines):
        verify_receipt(erased[side].receipt, engine.audit.signer.verifier())
    for name in ("m0", "m1", "m4"):
        assert pair.fails(lambda mem, my, name=name: mem.get(my(name))) is MemoryNotFound
    assert pair.same(lambda mem, _: mem.privacy.export_subject("ann").memories) == []
    assert sorted(pair.names(0, pair.same(lambda mem, _: mem.list()))) == ["m2", "m3"]
    hits = pair.each(lambda mem, _: mem.recall("Where was Ann born?", k=10))
    assert pair.found(hits, ordered=False) == both(["m2", "m3"])
    assert _log(pair, 0) == _log(pair, 1)
    assert [e["action"] for e in _log(pair, 0)][-4:] == ["memory.erase"] * 3 + ["subject.erase"]
    for engine in pair.engines:
        assert engine.check().ok, engine.check().problems


def test_constitution_actions_and_the_vault(pair: Pair, govern: Callable[..., None]) -> None:
    govern(privacy={"email": "tag", "credit_card": "redact", "phone": "tokenize",
                    "github_token": "block"})
    made = pair.write(lambda mem, _: [
        mem.remember(f"Write to {EMAIL} about the invoice"),
        mem.remember(f"Paid with {CARD} and again with {CARD}"),
        mem.remember(f"Call Ann on {PHONE} tomorrow", subject="ann"),
    ])
    assert [r.memory.text for r in made] == [
        f"Write to {EMAIL} about the invoice",
        "Paid with [CREDIT_CARD_1] and again with [CREDIT_CARD_1]",
        "Call Ann on [PHONE_1] tomorrow"]
    assert "pii:email" in made[0].memory.tags
    revealed = pair.same(lambda mem, my: mem.privacy.reveal(my("m2"), role="admin"))
    assert [(e.placeholder, e.entity, e.value) for e in revealed] == [("[PHONE_1]", "phone", PHONE)]
    assert pair.fails(lambda mem, my: mem.privacy.reveal(my("m2"), role="reader")) is Forbidden
    assert pair.fails(lambda mem, _: mem.remember_many(
        [{"text": "fine"}, {"text": f"token {GH_TOKEN}"}])) is PrivacyBlocked
    pair.write(lambda mem, my: mem.update(my("m2"), text=f"Call Ann on {PHONE} on Friday"))  # m3
    exported = pair.each(lambda mem, _: mem.privacy.export_subject("ann"))
    pair.assert_same(*(_without_times(e) for e in exported))
    assert sum(len(v) for v in exported[0].vault.values()) == 2
    erased = pair.each(lambda mem, _: mem.privacy.erase_subject("ann"))
    pair.assert_same(*(_without_times(e) for e in erased))
    assert (erased[0].memories, erased[0].vault_entries) == (2, 2)
    pair.same(lambda mem, _: mem.usage())
    logs = _log(pair, 0), _log(pair, 1)
    assert logs[0] == logs[1]
    assert all(CARD not in json.dumps(e) and PHONE not in json.dumps(e) for e in logs[0])


def test_retention_erases_the_same_memories(pair: Pair, govern: Callable[..., None]) -> None:
    govern(retention={"episode": 30, "fact": None})
    made = pair.write(lambda mem, _: mem.remember_many([
        {"text": "an old episode"}, {"text": "a fact kept forever", "kind": "fact"},
        {"text": "another episode"},
    ]))
    assert pair.same(lambda mem, _: mem.privacy.sweep_retention()) == 0
    later = made[0].memory.created_at + timedelta(days=31)
    assert pair.same(lambda mem, _: mem.privacy.sweep_retention(later)) == 2
    assert pair.names(0, pair.same(lambda mem, _: mem.list())) == ["m1"]
    erasures = [e for e in _log(pair, 0) if e["action"] == "memory.erase"]
    assert erasures == [e for e in _log(pair, 1) if e["action"] == "memory.erase"]
    assert [(e["memory_id"], e["detail"]["reason"]) for e in erasures] == [
        ("m0", "retention"), ("m2", "retention")]

