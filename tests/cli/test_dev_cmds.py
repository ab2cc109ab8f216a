"""``cortex dev postgres`` as a real process: URL first, pgvector works, Ctrl-C stops it."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import skip_or_fail

from .helpers import cortex_script, script_env


@pytest.fixture
def folder() -> Iterator[Path]:
    """Under /tmp itself: as root the server runs as another user, who must reach it."""
    path = Path(tempfile.mkdtemp(prefix="cortex-dev-pg-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start(folder: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([cortex_script(), "dev", "postgres", "--dir", str(folder), *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=script_env())
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first:
        process.wait(30)
        assert process.stderr is not None
        skip_or_fail(f"cortex dev postgres did not start: {process.stderr.read().strip()}")
    return process, first


def interrupt(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_dev_postgres_prints_its_url_serves_pgvector_and_stops_on_ctrl_c(folder: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    from cortex.store.postgres.local import free_port

    port = free_port()
    process, url = start(folder, "--port", str(port))
    try:
        assert url.startswith("postgresql://postgres:") and url.endswith(f"@127.0.0.1:{port}/postgres")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
            row = conn.execute("SELECT '[1,0]'::vector <=> '[0,1]'::vector").fetchone()
            assert row == (1.0,)
    finally:
        status, err = interrupt(process)
    assert status == 0, err
    assert "stopped" in err
    assert not port_open(port) and not (folder / "data" / "postmaster.pid").exists()

    again, same = start(folder, "--json")  # reused: same password, same port, data kept
    try:
        assert json.loads(same)["url"] == url
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone()
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=60)
    assert again.returncode == 0 and not port_open(port)


def test_a_second_server_on_the_same_folder_is_refused(folder: Path) -> None:
    pytest.importorskip("psycopg")
    process, _ = start(folder)
    try:
        second = subprocess.run([cortex_script(), "dev", "postgres", "--dir", str(folder)],
                                capture_output=True, text=True, env=script_env(), timeout=60)
        assert second.returncode == 1
        assert second.stderr.startswith("error: ") and "already running" in second.stderr
        assert second.stderr.count("\n") == 1
    finally:
        status, err = interrupt(process)
    assert status == 0, err
