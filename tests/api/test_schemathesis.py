"""Schemathesis against /openapi.json of a live server: every check, every operation.

Generated requests (valid and invalid) must never produce a 5xx, and every response must
match the documented status codes, content types, headers and schemas.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cortex.api import create_app
from cortex.embed import CachingEmbedder
from tests.api.conftest import settings_for
from tests.live import serve


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, embedder: CachingEmbedder) -> Iterator[dict[str, Any]]:
    app = create_app(settings_for(tmp_path_factory.mktemp("fuzz"), rate_limit_rps=0), embedder=embedder)
    with serve(app) as base:
        engine = app.state.services.engine
        KEY[0] = engine.keys.create("fuzz", "admin").key
        engine.remember("a memory for the fuzzer to find", namespace="default", tenant="fuzz")
        yield {"base": base}


# The committed document (a drift test keeps it equal to the app's own): loading it needs
# no server, so collection stays cheap, and the calls go to the live server below.
schema = schemathesis.openapi.from_path(Path(__file__).parents[2] / "docs" / "openapi.json")
KEY = [""]  # the live server's admin key, set by the fixture


@schema.auth()
class AdminKey:
    """The bearer scheme's credential, given the schemathesis way: it then knows a request is
    authenticated and does not count a header it added itself as an unexpected one."""

    def get(self, case: Any, context: Any) -> str:
        return KEY[0]

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(max_examples=int(os.environ.get("CORTEX_FUZZ_EXAMPLES", "40")), deadline=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: Any, live: dict[str, Any]) -> None:
    excluded = []
    if (case.method, case.operation.path) in {("POST", "/v1/constitution"), ("PUT", "/v1/tenant/policies")}:
        # A schema-valid envelope is refused unless k real Ed25519 signatures cover it, and
        # policy text unless Cedar parses it against its schema: no JSON Schema can say
        # either, so "schema-valid data is accepted" cannot hold for these two.
        excluded.append(positive_data_acceptance)
    case.call_and_validate(base_url=live["base"], excluded_checks=excluded)
