"""Tenant isolation enforced by PostgreSQL itself (row-level security), not only by the
store's queries: a meta-test over the catalog, and queries through the serving role."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from cortex.core.models import MemoryFilter, utcnow
from cortex.store.postgres.connection import APP_ROLE
from cortex.store.postgres.store import PostgresStore
from tests import pg

from .helpers import DIM, new_memory, unit_vectors

pg_server = pg.pg_server
pg_url = pg.pg_url
pg_keys = pg.pg_keys
CROSS_TENANT_ROLE = "cortex_cross_tenant"
TENANT_TABLES = {"memories", "memory_tags", "vectors", "tenant_settings", "api_keys", "tenant_usage",
                 "session_messages", "audit_log", "audit_checkpoints", "tenant_policies", "memory_meta",
                 "vault"}


@pytest.fixture
def two_tenants(pg_url: str, pg_keys: pg.Keys) -> Iterator[PostgresStore]:
    store = PostgresStore(pg_url, dim=DIM, sealer=pg_keys.sealer())
    store.insert("a", [new_memory("alpha secret", tags=["x"], metadata={"k": 1})], unit_vectors(1, 1), "m")
    store.insert("b", [new_memory("bravo secret", tags=["x"], metadata={"k": 1})], unit_vectors(1, 2), "m")
    yield store
    store.close()


def as_app(url: str, tenant: str | None) -> psycopg.Connection[tuple[object, ...]]:
    """A connection acting as the serving role, bound to ``tenant`` (None: nothing set)."""
    conn = psycopg.connect(url)
    conn.execute(f"SET ROLE {APP_ROLE}".encode())
    if tenant is not None:
        conn.execute("SELECT set_config('cortex.tenant', %s, false)", (tenant,))
    return conn


def test_every_table_with_a_tenant_column_has_forced_rls_and_a_tenant_policy(pg_url: str) -> None:
    PostgresStore(pg_url, dim=DIM).close()
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attname = 'tenant'"
            " AND NOT a.attisdropped").fetchall()
        policies = {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(
            "SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = 'public'")}
    assert {t[0] for t in tables} >= TENANT_TABLES  # the list below is not accidentally empty
    for name, enabled, forced in tables:
        assert enabled and forced, f"{name}: row-level security must be ENABLEd and FORCEd"
        qual, check = policies.get((name, "tenant_isolation"), (None, None))
        assert qual is not None and "current_setting('cortex.tenant'" in qual, f"{name}: no tenant policy"
        assert check is not None and "current_setting('cortex.tenant'" in check, f"{name}: no WITH CHECK"
    # any other policy is the read-only cross-tenant one, for the definer role only
    for (table, policy), _ in policies.items():
        assert policy in ("tenant_isolation", "cross_tenant_read"), f"{table}: unexpected policy {policy}"


def test_the_serving_role_has_no_way_around_the_policies(pg_url: str) -> None:
    PostgresStore(pg_url, dim=DIM).close()
    with psycopg.connect(pg_url) as conn:
        role = conn.execute("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = %s",
                            (APP_ROLE,)).fetchone()
        owned = conn.execute("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
                             " WHERE r.rolname IN (%s, %s) AND c.relkind = 'r'",
                             (APP_ROLE, CROSS_TENANT_ROLE)).fetchone()
        member = conn.execute("SELECT pg_has_role(%s, %s, 'MEMBER')",
                              (APP_ROLE, CROSS_TENANT_ROLE)).fetchone()
        definers = conn.execute(
            "SELECT p.proname, r.rolname, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE')"
            " FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND p.prosecdef").fetchall()
    assert role == (False, False, False)
    assert owned == (0,) and member == (False,)
    assert definers, "the cross-tenant functions are SECURITY DEFINER"
    for name, _owner, config, public in definers:
        assert config and any(c.startswith("search_path=") for c in config), f"{name}: no fixed search_path"
        assert not public, f"{name}: executable by PUBLIC"


def test_without_the_tenant_setting_the_serving_role_sees_no_rows(two_tenants: PostgresStore,
                                                                   pg_url: str) -> None:
    with as_app(pg_url, None) as conn:
        for table in sorted(TENANT_TABLES):
            row = conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()
            assert row == (0,), f"{table} leaks rows without a tenant"
        conn.execute("SELECT set_config('cortex.tenant', '', false)")  # what a pooled connection has
        assert conn.execute("SELECT count(*) FROM memories").fetchone() == (0,)


def test_with_a_tenant_bound_only_its_rows_exist(two_tenants: PostgresStore, pg_url: str) -> None:
    with as_app(pg_url, "a") as conn:
        rows = [r[0] for r in conn.execute("SELECT tenant FROM memories")]  # no WHERE at all
        assert rows == ["a"]
        for table in ("memory_tags", "memory_meta"):
            assert conn.execute(f"SELECT DISTINCT tenant FROM {table}".encode()).fetchall() == [("a",)]
        assert conn.execute("UPDATE memories SET importance = 1 WHERE tenant = 'b'").rowcount == 0
        assert conn.execute("DELETE FROM vectors WHERE tenant = 'b'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # WITH CHECK: no writing for b
            conn.execute("INSERT INTO tenant_settings (tenant, fusion_weights) VALUES ('b', '{}')")
    with as_app(pg_url, "a") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE audit_log SET event = 'x'")  # the log is append-only for the app
    assert two_tenants.get("b", two_tenants.list("b", MemoryFilter(), utcnow(), 1)[0].id) is not None


def test_the_cross_tenant_functions_answer_only_their_question(two_tenants: PostgresStore,
                                                                pg_url: str) -> None:
    with as_app(pg_url, None) as conn:
        assert [r[0] for r in conn.execute("SELECT cortex_tenants()")] == ["a", "b"]
        assert conn.execute("SELECT count(*) FROM memories").fetchone() == (0,)
    assert two_tenants.tenants() == ["a", "b"] and two_tenants.audit_tenants() == ["a", "b"]


def test_text_matches_are_the_bound_tenant_s_only(two_tenants: PostgresStore, pg_url: str) -> None:
    """cortex_text_matches (the GIN index for the serving role) runs as the definer role,
    which may read every tenant: it still answers only for the bound one."""
    matches = "SELECT * FROM cortex_text_matches(to_tsquery('cortex_english', 'secret'), NULL)"
    with as_app(pg_url, "a") as conn:
        assert conn.execute(matches).fetchall() == conn.execute("SELECT seq FROM memories").fetchall()
        assert len(conn.execute(matches).fetchall()) == 1  # "alpha secret", not "bravo secret"
    with as_app(pg_url, None) as conn:
        assert conn.execute(matches).fetchall() == []
        conn.execute("SELECT set_config('cortex.tenant', '', false)")
        assert conn.execute(matches).fetchall() == []


def test_a_pooled_connection_keeps_no_role_or_tenant(pg_url: str, pg_keys: pg.Keys) -> None:
    store = PostgresStore(pg_url, dim=DIM, pool_size=1, sealer=pg_keys.sealer())
    store.insert("a", [new_memory("x")], unit_vectors(1), "m")
    with store._pool.connection() as conn:  # the same (only) connection, after the transaction
        row = conn.execute("SELECT current_user = session_user,"
                           " coalesce(current_setting('cortex.tenant', true), '')").fetchone()
    assert row == (True, "")
    store.close()


def test_a_non_superuser_owner_migrates_and_is_bound_by_the_policies(pg_server: pg.PgServer,
                                                                     pg_keys: pg.Keys) -> None:
    """The production shape: the owner is an ordinary role (FORCE applies to it too)."""
    name = f"cortex_owned_{id(pg_server)}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cortex_owner')"
                      " THEN CREATE ROLE cortex_owner LOGIN PASSWORD 'owner-pw'; END IF; END $$")
        # what docs/storage.md tells an operator whose roles already exist: SET, not INHERIT
        admin.execute(f"GRANT {APP_ROLE}, {CROSS_TENANT_ROLE} TO cortex_owner WITH INHERIT FALSE".encode())
        admin.execute(f'CREATE DATABASE "{name}" OWNER cortex_owner'.encode())
    try:
        with psycopg.connect(pg_server.url(name), autocommit=True) as admin:  # pgvector is untrusted
            admin.execute("CREATE EXTENSION vector")
        url = pg_server.url(name, "cortex_owner", "owner-pw")
        store = PostgresStore(url, dim=DIM, sealer=pg_keys.sealer())
        store.insert("a", [new_memory("owned")], unit_vectors(1), "m")
        assert store.tenants() == ["a"] and store.usage("a").memories == 1
        assert store.key_with_secret("none") is None and store.expire(utcnow()) == 0
        with psycopg.connect(url) as conn:  # the owner itself, without a tenant: nothing
            assert conn.execute("SELECT current_user").fetchone() == ("cortex_owner",)
            assert conn.execute("SELECT count(*) FROM memories").fetchone() == (0,)
        store.close()
    finally:
        pg_server.drop_database(name)
