"""OpenAICompatEmbedder against a small real OpenAI-compatible server on loopback."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from cortex.core.errors import ConfigError, EmbeddingError
from cortex.embed import OpenAICompatEmbedder, Vectors, open_embedder

DIM = 8
KEY = "sk-test-123"


def hash_vector(text: str, dim: int = DIM) -> list[float]:
    """Deterministic, unnormalised vector for a text (the server's 'model')."""
    digest = hashlib.sha256(text.encode()).digest()
    return [float(b) - 127.5 for b in digest[:dim]]


@dataclass
class ServerState:
    """What the server saw, and the failures it is told to produce."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Response] = field(default_factory=list)


def build_app(state: ServerState) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        body = await request.json()
        auth = request.headers.get("authorization")
        state.requests.append({"body": body, "auth": auth, "at": time.monotonic()})
        if state.failures:
            return state.failures.pop(0)
        if body["model"] == "secured" and auth != f"Bearer {KEY}":
            return JSONResponse({"error": {"message": "bad key"}}, status_code=401)
        return JSONResponse(reply_for(body["model"], body["input"]))

    return app


def reply_for(model: str, texts: list[str]) -> Any:
    rows = [{"object": "embedding", "index": i, "embedding": hash_vector(t)} for i, t in enumerate(texts)]
    if model == "reversed":  # servers may return rows in any order; index decides
        rows.reverse()
    if model == "wide":
        rows = [{**row, "embedding": hash_vector(t, DIM * 2)} for row, t in zip(rows, texts, strict=True)]
    if model == "missing-row":
        rows = rows[:-1]
    if model == "no-data":
        return {"object": "list", "rows": rows}
    return {"object": "list", "data": rows, "model": model}


@dataclass
class Server:
    url: str
    state: ServerState


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def live() -> Iterator[Server]:
    state = ServerState()
    port = free_port()
    config = uvicorn.Config(build_app(state), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "test server did not start"
        time.sleep(0.01)
    yield Server(f"http://127.0.0.1:{port}/v1", state)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def server(live: Server) -> Server:
    live.state.requests.clear()
    live.state.failures.clear()
    return live


def expected(texts: list[str]) -> Vectors:
    raw = np.asarray([hash_vector(t) for t in texts], dtype=np.float32)
    unit: Vectors = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    return unit


def test_success_returns_normalised_vectors_in_input_order(server: Server) -> None:
    texts = ["alpha", "beta", "gamma"]
    with OpenAICompatEmbedder(server.url, "plain", dim=DIM) as emb:
        out = emb.embed_batch(texts)
    assert out.dtype == np.float32 and out.shape == (3, DIM)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(out, expected(texts), atol=1e-6)
    assert server.state.requests[0]["body"] == {"model": "plain", "input": texts}
    assert server.state.requests[0]["auth"] is None


def test_rows_are_ordered_by_index_not_position(server: Server) -> None:
    texts = ["one", "two", "three", "four"]
    with OpenAICompatEmbedder(server.url, "reversed", dim=DIM) as emb:
        np.testing.assert_allclose(emb.embed_batch(texts), expected(texts), atol=1e-6)


def test_batches_are_split_and_reassembled(server: Server) -> None:
    texts = [f"text {i}" for i in range(7)]
    with OpenAICompatEmbedder(server.url, "plain", dim=DIM, batch_size=3) as emb:
        out = emb.embed_batch(texts)
    assert [len(r["body"]["input"]) for r in server.state.requests] == [3, 3, 1]
    np.testing.assert_allclose(out, expected(texts), atol=1e-6)


def test_bearer_key_is_sent(server: Server) -> None:
    with OpenAICompatEmbedder(server.url, "secured", api_key=KEY, dim=DIM) as emb:
        assert emb.embed_batch(["hi"]).shape == (1, DIM)
    assert server.state.requests[0]["auth"] == f"Bearer {KEY}"


def test_401_is_an_embedding_error(server: Server) -> None:
    with OpenAICompatEmbedder(server.url, "secured", api_key="wrong", dim=DIM) as emb:
        with pytest.raises(EmbeddingError, match="401") as info:
            emb.embed_batch(["hi"])
    assert info.value.detail["status_code"] == 401
    assert len(server.state.requests) == 1  # client errors are not retried


def test_429_is_retried_after_retry_after(server: Server) -> None:
    server.state.failures.append(PlainTextResponse("slow down", 429, headers={"Retry-After": "1"}))
    with OpenAICompatEmbedder(server.url, "plain", dim=DIM) as emb:
        out = emb.embed_batch(["again"])
    np.testing.assert_allclose(out, expected(["again"]), atol=1e-6)
    first, second = server.state.requests
    assert second["at"] - first["at"] >= 0.9


def test_5xx_gives_up_after_bounded_retries(server: Server) -> None:
    server.state.failures.extend(PlainTextResponse("down", 503) for _ in range(3))
    with OpenAICompatEmbedder(server.url, "plain", dim=DIM, max_retries=2, max_retry_wait=0.01) as emb:
        with pytest.raises(EmbeddingError, match="503"):
            emb.embed_batch(["x"])
    assert len(server.state.requests) == 3


@pytest.mark.parametrize(
    "failure",
    [
        PlainTextResponse("not json", 200),
        JSONResponse({"data": [{"index": 0}]}),
        JSONResponse({"data": [{"index": 0, "embedding": ["a", "b"]}]}),
        JSONResponse({"data": "nope"}),
    ],
)
def test_malformed_body_is_an_embedding_error(server: Server, failure: Response) -> None:
    server.state.failures.append(failure)
    with OpenAICompatEmbedder(server.url, "plain", dim=DIM) as emb:
        with pytest.raises(EmbeddingError, match="malformed"):
            emb.embed_batch(["x"])


@pytest.mark.parametrize("model", ["missing-row", "no-data"])
def test_incomplete_answers_are_embedding_errors(server: Server, model: str) -> None:
    with OpenAICompatEmbedder(server.url, model, dim=DIM) as emb:
        with pytest.raises(EmbeddingError):
            emb.embed_batch(["a", "b"])


def test_dimension_mismatch_is_an_embedding_error(server: Server) -> None:
    with OpenAICompatEmbedder(server.url, "wide", dim=DIM) as emb:
        with pytest.raises(EmbeddingError, match=f"{DIM * 2}-d"):
            emb.embed_batch(["x"])


def test_unknown_dim_is_learned_from_the_server(server: Server) -> None:
    with OpenAICompatEmbedder(server.url, "plain") as emb:
        assert emb.dim == DIM
        assert emb.embed_batch([]).shape == (0, DIM)


def test_timeout_is_an_embedding_error() -> None:
    with socket.socket() as sock:  # accepts the connection, never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        with OpenAICompatEmbedder(url, "plain", dim=DIM, timeout=0.2) as emb:
            with pytest.raises(EmbeddingError, match="timed out"):
                emb.embed_batch(["x"])


def test_connection_refused_is_an_embedding_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with OpenAICompatEmbedder(url, "plain", dim=DIM) as emb:
        with pytest.raises(EmbeddingError, match="failed"):
            emb.embed_batch(["x"])


def test_spec_opens_the_same_client(server: Server) -> None:
    emb = open_embedder(f"openai+{server.url}?model=secured&dim={DIM}", api_key=KEY)
    assert isinstance(emb, OpenAICompatEmbedder)
    with emb:
        assert emb.name == "secured" and emb.dim == DIM
        np.testing.assert_allclose(emb.embed_batch(["x"]), expected(["x"]), atol=1e-6)


@pytest.mark.parametrize(
    "spec",
    [
        "openai+http://h/v1",
        "openai+http:///v1?model=m",
        "openai+http://h/v1?model=m&x=1",
        "openai+http://h?model=m&dim=a",
    ],
)
def test_bad_specs_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        open_embedder(spec)


def test_engine_runs_on_an_http_embedder_and_closes_it(server: Server, tmp_path) -> None:
    from cortex import Cortex

    spec = f"openai+{server.url}?model=plain&dim={DIM}"
    engine = Cortex.open(f"sqlite:///{tmp_path / 'http.db'}", embedder=spec,
                         embedder_api_key="sk-test")
    stored = engine.remember("the blue whale is the largest animal", namespace="facts")
    hits = engine.recall("the blue whale is the largest animal", namespace="facts")
    assert hits[0].memory.id == stored.memory.id
    assert server.state.requests[0]["auth"] == "Bearer sk-test"
    inner = engine.embedder
    while not isinstance(inner, OpenAICompatEmbedder):  # through the privacy shield and the cache
        inner = inner.inner  # type: ignore[attr-defined]
    engine.close()
    assert inner._client.is_closed
