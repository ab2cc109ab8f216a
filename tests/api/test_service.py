"""The service's edges: problem+json everywhere, body limit, request ids, readiness, metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cortex.api import create_app
from cortex.api.problems import from_error
from cortex.core.errors import RateLimited, all_error_classes
from cortex.embed import CachingEmbedder
from tests.api.conftest import Api, settings_for
from tests.live import free_port, serve

PROBLEM_KEYS = {"type", "title", "status", "detail"}


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.__name__)
def test_every_engine_error_renders_as_the_same_problem(cls: type) -> None:
    exc = RateLimited("slow down", retry_after=2.5) if cls is RateLimited else cls("it broke", field="x")
    response = from_error(exc)
    assert response.status_code == cls.status
    assert response.media_type == "application/problem+json"
    body = httpx.Response(200, content=response.body).json()
    assert PROBLEM_KEYS <= set(body) and body["type"] == cls.type and body["status"] == cls.status


def test_unknown_routes_and_methods_are_problems_too(api: Api) -> None:
    for method, path, status in [("GET", "/v1/nothing", 404), ("PUT", "/v1/recall", 405)]:
        answer = api.call(method, path, "acme:reader")
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/problem+json"
        assert PROBLEM_KEYS <= set(answer.json())


def test_validation_errors_name_fields_but_never_echo_values(api: Api) -> None:
    secret = "sk-live-do-not-echo-me"
    answer = api.call("POST", "/v1/memories", "acme:writer", json={"text": secret, "importance": secret})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "importance"]
    assert secret not in answer.text
    not_json = api.call(
        "POST",
        "/v1/recall",
        "acme:reader",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert not_json.status_code == 422 and not_json.headers["content-type"] == "application/problem+json"


def test_engine_validation_is_a_422_problem_and_writes_nothing(api: Api) -> None:
    before = api.call("GET", "/v1/namespaces", "globex:reader").json()
    answer = api.call(
        "POST",
        "/v1/memories/batch",
        "globex:writer",
        json={"items": [{"text": "fine", "namespace": "batchcheck"}, {"text": "   "}]},
    )
    assert answer.status_code == 422 and answer.json()["type"] == "cortex/invalid-text"
    assert api.call("GET", "/v1/namespaces", "globex:reader").json() == before


def test_batch_limit_is_1000(api: Api) -> None:
    items = [{"text": f"item {i}", "namespace": "bulk"} for i in range(1001)]
    answer = api.call("POST", "/v1/memories/batch", "globex:writer", json={"items": items})
    assert answer.status_code in (413, 422)


def test_bodies_over_the_limit_get_413_declared_or_streamed(
    tmp_path: Path, embedder: CachingEmbedder
) -> None:
    app = create_app(settings_for(tmp_path, max_body_bytes=2048, rate_limit_rps=0), embedder=embedder)
    with serve(app) as base, httpx.Client(base_url=base) as client:
        key = {"Authorization": f"Bearer {app.state.services.engine.keys.create('acme', 'writer').key}"}
        big = {"text": "x" * 4096}
        declared = client.post("/v1/memories", headers=key, json=big)
        assert declared.status_code == 413 and declared.json()["type"] == "cortex/payload-too-large"

        def chunks():  # no Content-Length: the limit must hold while streaming
            yield b'{"text": "'
            for _ in range(8):
                yield b"y" * 512
            yield b'"}'

        streamed = client.post(
            "/v1/memories", headers={**key, "content-type": "application/json"}, content=chunks()
        )
        assert streamed.status_code == 413
        assert client.get("/v1/memories", headers=key).json()["items"] == []
        assert client.post("/v1/memories", headers=key, json={"text": "small"}).status_code == 201


def test_request_ids_are_echoed_or_made(api: Api) -> None:
    given = api.call("GET", "/healthz", headers={"X-Request-ID": "trace-123"})
    assert given.headers["x-request-id"] == "trace-123"
    made = api.call("GET", "/healthz", headers={"X-Request-ID": "bad id with spaces;" + "x" * 200})
    assert made.headers["x-request-id"] != "bad id with spaces" and len(made.headers["x-request-id"]) == 32
    problem = api.call("GET", "/v1/namespaces", headers={"X-Request-ID": "trace-456"})
    assert problem.json()["request_id"] == "trace-456"


def test_access_log_is_json_without_text_or_keys(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="cortex.access"):
        api.call(
            "POST",
            "/v1/memories",
            "acme:writer",
            json={"text": "private diary entry"},
            headers={"X-Request-ID": "log-check"},
        )
    lines = [r for r in caplog.records if getattr(r, "fields", {}).get("request_id") == "log-check"]
    assert len(lines) == 1
    fields = lines[0].fields  # type: ignore[attr-defined]
    assert fields["tenant"] == "acme" and fields["route"] == "/v1/memories" and fields["status"] == 201
    assert fields["principal"].startswith("key:") and fields["latency_ms"] > 0
    assert "private diary" not in caplog.text and api.keys["acme:writer"] not in caplog.text


def test_metrics_count_requests_recalls_memories_and_batches(api: Api) -> None:
    api.call("POST", "/v1/memories", "globex:writer", json={"text": "globex counts too"})
    api.call("POST", "/v1/recall", "acme:reader", json={"query": "rockets"})
    text = api.call("GET", "/metrics").text
    assert 'cortex_http_requests_total{method="POST",route="/v1/recall",status="200"}' in text
    assert "cortex_http_request_duration_seconds_bucket" in text
    assert "cortex_recall_duration_seconds_count" in text
    assert 'cortex_memories{tenant="acme"}' in text and 'cortex_memory_bytes{tenant="globex"}' in text


def test_embed_batch_sizes_are_observed_when_the_service_owns_its_engine(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, rate_limit_rps=0))  # loads the model itself
    with serve(app) as base, httpx.Client(base_url=base) as client:
        key = {"Authorization": f"Bearer {app.state.services.engine.keys.create('acme', 'writer').key}"}
        client.post(
            "/v1/memories/batch",
            headers=key,
            json={"items": [{"text": f"fact number {i}"} for i in range(5)]},
        )
        text = client.get("/metrics").text
        assert 'cortex_embed_batch_size_bucket{le="8.0"}' in text
        assert "cortex_embed_batch_size_count 2.0" in text  # the warm-up and the batch


def test_readyz_is_503_with_the_failing_check_until_the_model_loads(tmp_path: Path) -> None:
    dead = f"openai+http://127.0.0.1:{free_port()}/v1?model=none&dim=384"
    app = create_app(settings_for(tmp_path, embedder=dead))
    with serve(app, ready_path="/healthz") as base, httpx.Client(base_url=base) as client:
        for _ in range(100):
            ready = client.get("/readyz")
            if (
                ready.json()["checks"]["model"]["error"]
                and "loading" not in ready.json()["checks"]["model"]["error"]
            ):
                break
        assert ready.status_code == 503
        body = ready.json()
        assert body["ready"] is False and body["checks"]["store"]["ok"] is True
        assert body["checks"]["model"]["ok"] is False and "failed to load" in body["checks"]["model"]["error"]
        assert client.get("/healthz").status_code == 200


def test_readyz_checks_redis_when_configured(tmp_path: Path, embedder: CachingEmbedder) -> None:
    app = create_app(
        settings_for(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0"), embedder=embedder
    )
    with serve(app, ready_path="/healthz") as base, httpx.Client(base_url=base) as client:
        body = client.get("/readyz").json()
        assert body["checks"]["redis"]["ok"] is False and "unreachable" in body["checks"]["redis"]["error"]
