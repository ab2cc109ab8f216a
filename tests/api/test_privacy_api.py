"""The privacy shield over HTTP: scan, a block (422 without the value), a redaction, a
tokenized value read back by an authorised role only, and a subject's erasure and export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cortex.api import create_app
from cortex.audit.verify import verifier_from, verify_receipt
from cortex.core.models import Receipt
from cortex.embed import CachingEmbedder
from tests.api.conftest import Api, settings_for
from tests.live import serve
from tests.privacy.conftest import govern as govern

CARD = "4111 1111 1111 1111"
PHONE = "+44 20 7946 0958"
AWS = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture
def papi(tmp_path: Path, embedder: CachingEmbedder, govern) -> Iterator[Api]:
    app = create_app(settings_for(tmp_path, rate_limit_rps=0), embedder=embedder)
    with serve(app) as base:
        live = Api(base=base, engine=app.state.services.engine)
        for tenant in ("acme", "globex"):
            for role in ("admin", "writer", "reader"):
                live.keys[f"{tenant}:{role}"] = live.key(tenant, role)
        govern(live.engine)(privacy={"credit_card": "redact", "phone": "tokenize",
                                     "aws_access_key": "block", "email": "tag"},
                            vault_readers=["admin"])
        yield live
        live.client.close()


def test_scan_shows_findings_and_actions_without_storing(papi: Api) -> None:
    text = f"card {CARD}, call {PHONE}, key {AWS}"
    r = papi.call("POST", "/v1/privacy/scan", "acme:reader", json={"text": text})
    assert r.status_code == 200, r.text
    found = {f["type"]: f for f in r.json()["findings"]}
    assert found["credit_card"]["action"] == "redact" and found["phone"]["action"] == "tokenize"
    assert found["aws_access_key"]["action"] == "block"
    assert text[found["credit_card"]["start"]:found["credit_card"]["end"]] == CARD
    assert papi.engine.usage(tenant="acme").memories == 0
    assert papi.call("POST", "/v1/privacy/scan", None, json={"text": text}).status_code == 401


def test_block_redact_tokenize_and_vault_roles(papi: Api) -> None:
    blocked = papi.call("POST", "/v1/memories", "acme:writer", json={"text": f"my key is {AWS}"})
    assert blocked.status_code == 422
    problem = blocked.json()
    assert problem["type"].endswith("privacy-blocked") and problem["types"] == ["aws_access_key"]
    assert AWS not in blocked.text

    made = papi.call("POST", "/v1/memories", "acme:writer",
                     json={"text": f"Ann paid with {CARD}; call her on {PHONE}", "subject": "user:ann"})
    assert made.status_code == 201, made.text
    memory = made.json()["memory"]
    assert memory["text"] == "Ann paid with [CREDIT_CARD_1]; call her on [PHONE_1]"
    assert memory["subject"] == "user:ann"

    vault = f"/v1/memories/{memory['id']}/vault"
    assert papi.call("GET", vault, "acme:reader").status_code == 403
    assert papi.call("GET", vault, "globex:admin").status_code == 404  # another tenant's memory
    shown = papi.call("GET", vault, "acme:admin")
    assert shown.status_code == 200
    assert shown.json()["entries"] == [{"placeholder": "[PHONE_1]", "entity": "phone", "value": PHONE}]


def test_erase_and_export_a_subject(papi: Api) -> None:
    for text in ("Ann likes jazz", f"Ann's number is {PHONE}"):
        assert papi.call("POST", "/v1/memories", "acme:writer",
                         json={"text": text, "subject": "user:ann"}).status_code == 201
    other = papi.call("POST", "/v1/memories", "globex:writer",
                      json={"text": "Ann in globex", "subject": "user:ann"})
    assert other.status_code == 201

    assert papi.call("GET", "/v1/subjects/user:ann/export", "acme:writer").status_code == 403
    export = papi.call("GET", "/v1/subjects/user:ann/export", "acme:admin").json()
    assert sorted(m["text"] for m in export["memories"]) == ["Ann likes jazz", "Ann's number is [PHONE_1]"]
    assert [e["value"] for entries in export["vault"].values() for e in entries] == [PHONE]

    assert papi.call("DELETE", "/v1/subjects/user:ann", "acme:writer").status_code == 403
    erased = papi.call("DELETE", "/v1/subjects/user:ann", "acme:admin")
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert body["memories"] == 2 and body["vault_entries"] == 1 and body["keys_destroyed"] == 1
    key = papi.call("GET", "/v1/audit/public-key").json()["public_key"]
    verify_receipt(Receipt.model_validate(body["receipt"]), verifier_from(key))  # offline proof

    assert papi.call("GET", "/v1/subjects/user:ann/export", "acme:admin").json()["memories"] == []
    hits = papi.call("POST", "/v1/recall", "acme:reader", json={"query": "jazz"}).json()["hits"]
    assert all("jazz" not in h["memory"]["text"] for h in hits)
    # globex's subject of the same id is untouched
    globex = papi.call("GET", "/v1/subjects/user:ann/export", "globex:admin").json()["memories"]
    assert [m["text"] for m in globex] == ["Ann in globex"]
    assert json.dumps(body).count("user:ann") == 0  # the erasure names the subject by hash


def test_bad_subject_ids_are_422(papi: Api) -> None:
    r = papi.call("POST", "/v1/memories", "acme:writer", json={"text": "x", "subject": "has space"})
    assert r.status_code == 422
