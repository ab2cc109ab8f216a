"""Two API nodes — two `cortex serve` processes on different ports — over one PostgreSQL
and one Redis serve the same tenant consistently: a write on one is recalled on the
other, working memory and cached recalls are shared and invalidated, and one rate limit
holds across both."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from cortex import Cortex
from cortex.embed import CachingEmbedder
from tests import pg
from tests.cli.helpers import cortex_script, script_env
from tests.conftest import skip_or_fail
from tests.live import free_port

pg_server = pg.pg_server
pg_url = pg.pg_url
REDIS = "redis://127.0.0.1:6379/15"


def _start(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen([cortex_script(), "serve", "--port", str(port)],
                            env={**env, "CORTEX_PORT": str(port)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _ready(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise AssertionError(f"node exited: {server.stderr.read() if server.stderr else ''}")
        assert time.monotonic() < deadline, "node never became ready"
        time.sleep(0.3)


@pytest.fixture
def nodes(pg_url: str, tmp_path: Path, embedder: CachingEmbedder) -> Iterator[tuple[str, str, str]]:
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis on 127.0.0.1:6379 ({exc})")
    master = base64.b64encode(os.urandom(32)).decode()
    env = {**script_env(), "CORTEX_STORE_URL": pg_url, "CORTEX_REDIS_URL": REDIS,
           "CORTEX_RATE_LIMIT_RPS": "0.2", "CORTEX_RATE_LIMIT_BURST": "6",
           "CORTEX_AUDIT_KEY_FILE": str(tmp_path / "audit.key"), "CORTEX_MASTER_KEY": master,
           "CORTEX_KEYSTORE": str(tmp_path / "shared.keys"), "CORTEX_LOG_LEVEL": "warning"}
    tenant = f"shared-{uuid.uuid4().hex[:8]}"  # a fresh rate-limit bucket for this run
    with Cortex.open(pg_url, embedder=embedder) as engine:
        key = engine.keys.create(tenant, "admin").key
    servers = []
    try:
        bases = []
        for _ in range(2):
            port = free_port()
            servers.append(_start(env, port))
            bases.append(f"http://127.0.0.1:{port}")
        for base, server in zip(bases, servers, strict=True):
            _ready(base, server)
        yield bases[0], bases[1], key
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            try:
                server.communicate(timeout=30)  # also closes its stderr pipe
            except subprocess.TimeoutExpired:
                server.kill()
                server.communicate()


@pytest.mark.slow
def test_two_nodes_over_postgres_and_redis(nodes: tuple[str, str, str]) -> None:
    a, b, key = nodes
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(headers=auth, timeout=60) as http:
        made = http.post(f"{a}/v1/memories", json={"text": "The release train leaves on Thursday"})
        assert made.status_code == 201, made.text
        query = {"query": "when does the release train leave"}
        hits = http.post(f"{b}/v1/recall", json=query).json()["hits"]
        assert hits[0]["memory"]["id"] == made.json()["memory"]["id"]  # written on A, recalled on B

        newer = http.post(f"{a}/v1/memories", json={"text": "The release train moved to Friday"}).json()
        again = http.post(f"{b}/v1/recall", json=query).json()["hits"]
        assert newer["memory"]["id"] in {h["memory"]["id"] for h in again}  # B's cached answer invalidated

        assert http.post(f"{a}/v1/sessions/s1/messages", json={"text": "hello from A"}).status_code == 201
        shown = http.get(f"{b}/v1/sessions/s1/messages").json()
        assert [m["text"] for m in shown["messages"]] == ["hello from A"]  # working memory in Redis

        # the six requests above spent the shared burst of 6 (0.2/s refill): from here on both
        # nodes refuse, which they could not if each kept its own bucket
        codes = {base: [http.get(f"{base}/v1/namespaces").status_code for _ in range(3)] for base in (a, b)}
        assert codes[a].count(429) >= 2 and codes[b].count(429) >= 2, codes
