"""Two tenants probe every route for each other's data; every role meets every route."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

SECRET = "globex keeps the launch codes in the blue binder"


@pytest.fixture(scope="module")
def planted(api: Api) -> dict[str, Any]:
    """globex's memory, session and namespace, which acme must never see."""
    made = api.call(
        "POST",
        "/v1/memories",
        "globex:writer",
        json={"text": SECRET, "namespace": "vault", "tags": ["secret"]},
    )
    assert made.status_code == 201, made.text
    api.call("POST", "/v1/sessions/chat-1/messages", "globex:writer", json={"text": SECRET})
    acme = api.call(
        "POST",
        "/v1/memories",
        "acme:writer",
        json={"text": "acme ships rockets on Fridays", "namespace": "vault"},
    )
    assert acme.status_code == 201
    return {"id": made.json()["memory"]["id"], "acme_id": acme.json()["memory"]["id"]}


def test_ids_of_another_tenant_answer_404_like_missing_ones(api: Api, planted: dict[str, Any]) -> None:
    other = planted["id"]
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    for method, path, body in [
        ("GET", "/v1/memories/{}", None),
        ("GET", "/v1/memories/{}/history", None),
        ("PATCH", "/v1/memories/{}", {"text": "overwritten"}),
        ("DELETE", "/v1/memories/{}", None),
    ]:
        theirs = api.call(method, path.format(other), "acme:admin", json=body)
        nobody = api.call(method, path.format(missing), "acme:admin", json=body)
        assert theirs.status_code == nobody.status_code == 404, (method, path)
        assert theirs.json()["type"] == nobody.json()["type"] == "cortex/memory-not-found"
        assert SECRET not in theirs.text
    # and globex's memory is untouched by all of that
    still = api.call("GET", f"/v1/memories/{other}", "globex:reader")
    assert still.status_code == 200 and still.json()["text"] == SECRET


def test_lists_recall_sessions_and_namespaces_never_cross(api: Api, planted: dict[str, Any]) -> None:
    listed = api.call("GET", "/v1/memories", "acme:reader", params={"limit": 1000})
    assert SECRET not in listed.text and planted["acme_id"] in listed.text
    hits = api.call(
        "POST", "/v1/recall", "acme:reader", json={"query": "launch codes blue binder", "k": 50}
    ).json()["hits"]
    assert all(h["memory"]["tenant"] == "acme" for h in hits) and SECRET not in str(hits)
    session = api.call("GET", "/v1/sessions/chat-1/messages", "acme:reader").json()
    assert session["messages"] == []
    recalled = api.call(
        "POST", "/v1/recall", "acme:reader", json={"query": "launch codes", "session": "chat-1"}
    ).json()["hits"]
    assert SECRET not in str(recalled)
    assert api.call("DELETE", "/v1/sessions/chat-1", "acme:writer").json()["cleared"] == 0
    theirs = api.call("GET", "/v1/sessions/chat-1/messages", "globex:reader").json()["messages"]
    assert [m["text"] for m in theirs] == [SECRET]
    spaces = api.call("GET", "/v1/namespaces", "acme:reader").json()["namespaces"]
    assert [(s["namespace"], s["memories"]) for s in spaces] == [("vault", 1)]
    keys = api.call("GET", "/v1/keys", "acme:admin").json()["keys"]
    assert {k["tenant"] for k in keys} == {"acme"}
    log = api.call("GET", "/v1/audit/export", "acme:admin").text
    assert planted["id"] not in log and '"tenant":"globex"' not in log.replace("\\", "")
    proof = api.call("GET", f"/v1/audit/proof/{planted['id']}", "acme:admin")
    assert proof.status_code == 404 and proof.json()["type"] == "cortex/memory-not-found"


def test_a_tenant_in_the_body_is_rejected_not_obeyed(api: Api) -> None:
    sneaky = api.call("POST", "/v1/memories", "acme:writer", json={"text": "x", "tenant": "globex"})
    assert sneaky.status_code == 422
    assert sneaky.json()["errors"][0]["loc"] == ["body", "tenant"]


def test_another_tenants_key_cannot_be_revoked(api: Api) -> None:
    victim = api.engine.keys.create("globex", "reader")
    answer = api.call("DELETE", f"/v1/keys/{victim.record.id}", "acme:admin")
    assert answer.status_code == 404 and answer.json()["type"] == "cortex/key-not-found"
    assert (
        api.call("GET", "/v1/namespaces", headers={"Authorization": f"Bearer {victim.key}"}).status_code
        == 200
    )


ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", "/v1/memories", None, "read"),
    ("GET", "/v1/memories/{id}", None, "read"),
    ("GET", "/v1/memories/{id}/history", None, "read"),
    ("POST", "/v1/recall", {"query": "rockets"}, "read"),
    ("GET", "/v1/namespaces", None, "read"),
    ("GET", "/v1/namespaces/vault", None, "read"),
    ("GET", "/v1/sessions/s1/messages", None, "read"),
    ("POST", "/v1/memories", {"text": "role matrix probe", "namespace": "vault"}, "write"),
    ("POST", "/v1/memories/batch", {"items": [{"text": "batch probe", "namespace": "vault"}]}, "write"),
    ("PATCH", "/v1/memories/{id}", {"importance": 0.9}, "write"),
    ("POST", "/v1/sessions/s1/messages", {"text": "hello"}, "write"),
    ("DELETE", "/v1/sessions/s1", None, "write"),
    ("GET", "/v1/audit/checkpoint", None, "read"),
    ("GET", "/v1/audit/proof/{id}", None, "read"),
    ("GET", "/v1/audit/consistency?from=1&to=2", None, "read"),
    ("GET", "/v1/tenant", None, "admin"),
    ("GET", "/v1/tenant/policies", None, "admin"),
    ("GET", "/v1/keys", None, "admin"),
    ("POST", "/v1/keys", {"role": "reader"}, "admin"),
    ("GET", "/v1/audit/events", None, "admin"),
    ("GET", "/v1/audit/export", None, "admin"),
]
ALLOWED = {"admin": {"read", "write", "admin"}, "writer": {"read", "write"}, "reader": {"read"}}


@pytest.mark.parametrize("role", ["admin", "writer", "reader"])
def test_every_role_on_every_route(api: Api, planted: dict[str, Any], role: str) -> None:
    for method, path, body, action in ROUTES:
        fresh = api.call(
            "POST",
            "/v1/memories",
            "acme:writer",
            json={"text": f"target for {role} {method} {path}", "namespace": "vault"},
        )
        answer = api.call(method, path.format(id=fresh.json()["memory"]["id"]), f"acme:{role}", json=body)
        if action in ALLOWED[role]:
            assert answer.status_code < 300, (role, method, path, answer.text)
        else:
            assert answer.status_code == 403, (role, method, path, answer.text)
            assert answer.json()["type"] == "cortex/forbidden"
    deleted = api.call("DELETE", f"/v1/memories/{planted['acme_id']}", f"acme:{role}")
    assert deleted.status_code == (403 if role == "reader" else 200)
    if deleted.status_code == 200:  # put it back for the next role
        again = api.call(
            "POST",
            "/v1/memories",
            "acme:writer",
            json={"text": "acme ships rockets on Fridays", "namespace": "vault"},
        )
        planted["acme_id"] = again.json()["memory"]["id"]


def test_namespace_scoped_key_sees_only_its_namespaces(api: Api) -> None:
    inside = api.call(
        "POST", "/v1/memories", "acme:scoped", json={"text": "team a notes", "namespace": "team:a"}
    )
    assert inside.status_code == 201
    outside = api.call(
        "POST", "/v1/memories", "acme:scoped", json={"text": "elsewhere", "namespace": "vault"}
    )
    assert outside.status_code == 403
    other = api.call(
        "POST", "/v1/memories", "acme:writer", json={"text": "team b secret plan", "namespace": "team:b"}
    )
    other_id = other.json()["memory"]["id"]
    assert api.call("GET", f"/v1/memories/{other_id}", "acme:scoped").status_code == 404
    assert api.call("DELETE", f"/v1/memories/{other_id}", "acme:scoped").status_code == 404
    listed = api.call("GET", "/v1/memories", "acme:scoped").json()["items"]
    assert {m["namespace"] for m in listed} == {"team:a"}
    hits = api.call("POST", "/v1/recall", "acme:scoped", json={"query": "team secret plan notes"}).json()[
        "hits"
    ]
    assert hits and {h["memory"]["namespace"] for h in hits} == {"team:a"}
    assert (
        api.call(
            "POST", "/v1/recall", "acme:scoped", json={"query": "plan", "namespace": "team:b"}
        ).status_code
        == 403
    )
    assert [
        s["namespace"] for s in api.call("GET", "/v1/namespaces", "acme:scoped").json()["namespaces"]
    ] == ["team:a"]
    assert api.call("GET", "/v1/sessions/s1/messages", "acme:scoped").status_code == 403
