"""Meta-tests: the public surface and the error tree stay what we document."""

from __future__ import annotations

import importlib
import subprocess
import sys

import cortex
from cortex.core import errors


def test_all_names_exist_and_nothing_public_is_missing() -> None:
    for name in cortex.__all__:
        assert hasattr(cortex, name), name
    public = {n for n in vars(cortex) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(cortex.__all__), public - set(cortex.__all__)


def test_every_error_has_a_status_and_a_unique_type_slug() -> None:
    classes = errors.all_error_classes()
    slugs = [c.type for c in classes]
    assert len(slugs) == len(set(slugs)), "type slugs must be unique"
    for cls in classes:
        assert 400 <= cls.status < 600 and cls.type.startswith("cortex/")
        assert cls.__name__ in errors.__doc__, f"{cls.__name__} missing from the drawn tree"
        assert cls.type in errors.__doc__


def test_import_has_no_side_effects() -> None:
    """Importing cortex must not load the model, onnxruntime or read the environment."""
    code = ("import sys, cortex; bad = [m for m in ('onnxruntime', 'hnswlib', 'torch')"
            " if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_submodule_all_lists_resolve() -> None:
    for name in ("cortex.embed", "cortex.store", "cortex.working", "cortex.core.models"):
        module = importlib.import_module(name)
        for item in module.__all__:
            assert hasattr(module, item), f"{name}.{item}"
