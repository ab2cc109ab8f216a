"""Credentials at the HTTP edge: keys that expired or were revoked, JWTs good and bad, limits."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from cortex.api import create_app
from cortex.embed import CachingEmbedder
from tests.api.conftest import Api, settings_for
from tests.live import serve

JWT_SECRET = "a-test-secret-that-is-at-least-32-bytes-long"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_missing_and_malformed_credentials(api: Api) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer"},
        bearer("ctx_short"),
        bearer("ctx_aaaaaaaaaaaa_" + "x" * 43),
        {"Authorization": "Basic dXNlcjpwYXNz"},
        bearer("a.b.c"),
    ):
        answer = api.call("GET", "/v1/namespaces", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["type"] == "cortex/unauthenticated"


def test_x_api_key_header_works_too(api: Api) -> None:
    answer = api.call("GET", "/v1/namespaces", headers={"X-API-Key": api.keys["acme:reader"]})
    assert answer.status_code == 200


def test_wrong_secret_for_a_real_key_id(api: Api) -> None:
    key_id = api.keys["acme:reader"].split("_")[1]
    answer = api.call("GET", "/v1/namespaces", headers=bearer(f"ctx_{key_id}_{'A' * 43}"))
    assert answer.status_code == 401 and answer.json()["detail"] == "invalid API key"


def test_revoked_key_stops_working_at_once(api: Api) -> None:
    issued = api.engine.keys.create("acme", "reader")
    assert api.call("GET", "/v1/namespaces", headers=bearer(issued.key)).status_code == 200
    revoked = api.call("DELETE", f"/v1/keys/{issued.record.id}", "acme:admin")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    answer = api.call("GET", "/v1/namespaces", headers=bearer(issued.key))
    assert answer.status_code == 401 and answer.json()["detail"] == "API key was revoked"


def test_expired_key_is_refused(api: Api) -> None:
    issued = api.engine.keys.create("acme", "reader", expires_at=datetime.now(UTC) + timedelta(seconds=1))
    assert api.call("GET", "/v1/namespaces", headers=bearer(issued.key)).status_code == 200
    time.sleep(1.1)
    answer = api.call("GET", "/v1/namespaces", headers=bearer(issued.key))
    assert answer.status_code == 401 and answer.json()["detail"] == "API key has expired"


def test_admin_creates_a_key_over_http_and_it_works(api: Api) -> None:
    made = api.call(
        "POST", "/v1/keys", "acme:admin", json={"role": "writer", "namespaces": ["team:z"], "name": "ci bot"}
    )
    assert made.status_code == 201
    body = made.json()
    assert body["record"]["tenant"] == "acme" and body["record"]["namespaces"] == ["team:z"]
    listed = api.call("GET", "/v1/keys", "acme:admin").json()["keys"]
    assert body["record"]["id"] in {k["id"] for k in listed}
    assert body["key"] not in str(listed)  # secrets are never listed
    wrote = api.call(
        "POST",
        "/v1/memories",
        headers=bearer(body["key"]),
        json={"text": "made with a new key", "namespace": "team:z"},
    )
    assert wrote.status_code == 201
    past = api.call(
        "POST", "/v1/keys", "acme:admin", json={"role": "reader", "expires_at": "2001-01-01T00:00:00Z"}
    )
    assert past.status_code == 422


@pytest.fixture(scope="module")
def jwt_api(tmp_path_factory: pytest.TempPathFactory, embedder: CachingEmbedder) -> Any:
    app = create_app(
        settings_for(
            tmp_path_factory.mktemp("jwt"), jwt_secret=JWT_SECRET, jwt_audience="cortex", rate_limit_rps=0
        ),
        embedder=embedder,
    )
    with serve(app) as base, httpx.Client(base_url=base) as client:
        yield client


def token(**claims: Any) -> str:
    body = {
        "tenant": "acme",
        "role": "writer",
        "sub": "agent-7",
        "aud": "cortex",
        "exp": int(time.time()) + 300,
        **claims,
    }
    return jwt.encode({k: v for k, v in body.items() if v is not None}, JWT_SECRET, algorithm="HS256")


def test_jwt_maps_claims_to_tenant_and_role(jwt_api: httpx.Client) -> None:
    wrote = jwt_api.post("/v1/memories", headers=bearer(token()), json={"text": "via a JWT"})
    assert wrote.status_code == 201 and wrote.json()["memory"]["tenant"] == "acme"
    reader = jwt_api.post("/v1/memories", headers=bearer(token(role="reader")), json={"text": "no"})
    assert reader.status_code == 403
    other = jwt_api.get("/v1/memories", headers=bearer(token(tenant="globex", role="reader")))
    assert other.status_code == 200 and other.json()["items"] == []


@pytest.mark.parametrize(
    "bad",
    [
        token(exp=int(time.time()) - 3600),
        token(aud="someone-else"),
        token(tenant=None),
        token(role="root"),
        token(exp=None),
        jwt.encode(
            {"tenant": "acme", "role": "admin", "aud": "cortex", "exp": int(time.time()) + 60},
            "another-secret-that-is-also-32-bytes-long!",
            algorithm="HS256",
        ),
        jwt.encode(
            {"tenant": "acme", "role": "admin", "aud": "cortex", "exp": int(time.time()) + 60},
            None,
            algorithm="none",
        ),
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
        token()[:-4] + "AAAA",
    ],
)
def test_malformed_or_forged_jwts_are_401(jwt_api: httpx.Client, bad: str) -> None:
    answer = jwt_api.get("/v1/namespaces", headers=bearer(bad))
    assert answer.status_code == 401, answer.text
    assert answer.json()["type"] == "cortex/unauthenticated"
    assert bad not in answer.text


def test_jwts_are_refused_when_not_configured(api: Api) -> None:
    answer = api.call("GET", "/v1/namespaces", headers=bearer(token()))
    assert answer.status_code == 401 and "not accepted" in answer.json()["detail"]


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path, embedder: CachingEmbedder) -> None:
    app = create_app(settings_for(tmp_path, rate_limit_rps=0.5, rate_limit_burst=2), embedder=embedder)
    with serve(app) as base, httpx.Client(base_url=base) as client:
        key = app.state.services.engine.keys.create("acme", "reader").key
        other = app.state.services.engine.keys.create("globex", "reader").key
        codes = [client.get("/v1/namespaces", headers=bearer(key)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = client.get("/v1/namespaces", headers=bearer(key))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["type"] == "cortex/rate-limited" and limited.json()["retry_after"] > 0
        assert client.get("/v1/namespaces", headers=bearer(other)).status_code == 200  # per tenant


def test_quotas_refuse_writes_beyond_the_limit_and_change_nothing(
    tmp_path: Path, embedder: CachingEmbedder
) -> None:
    app = create_app(
        settings_for(tmp_path, max_memories_per_tenant=2, max_bytes_per_tenant=100, rate_limit_rps=0),
        embedder=embedder,
    )
    with serve(app) as base, httpx.Client(base_url=base) as client:
        key = bearer(app.state.services.engine.keys.create("acme", "writer").key)
        assert client.post("/v1/memories", headers=key, json={"text": "one"}).status_code == 201
        batch = client.post(
            "/v1/memories/batch", headers=key, json={"items": [{"text": "two"}, {"text": "three"}]}
        )
        assert batch.status_code == 403 and batch.json()["type"] == "cortex/quota-exceeded"
        big = client.post("/v1/memories", headers=key, json={"text": "x" * 200})
        assert big.status_code == 403 and "bytes" in big.json()["detail"]
        assert len(client.get("/v1/memories", headers=key).json()["items"]) == 1
        usage = app.state.services.engine.usage(tenant="acme")
        assert (usage.memories, usage.bytes) == (1, len(b"one") + len(b"{}"))


def test_two_api_nodes_share_one_rate_limit_through_redis(tmp_path: Path, embedder: CachingEmbedder) -> None:
    import uuid

    import redis

    from tests.conftest import skip_or_fail

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail("Redis on 127.0.0.1:6379")
    tenant = f"shared-{uuid.uuid4().hex[:8]}"  # a fresh limiter key for this run
    store = settings_for(tmp_path, rate_limit_rps=0.5, rate_limit_burst=3, redis_url=url).store_url
    node_a = create_app(settings_for(tmp_path, rate_limit_rps=0.5, rate_limit_burst=3, redis_url=url),
                        embedder=embedder)
    node_b = create_app(settings_for(tmp_path, rate_limit_rps=0.5, rate_limit_burst=3, redis_url=url),
                        embedder=embedder)
    with serve(node_a) as base_a, serve(node_b) as base_b, httpx.Client() as client:
        assert node_a.state.services.engine.store.url == store
        key = bearer(node_a.state.services.engine.keys.create(tenant, "reader").key)
        codes = [client.get(f"{base}/v1/namespaces", headers=key).status_code
                 for base in (base_a, base_b, base_a, base_b)]
        assert codes == [200, 200, 200, 429]  # a burst of 3 across both nodes, not 3 each
        assert client.get(f"{base_b}/readyz").json()["checks"]["redis"]["ok"] is True
