"""The constitution's privacy actions on remember, update and import: allow, tag, redact,
tokenize, block, per tenant, kind and entity type; retention; egress to a provider."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from cortex import Cortex
from cortex.core.errors import Forbidden, PrivacyBlocked
from cortex.embed import open_embedder
from tests.embed.test_openai_compat import Server
from tests.embed.test_openai_compat import live as live

from .conftest import Govern

CARD = "4111 1111 1111 1111"  # Luhn-valid test number
EMAIL = "ann.lee@example.com"
GH_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def _leaves(engine: Cortex, tenant: str = "default") -> list[dict[str, object]]:
    size = engine.store.audit_size(tenant)
    return [json.loads(leaf.event) for leaf in engine.store.audit_leaves(tenant, 0, size)]


def test_without_a_constitution_nothing_is_changed(engine: Cortex) -> None:
    result = engine.remember(f"card {CARD}, mail {EMAIL}")
    assert result.memory.text == f"card {CARD}, mail {EMAIL}"


def test_tag_redact_tokenize_block(engine: Cortex, govern: Callable[[Cortex], Govern]) -> None:
    govern(engine)(privacy={"email": "tag", "credit_card": "redact", "phone": "tokenize",
                            "github_token": "block"})
    tagged = engine.remember(f"Write to {EMAIL} about the invoice")
    assert tagged.memory.text == f"Write to {EMAIL} about the invoice"
    assert "pii:email" in tagged.memory.tags

    redacted = engine.remember(f"Paid with {CARD} and again with {CARD}")
    assert redacted.memory.text == "Paid with [CREDIT_CARD_1] and again with [CREDIT_CARD_1]"
    assert CARD not in engine.get(redacted.memory.id).text

    tokenized = engine.remember("Call Ann on +44 20 7946 0958 tomorrow")
    assert tokenized.memory.text == "Call Ann on [PHONE_1] tomorrow"
    entries = engine.privacy.reveal(tokenized.memory.id, role="admin")
    assert [(e.placeholder, e.entity, e.value) for e in entries] == [
        ("[PHONE_1]", "phone", "+44 20 7946 0958")]
    with pytest.raises(Forbidden, match="may not read tokenized"):
        engine.privacy.reveal(tokenized.memory.id, role="reader")

    before = engine.store.usage("default").memories
    with pytest.raises(PrivacyBlocked) as blocked:
        engine.remember_many([{"text": "fine"}, {"text": f"token {GH_TOKEN}"}])
    assert blocked.value.detail["types"] == ["github_token"] and blocked.value.detail["index"] == 1
    assert GH_TOKEN not in str(blocked.value) and GH_TOKEN not in json.dumps(blocked.value.detail)
    assert engine.store.usage("default").memories == before  # the whole batch was refused

    leaves = _leaves(engine)
    actions = [leaf["action"] for leaf in leaves]
    assert {"privacy.redact", "privacy.tokenize", "privacy.block", "privacy.reveal"} <= set(actions)
    assert all(v not in json.dumps(leaves) for v in (CARD, EMAIL, "7946 0958", GH_TOKEN))
    block = next(leaf for leaf in leaves if leaf["action"] == "privacy.block")
    assert block["detail"] == {"kind": "episode", "types": {"github_token": 1}}


def test_rules_per_kind_tenant_and_group(engine: Cortex, govern: Callable[[Cortex], Govern]) -> None:
    govern(engine)(privacy={"credit_card": {"default": "redact", "kinds": {"fact": "block"}},
                            "secret": "block", "pii": "tag"},
                   tenant_privacy={"globex": {"credit_card": "allow"}})
    assert engine.remember(f"card {CARD}").memory.text == "card [CREDIT_CARD_1]"
    with pytest.raises(PrivacyBlocked):
        engine.remember(f"card {CARD}", kind="fact")
    assert engine.remember(f"card {CARD}", tenant="globex").memory.text == f"card {CARD}"
    with pytest.raises(PrivacyBlocked):  # via the "secret" group
        engine.remember(f"token {GH_TOKEN}")
    assert "pii:email" in engine.remember(f"mail {EMAIL}").memory.tags  # via the "pii" group


def test_update_is_shielded_too(engine: Cortex, govern: Callable[[Cortex], Govern]) -> None:
    govern(engine)(privacy={"credit_card": "redact"})
    first = engine.remember("no card yet")
    assert engine.update(first.memory.id, text=f"card {CARD}").text == "card [CREDIT_CARD_1]"


def test_unknown_entity_type_is_refused_by_the_constitution(engine: Cortex,
                                                            govern: Callable[[Cortex], Govern]) -> None:
    from cortex.core.errors import ConstitutionRejected

    with pytest.raises(ConstitutionRejected, match="credit_crad"):
        govern(engine)(privacy={"credit_crad": "block"})


def test_retention_erases_old_memories_of_the_kind(engine: Cortex,
                                                   govern: Callable[[Cortex], Govern]) -> None:
    govern(engine)(retention={"episode": 30, "fact": None})
    old = engine.remember("an old episode")
    fact = engine.remember("a fact kept forever", kind="fact")
    fresh = engine.remember("a new episode")
    # memories were created now: move the clock of the sweep instead of the rows
    assert engine.privacy.sweep_retention() == 0
    later = old.memory.created_at + timedelta(days=31)
    erased = engine.privacy.sweep_retention(later)
    assert erased == 2  # both episodes are older than 30 days at that time
    assert [m.id for m in engine.list()] == [fact.memory.id]
    erasures = [leaf for leaf in _leaves(engine) if leaf["action"] == "memory.erase"]
    assert {leaf["memory_id"] for leaf in erasures} == {old.memory.id, fresh.memory.id}
    assert all(leaf["detail"]["reason"] == "retention" for leaf in erasures)


def test_egress_to_an_external_provider_is_shielded(tmp_path: Path, live: Server,
                                                    govern: Callable[[Cortex], Govern]) -> None:
    sent = live.state.requests
    provider = open_embedder(f"openai+{live.url}?model=plain")
    engine = Cortex.open(f"sqlite:///{tmp_path / 'x.db'}", embedder=provider)
    engine.remember(f"before any constitution {EMAIL}")
    assert EMAIL in json.dumps(sent[-1]["body"])
    govern(engine)(privacy={"email": "tag", "credit_card": "redact"}, providers=["local"])
    with pytest.raises(Forbidden, match=r"127\.0\.0\.1"):
        engine.recall(f"who has card {CARD}")
    govern(engine)(privacy={"email": "tokenize", "credit_card": "tag"}, providers=["local", "127.0.0.1"])
    engine.recall(f"mail {EMAIL} card {CARD}")
    body = json.dumps(sent[-1]["body"])
    assert EMAIL not in body and "[EMAIL_1]" in body and CARD in body
    govern(engine)(privacy={"email": "tokenize"}, providers=["local", "127.0.0.1"],
                   egress_exempt=["local", "127.0.0.1"])
    engine.recall(f"again {EMAIL}")
    assert EMAIL in json.dumps(sent[-1]["body"])
    engine.close()
