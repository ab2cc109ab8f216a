"""`cortex keys ...` in-process, and `cortex serve` as a real process a user would start."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Run
from tests.cli.helpers import cortex_script, payload, script_env
from tests.live import free_port


def test_keys_create_list_revoke(cli: Run, store_url: str) -> None:
    made = payload(cli("--store", store_url, "--tenant", "acme", "keys", "create", "--role", "reader",
                       "--namespace", "user:ann", "--name", "dashboard", "--json"))
    assert made["key"].startswith("ctx_") and made["record"]["namespaces"] == ["user:ann"]
    listed = payload(cli("--store", store_url, "--tenant", "acme", "keys", "list", "--json"))
    assert [k["id"] for k in listed["keys"]] == [made["record"]["id"]]
    assert made["key"] not in json.dumps(listed)
    other = payload(cli("--store", store_url, "--tenant", "globex", "keys", "list", "--json"))
    assert other["keys"] == []
    cross = cli("--store", store_url, "--tenant", "globex", "keys", "revoke", made["record"]["id"])
    assert cross.exit_code == 1 and cross.stderr.startswith("error: no API key")
    revoked = payload(cli("--store", store_url, "--tenant", "acme", "keys", "revoke",
                          made["record"]["id"], "--json"))
    assert revoked["revoked_at"] is not None
    table = cli("--store", store_url, "--tenant", "acme", "keys", "list")
    assert made["record"]["id"] in table.stdout and "reader" in table.stdout


def test_keys_create_rejects_bad_input_and_writes_nothing(cli: Run, store_url: str) -> None:
    for args in (["--role", "root"], ["--expires", "2001-01-01T00:00:00Z"], ["--expires", "soon"],
                 ["--namespace", "bad namespace"]):
        result = cli("--store", store_url, "keys", "create", *args)
        assert result.exit_code == 1 and result.stderr.startswith("error: "), args
    reserved = cli("--store", store_url, "--tenant", "_system", "keys", "create")
    assert reserved.exit_code == 1 and "reserved" in reserved.stderr
    assert payload(cli("--store", store_url, "keys", "list", "--json"))["keys"] == []


@pytest.mark.slow
def test_serve_prints_a_one_time_admin_key_then_serves_it(tmp_path: Path) -> None:
    port = free_port()
    store = f"sqlite:///{tmp_path / 'served.db'}"
    server = subprocess.Popen([cortex_script(), "--store", store, "serve", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=script_env())
    try:
        banner = [server.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
        key = banner[2].strip()
        assert "created an admin key" in banner[0] and key.startswith("ctx_")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "server never became ready"
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {key}"}
        made = httpx.post(f"{base}/v1/memories", headers=auth, json={"text": "served from a real process"})
        assert made.status_code == 201
        hits = httpx.post(f"{base}/v1/recall", headers=auth, json={"query": "real process"}).json()["hits"]
        assert hits[0]["memory"]["text"] == "served from a real process"
        writer = httpx.post(f"{base}/v1/keys", headers=auth, json={"role": "writer"})
        assert writer.status_code == 201
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "cortex.access"]
    assert {a["route"] for a in access} >= {"/readyz", "/v1/memories", "/v1/recall", "/v1/keys"}
    assert key not in err and "served from a real process" not in err
    # a second start finds the key and prints none
    again = subprocess.run([cortex_script(), "--store", store, "keys", "list", "--json"],
                           capture_output=True, text=True, env=script_env(), check=True)
    assert len(json.loads(again.stdout)["keys"]) == 2


@pytest.mark.anyio
@pytest.mark.slow
async def test_cortex_mcp_serves_the_tools_on_stdio(tmp_path: Path) -> None:
    from mcp import Client, StdioServerParameters

    store = f"sqlite:///{tmp_path / 'mcp.db'}"
    params = StdioServerParameters(command=cortex_script(), env=script_env(),
                                   args=["--store", store, "--tenant", "acme", "mcp"])
    async with Client(params) as client:
        assert len((await client.list_tools()).tools) == 7
        made = await client.call_tool("remember", {"text": "Stdio memories land in the store"})
        assert not made.is_error
        await client.call_tool("session_append", {"session": "chat-9", "text": "hello from stdio"})
    listed = subprocess.run([cortex_script(), "--store", store, "--tenant", "acme", "list", "--json"],
                            capture_output=True, text=True, env=script_env(), check=True)
    assert "Stdio memories land in the store" in listed.stdout
    show = [cortex_script(), "--store", store, "--tenant", "acme", "session", "show", "chat-9", "--json"]
    session = subprocess.run(show, capture_output=True, text=True, env=script_env(), check=True)
    assert "hello from stdio" in session.stdout  # sessions persist in the store's file


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
