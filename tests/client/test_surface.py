"""The SDK's public surface: what it exports, and that it matches the engine it mirrors."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from typing import Any, get_type_hints

import pytest

import cortex.client
from cortex.client import AsyncCortexClient, CortexClient
from cortex.engine import Cortex
from cortex.tenancy.keys import KeyRing

LIFECYCLE = {"close", "aclose"}
# Deliberate differences from the engine, each for a reason the docs (docs/sdk.md) give.
ENGINE_ONLY = {
    "tenant",         # over HTTP the credential decides the tenant
    "query_vector",   # vectors never cross the wire
    "vectors", "progress", "on_batch",
}
CLIENT_ONLY: dict[str, set[str]] = {"remember_many": {"max_batch_bytes"}}
RENAMED = {"forget": ({"memory_ids"}, {"memory_id"})}  # the API deletes one memory per call
API_LACKS = {"list": {"metadata"}}  # GET /v1/memories has no metadata filter


def public(cls: type) -> dict[str, Callable[..., Any]]:
    return {name: member for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_") and name not in LIFECYCLE}


def params(fn: Callable[..., Any]) -> dict[str, tuple[Any, Any]]:
    found = inspect.signature(fn).parameters.values()
    return {p.name: (p.kind, p.default) for p in found if p.name != "self"}


def test_exports() -> None:
    assert cortex.client.__all__ == ["AsyncCortexClient", "CortexClient"]
    for name in cortex.client.__all__:
        assert getattr(cortex.client, name).__module__.startswith("cortex.client.")


def test_importing_the_sdk_loads_no_server_parts() -> None:
    code = ("import sys, cortex.client; print(','.join(m for m in ('cortex.api', 'fastapi', 'uvicorn', "
            "'onnxruntime', 'redis') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_async_client_has_the_same_methods_awaited() -> None:
    sync, aio = public(CortexClient), public(AsyncCortexClient)
    assert set(sync) == set(aio)
    for name, method in sync.items():
        twin = aio[name]
        assert params(method) == params(twin), name
        assert inspect.signature(method).return_annotation.replace("Iterator", "AsyncIterator") == \
            inspect.signature(twin).return_annotation, name
        assert inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin), name
        assert method.__doc__ and method.__doc__ == twin.__doc__, name


@pytest.mark.parametrize("name", sorted(set(public(CortexClient)) & set(public(Cortex))))
def test_each_method_takes_the_engines_arguments_and_returns_its_types(name: str) -> None:
    client, engine = getattr(CortexClient, name), getattr(Cortex, name)
    theirs = {k: v for k, v in params(engine).items() if k not in ENGINE_ONLY | API_LACKS.get(name, set())}
    ours = {k: v for k, v in params(client).items() if k not in CLIENT_ONLY.get(name, set())}
    if name in RENAMED:
        (old,), (new,) = RENAMED[name]
        theirs[new] = theirs.pop(old)
    if name == "remember_many":  # HTTP batches of up to 1000 instead of the engine's transactions
        ours.pop("batch_size"), theirs.pop("batch_size")
    assert ours == theirs
    assert get_type_hints(client)["return"] == get_type_hints(engine)["return"]


def test_key_methods_mirror_the_key_ring() -> None:
    ring = {k: v for k, v in params(KeyRing.create).items() if k != "tenant"}
    ours = params(CortexClient.create_key)
    assert ours.pop("expires_in")[1] is None  # the API's own way to say it
    assert ours == ring
    assert get_type_hints(CortexClient.create_key)["return"] == get_type_hints(KeyRing.create)["return"]
    assert get_type_hints(CortexClient.list_keys)["return"] == get_type_hints(KeyRing.list)["return"]
    assert get_type_hints(CortexClient.revoke_key)["return"] == get_type_hints(KeyRing.revoke)["return"]
