"""The constitution in force for a real store: applied, re-verified on load, enforced per
request (API and MCP), and refused — with the server failing closed — when it is bad."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cortex import Cortex
from cortex.api import create_app
from cortex.core.config import Settings
from cortex.core.errors import (
    ConstitutionExpired,
    ConstitutionInvalid,
    ConstitutionRollback,
    ConstitutionUnderSigned,
    Forbidden,
)
from cortex.embed import CachingEmbedder
from cortex.governance import SignedConstitution, init, sign
from cortex.tenancy import Principal, Role
from tests.cli.helpers import cortex_script, script_env
from tests.live import serve

Keys = tuple[SignedConstitution, list[Path]]


def next_version(current: SignedConstitution, keys: list[Path], **changes: Any) -> SignedConstitution:
    data = current.document().model_dump(mode="json")
    data.update(version=data["version"] + 1, **changes)
    envelope = SignedConstitution.from_data({"signed": data, "signatures": []})
    for key in keys:
        envelope = sign(envelope, key)
    return envelope


def writer_limited_to_team(data: dict[str, Any]) -> dict[str, Any]:
    roles = data["roles"]
    roles["writer"] = [{"actions": ["read"], "kinds": ["*"], "namespaces": ["*"]},
                       {"actions": ["write"], "kinds": ["*"], "namespaces": ["team/*"]}]
    return roles


@pytest.fixture
def keys(tmp_path: Path) -> tuple[SignedConstitution, list[Path]]:
    v1 = init(tmp_path / "keys", 3, 2)
    return v1, sorted((tmp_path / "keys").iterdir())


def test_apply_chain_rollback_and_under_signed(mem: Cortex, keys: Keys) -> None:
    v1, files = keys
    assert mem.governance.current() is None
    assert mem.governance.apply(v1).version == 1
    with pytest.raises(ConstitutionUnderSigned):
        mem.governance.apply(next_version(v1, files[:1]))
    v2 = next_version(v1, files[:2])
    assert mem.governance.apply(v2).version == 2
    with pytest.raises(ConstitutionRollback):
        mem.governance.apply(v1)
    current = mem.governance.current()
    assert current is not None and current.version == 2
    log = [json.loads(leaf.event) for leaf in mem.store.audit_leaves("_system", 0, 10)]
    assert [(e["action"], e["detail"]["version"]) for e in log] == [("constitution.apply", 1),
                                                                     ("constitution.apply", 2)]


def test_a_stored_version_edited_in_the_database_fails_closed(tmp_path: Path, embedder: CachingEmbedder,
                                                             keys: Keys) -> None:
    url = f"sqlite:///{tmp_path / 'gov.db'}"
    with Cortex.open(url, embedder=embedder) as mem:
        mem.governance.apply(keys[0])
    raw = sqlite3.connect(tmp_path / "gov.db")
    envelope = raw.execute("SELECT envelope FROM constitutions").fetchone()[0]
    raw.execute("UPDATE constitutions SET envelope = ?", (envelope.replace('"burst":200', '"burst":9999'),))
    raw.commit()
    raw.close()
    with Cortex.open(url, embedder=embedder) as mem, pytest.raises(ConstitutionUnderSigned):
        mem.governance.current()


def test_an_expired_constitution_stops_the_server_with_one_line(tmp_path: Path,
                                                                embedder: CachingEmbedder) -> None:
    past = datetime.now(UTC) - timedelta(days=30)
    v1 = init(tmp_path / "keys", 2, 2, now=past, valid_for=timedelta(days=1))
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with Cortex.open(url, embedder=embedder) as mem:
        mem.governance.apply(v1, now=past + timedelta(hours=1))
        with pytest.raises(ConstitutionExpired):
            mem.governance.current()
    started = subprocess.run([cortex_script(), "--store", url, "serve", "--port", "0"], capture_output=True,
                             text=True, env=script_env(), timeout=60)
    assert started.returncode == 1
    assert started.stderr.startswith("error: ") and "expired" in started.stderr
    assert len(started.stderr.strip().splitlines()) == 1 and started.stdout == ""


def test_policy_denies_are_forbidden_and_logged(mem: Cortex, keys: Keys) -> None:
    v1, files = keys
    mem.governance.apply(v1)
    v2 = next_version(v1, files[:2], roles=writer_limited_to_team(v1.document().model_dump(mode="json")))
    mem.governance.apply(v2)
    writer = Principal(tenant="acme", role=Role.WRITER, subject="key:w1")
    mem.governance.authorize(writer, "write", "team/blue", "fact")
    with pytest.raises(Forbidden) as denied:
        mem.governance.authorize(writer, "write", "finance", "fact")
    assert denied.value.message
    leaves = [json.loads(leaf.event) for leaf in mem.store.audit_leaves("acme", 0, 10)]
    seen = [(e["action"], e["decision"], e["namespace"]) for e in leaves]
    assert seen == [("policy.deny", "deny", "finance")]
    assert leaves[0]["reason"] == denied.value.message


def test_the_api_applies_and_enforces_the_constitution(tmp_path: Path, embedder: CachingEmbedder,
                                                       keys: Keys) -> None:
    v1, files = keys
    app = create_app(Settings.load(store_url=f"sqlite:///{tmp_path / 'api.db'}", rate_limit_rps=0),
                     embedder=embedder)
    with serve(app) as base, httpx.Client(base_url=base) as http:
        engine = app.state.services.engine
        admin = {"Authorization": f"Bearer {engine.keys.create('acme', 'admin').key}"}
        writer = {"Authorization": f"Bearer {engine.keys.create('acme', 'writer').key}"}
        assert http.get("/v1/constitution", headers=admin).status_code == 404
        assert http.post("/v1/constitution", headers=admin, json=v1.to_data()).status_code == 201
        v2 = next_version(v1, files[:2], roles=writer_limited_to_team(v1.document().model_dump(mode="json")))
        unsigned = next_version(v1, [])
        refused = http.post("/v1/constitution", headers=admin, json=unsigned.to_data())
        assert refused.status_code == 403 and refused.json()["type"] == "cortex/constitution-under-signed"
        assert http.post("/v1/constitution", headers=writer, json=v2.to_data()).status_code == 403
        assert http.post("/v1/constitution", headers=admin, json={"signed": {}}).status_code == 422
        assert http.post("/v1/constitution", headers=admin, json=v2.to_data()).status_code == 201
        assert http.post("/v1/constitution", headers=admin, json=v1.to_data()).status_code == 409
        assert http.get("/v1/constitution", headers=writer).json()["signed"]["version"] == 2
        ok = http.post("/v1/memories", headers=writer, json={"text": "blue notes", "namespace": "team/blue"})
        assert ok.status_code == 201
        denied = http.post("/v1/memories", headers=writer, json={"text": "payroll", "namespace": "finance"})
        assert denied.status_code == 403 and denied.json()["type"] == "cortex/forbidden"
        assert http.get("/readyz").json()["checks"]["constitution"]["ok"] is True
        assert "cortex_constitution_verify_seconds" in http.get("/metrics").text
        events = http.get("/v1/audit/events?limit=100", headers=admin).json()["events"]
        assert any(e["event"]["action"] == "policy.deny" and e["event"].get("namespace") == "finance"
                   for e in events)


def test_a_malformed_document_is_invalid(mem: Cortex, keys: Keys) -> None:
    with pytest.raises(ConstitutionInvalid):
        from cortex.governance.service import governed_errors

        with governed_errors():
            SignedConstitution.from_data({"signed": {"version": 0}, "signatures": []}).document()


@pytest.mark.anyio
async def test_mcp_tools_follow_the_same_constitution(mem: Cortex, keys: Keys) -> None:
    from cortex.mcp import create_mcp_server, fixed_principal
    from mcp import Client

    v1, files = keys
    mem.governance.apply(v1)
    mem.governance.apply(next_version(v1, files[:2],
                                      roles=writer_limited_to_team(v1.document().model_dump(mode="json"))))
    writer = Principal(tenant="acme", role=Role.WRITER, subject="stdio")
    async with Client(create_mcp_server(mem, fixed_principal(writer))) as client:
        allowed = await client.call_tool("remember", {"text": "team plan", "namespace": "team/red"})
        assert not allowed.is_error
        denied = await client.call_tool("remember", {"text": "salaries", "namespace": "finance"})
        assert denied.is_error and "cortex/forbidden" in denied.content[0].text  # type: ignore[union-attr]
        hits = await client.call_tool("recall", {"query": "plan"})
        assert not hits.is_error


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


LEGAL = """
@id("legal-is-read-only")
forbid (principal, action == Cortex::Action::"write", resource)
when { resource.namespace like "legal/*" };
"""


def test_tenant_policies_narrow_only_that_tenant(mem: Cortex, keys: Keys) -> None:
    from cortex.core.errors import ConstitutionInvalid as Invalid
    from cortex.core.errors import PolicyInvalid

    with pytest.raises(Invalid):  # nothing to add to before a constitution is in force
        mem.governance.set_tenant_policies("acme", LEGAL)
    mem.governance.apply(keys[0])
    mem.governance.set_tenant_policies("acme", LEGAL)
    admin = Principal(tenant="acme", role=Role.ADMIN, subject="key:a")
    other = Principal(tenant="globex", role=Role.ADMIN, subject="key:g")
    with pytest.raises(Forbidden) as denied:
        mem.governance.authorize(admin, "write", "legal/contracts", "document")
    assert "legal-is-read-only" in denied.value.message
    mem.governance.authorize(admin, "read", "legal/contracts", "document")
    mem.governance.authorize(other, "write", "legal/contracts", "document")
    with pytest.raises(PolicyInvalid):  # a tenant may narrow the constitution, never widen it
        mem.governance.set_tenant_policies("acme", '@id("all") permit (principal, action, resource);')
    assert mem.governance.tenant_policies("acme") == LEGAL
    changes = [json.loads(leaf.event)["action"] for leaf in mem.store.audit_leaves("acme", 0, 10)]
    assert changes == ["tenant.policies", "policy.deny"]
