"""The governance package exports what it documents."""

from __future__ import annotations

import importlib

import pytest

import cortex.governance as governance


def test_all_names_exist_and_nothing_public_is_missing() -> None:
    for name in governance.__all__:
        assert hasattr(governance, name), name
    public = {n for n in vars(governance) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(governance.__all__), public - set(governance.__all__)


MODULES = ["cedar", "constitution", "document", "errors", "files", "policy", "signing"]


@pytest.mark.parametrize("module", MODULES)
def test_submodule_all_lists_resolve(module: str) -> None:
    loaded = importlib.import_module(f"cortex.governance.{module}")
    for name in loaded.__all__:
        assert hasattr(loaded, name), f"{module}.{name}"
