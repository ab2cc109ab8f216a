"""/v1/audit over a live server, verified the way a client would: offline, with the key."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from cortex.audit import merkle
from cortex.audit.verify import verifier_from, verify_receipt
from cortex.core.models import Receipt
from tests.api.conftest import Api
from tests.cli.helpers import cortex_script, script_env


def test_receipts_from_the_api_verify_offline_with_the_published_key(api: Api) -> None:
    key = api.call("GET", "/v1/audit/public-key").json()["public_key"]  # no credentials needed
    made = api.call("POST", "/v1/memories", "acme:writer", json={"text": "audited over HTTP"}).json()
    assert made["receipt"]["leaf_index"] >= 0 and "audited" not in made["receipt"]["event"]
    proof = api.call("GET", f"/v1/audit/proof/{made['memory']['id']}", "acme:reader")
    assert proof.status_code == 200
    head = verify_receipt(Receipt.model_validate(proof.json()), verifier_from(key))
    assert head.origin == "cortex-audit/acme"
    theirs = api.call("GET", f"/v1/audit/proof/{made['memory']['id']}", "globex:admin")
    assert theirs.status_code == 404 and theirs.json()["type"] == "cortex/memory-not-found"


def test_recall_with_proofs_attaches_verifiable_receipts(api: Api) -> None:
    key = verifier_from(api.call("GET", "/v1/audit/public-key").json()["public_key"])
    api.call("POST", "/v1/memories", "acme:writer", json={"text": "the blue binder holds the plans"})
    hits = api.call("POST", "/v1/recall?proofs=true", "acme:reader",
                    json={"query": "where are the plans?"}).json()["hits"]
    assert hits and all(h["receipt"] is not None for h in hits)
    for hit in hits:
        verify_receipt(Receipt.model_validate(hit["receipt"]), key)
    plain = api.call("POST", "/v1/recall", "acme:reader", json={"query": "where are the plans?"})
    assert all(h["receipt"] is None for h in plain.json()["hits"])


def test_checkpoints_grow_consistently(api: Api) -> None:
    first = api.call("GET", "/v1/audit/checkpoint", "acme:reader").json()
    api.call("POST", "/v1/memories", "acme:writer", json={"text": "one more for the log"})
    second = api.call("GET", "/v1/audit/checkpoint", "acme:reader").json()
    assert second["size"] > first["size"] and second["note"].startswith("cortex-audit/acme\n")
    found = api.call("GET", f"/v1/audit/consistency?from={first['size']}&to={second['size']}",
                     "acme:reader").json()
    merkle.verify_consistency(first["size"], second["size"], base64.b64decode(first["root"]),
                              base64.b64decode(second["root"]), [base64.b64decode(p) for p in found["proof"]])
    bad = api.call("GET", "/v1/audit/consistency?from=5&to=2", "acme:reader")
    assert bad.status_code == 404
    beyond = api.call("GET", "/v1/audit/consistency?from=1&to=100000", "acme:reader")
    assert beyond.status_code == 404


def test_events_are_admin_only_paged_and_tenant_scoped(api: Api) -> None:
    assert api.call("GET", "/v1/audit/events", "acme:writer").status_code == 403
    page = api.call("GET", "/v1/audit/events?limit=2", "acme:admin").json()
    assert [e["index"] for e in page["events"]] == [0, 1] and page["next"] == 1
    after = api.call("GET", "/v1/audit/events?after=1&limit=2", "acme:admin").json()
    assert after["events"][0]["index"] == 2
    every = api.call("GET", "/v1/audit/events?limit=1000", "acme:admin").json()["events"]
    assert {e["event"]["tenant"] for e in every} == {"acme"}
    assert {e["event"]["actor"] for e in every if e["event"]["action"].startswith("memory.")} <= {
        f"key:{api.keys[k].split('_')[1]}" for k in api.keys if k.startswith("acme:")}


def test_an_export_verifies_offline_with_the_cli(api: Api, tmp_path: Path) -> None:
    export = api.call("GET", "/v1/audit/export", "acme:admin")
    assert export.status_code == 200 and export.headers["content-type"].startswith("application/x-ndjson")
    (tmp_path / "acme.jsonl").write_text(export.text)
    (tmp_path / "cortex.pub").write_text(api.call("GET", "/v1/audit/public-key").json()["public_key"])
    ok = subprocess.run([cortex_script(), "audit", "verify", str(tmp_path / "acme.jsonl"),
                         "--public-key", str(tmp_path / "cortex.pub")],
                        capture_output=True, text=True, env=script_env(), cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.startswith("OK: tenant acme"), ok.stdout + ok.stderr
    lines = export.text.splitlines()
    lines[2] = lines[2].replace('\\"actor\\":\\"', '\\"actor\\":\\"x', 1)  # leaf 1
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    bad = subprocess.run([cortex_script(), "audit", "verify", str(tmp_path / "bad.jsonl"),
                          "--public-key", str(tmp_path / "cortex.pub")],
                         capture_output=True, text=True, env=script_env(), cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.startswith("FAILED at leaf 1"), bad.stderr
