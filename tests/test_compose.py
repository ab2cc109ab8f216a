"""docker-compose.yml and the Dockerfile: valid Compose, and consistent with Cortex itself.

Nothing here runs containers (no image registry in tests). The Compose file is checked
against the Compose Specification's JSON schema, the copy vendored by the
``check-jsonschema`` package (``vendor.compose-spec``, from compose-spec/compose-spec,
Apache-2.0), and then against what Cortex accepts: every ``CORTEX_*`` variable is a real
setting with a valid value, and the two API nodes share one store and one Redis.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema

from cortex.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
API_NODES = ("api-1", "api-2")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return get_builtin_schema("vendor.compose-spec")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def interpolate(value: str) -> str:
    """Compose's ``${NAME:-default}`` / ``${NAME-default}`` with nothing set: the defaults."""
    assert "${" not in re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", "", value), (
        f"only ${{NAME:-default}} interpolation is used here: {value}")
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", value)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: interpolate(str(value)) for name, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on", {})
    return {name: {} for name in deps} if isinstance(deps, list) else dict(deps)


def host_ports(service: dict[str, Any]) -> Iterator[tuple[str, int]]:
    for port in service.get("ports", []):
        if isinstance(port, dict):
            if "published" in port:
                yield port.get("host_ip", ""), int(port["published"])
            continue
        parts = str(port).split("/")[0].rsplit(":", 2)
        if len(parts) >= 2:
            yield (parts[0] if len(parts) == 3 else ""), int(parts[-2])


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


# --- the Compose specification -------------------------------------------------------------

def test_the_compose_file_follows_the_compose_specification(schema, compose) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft202012Validator(schema).iter_errors(compose)]
    assert errors == []


@pytest.mark.parametrize("breakage", [
    {"servcies": {}},
    {"services": {"api-1": {"image": "x", "helthcheck": {}}}},
    {"services": {"api-1": {"image": "x", "depends_on": {"db": {"condition": "when_ready"}}}}},
])
def test_the_schema_would_catch_a_mistake(schema, breakage: dict[str, Any]) -> None:
    assert not jsonschema.Draft202012Validator(schema).is_valid(breakage)


# --- consistent with Cortex -----------------------------------------------------------------

def test_the_stack_has_its_services(services) -> None:
    assert {"postgres", "redis", "nats", *API_NODES} <= set(services)
    assert services["postgres"]["image"].startswith("pgvector/pgvector:pg1")
    assert "-js" in services["nats"]["command"]


def test_every_cortex_variable_is_a_real_setting_with_a_valid_value(services) -> None:
    for name, service in services.items():
        cortex_vars = {k: v for k, v in environment(service).items() if k.startswith("CORTEX_")}
        unknown = {k for k in cortex_vars if k.removeprefix("CORTEX_").lower() not in Settings.model_fields}
        assert not unknown, f"{name}: not settings of cortex.core.config.Settings: {sorted(unknown)}"
        Settings(**{k.removeprefix("CORTEX_").lower(): v for k, v in cortex_vars.items()})


def test_only_api_nodes_get_cortex_settings_and_they_get_the_essentials(services) -> None:
    for name, service in services.items():
        has = any(k.startswith("CORTEX_") for k in environment(service))
        assert has == (name in API_NODES), name
    for node in API_NODES:
        assert {"CORTEX_STORE_URL", "CORTEX_REDIS_URL", "CORTEX_HOST", "CORTEX_AUDIT_KEY_FILE"} <= set(
            environment(services[node]))


def test_api_nodes_share_one_store_one_redis_and_one_audit_key(services) -> None:
    envs = [environment(services[node]) for node in API_NODES]
    for name in ("CORTEX_STORE_URL", "CORTEX_REDIS_URL", "CORTEX_AUDIT_KEY_FILE", "CORTEX_MASTER_KEY_FILE",
                 "CORTEX_KEYSTORE"):
        assert len({env[name] for env in envs}) == 1, f"the API nodes disagree on {name}"
    store, cache = urlsplit(envs[0]["CORTEX_STORE_URL"]), urlsplit(envs[0]["CORTEX_REDIS_URL"])
    assert (store.scheme, store.hostname) == ("postgresql", "postgres")
    assert (cache.scheme, cache.hostname) == ("redis", "redis")
    for key in ("CORTEX_AUDIT_KEY_FILE", "CORTEX_MASTER_KEY_FILE", "CORTEX_KEYSTORE"):
        key_dir = str(Path(envs[0][key]).parent)
        for node in API_NODES:  # signing key, master key and keystore live on a shared volume
            mounts = [v for v in services[node].get("volumes", []) if isinstance(v, str)]
            assert any(m.split(":")[1] == key_dir for m in mounts), (node, key)
    assert len({tuple(services[node]["volumes"]) for node in API_NODES}) == 1


def test_dependencies_exist_and_are_waited_for_until_healthy(services) -> None:
    for name, service in services.items():
        for target, how in depends_on(service).items():
            assert target in services, f"{name} depends on a missing service {target}"
            assert how.get("condition") == "service_healthy", f"{name} -> {target}"
            assert "healthcheck" in services[target], f"{target} has no healthcheck to wait for"
    for node in API_NODES:
        assert {"postgres", "redis"} <= set(depends_on(services[node]))
    assert "api-1" in depends_on(services["api-2"])  # one first start: one admin key, one audit key


def test_healthchecks_ask_the_right_question(services) -> None:
    def check(name: str) -> str:
        test = services[name]["healthcheck"]["test"]
        return " ".join(test) if isinstance(test, list) else test

    assert "pg_isready" in check("postgres")
    assert "redis-cli ping" in check("redis")
    assert "/healthz" in check("nats")
    for node in API_NODES:
        port = environment(services[node])["CORTEX_PORT"]
        assert f"127.0.0.1:{port}/readyz" in check(node)


def test_published_ports_do_not_collide_and_reach_the_api(services) -> None:
    published = [port for service in services.values() for port in host_ports(service)]
    assert len(published) == len(set(published)), f"a host port is published twice: {published}"
    for node in API_NODES:
        port = environment(services[node])["CORTEX_PORT"]
        targets = [str(p).rsplit(":", 1)[-1] for p in services[node]["ports"]]
        assert targets == [port], f"{node} publishes {targets}, serves on {port}"


def test_volumes_are_named_and_declared(compose, services) -> None:
    declared = set(compose.get("volumes") or {})
    used = {str(v).split(":", 1)[0] for s in services.values() for v in s.get("volumes", [])}
    assert used == declared, "every volume is a declared named volume (no bind mounts), and used"


def test_api_nodes_run_cortex_serve_from_the_dockerfile(services) -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = [arg for kind, arg in instructions if kind == "RUN"]
    assert any(re.search(r"pip install \"?\.\[postgres\]", arg) for arg in runs)
    exec_form = {kind: json.loads(arg) for kind, arg in instructions if kind in ("ENTRYPOINT", "CMD")}
    assert exec_form.get("ENTRYPOINT", []) + exec_form.get("CMD", []) == ["cortex", "serve"]
    for node in API_NODES:
        service = services[node]
        build = service["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        assert (ROOT / context / dockerfile).resolve() == ROOT / "Dockerfile"
        assert "command" not in service and "entrypoint" not in service, f"{node} overrides `cortex serve`"
    assert len({services[node]["image"] for node in API_NODES}) == 1


def test_the_image_gets_only_what_it_needs() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    ignored = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "tests"} <= ignored
    assert not {"src", "pyproject.toml", "README.md"} & ignored
