"""The committed OpenAPI document matches the app, and documents every error as a problem."""

from __future__ import annotations

import json
from pathlib import Path

from cortex.api import create_app
from cortex.core.config import Settings

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"


def current() -> dict[str, object]:
    return json.loads(json.dumps(create_app(Settings.load()).openapi(), sort_keys=True))


def test_committed_openapi_json_has_not_drifted() -> None:
    assert json.loads(COMMITTED.read_text()) == current(), (
        "docs/openapi.json is stale: regenerate it with `python -m cortex.api > docs/openapi.json`"
    )


def test_every_v1_operation_is_secured_and_documents_problem_errors() -> None:
    """All but the public key that verifies checkpoints, which anyone may fetch."""
    schema = current()
    paths = schema["paths"]
    assert isinstance(paths, dict)
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path.startswith("/v1") and path != "/v1/audit/public-key":
                assert operation["security"] == [{"bearer": []}], (method, path)
                assert {"401", "403", "404", "422", "429"} <= set(responses), (method, path)
            for code, response in responses.items():
                if code.startswith("4"):
                    assert list(response["content"]) == ["application/problem+json"], (method, path, code)
