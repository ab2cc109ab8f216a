"""The public surface of ``cortex.mcp`` and its module entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cortex.mcp


def test_all_names_exist_and_nothing_public_is_missing() -> None:
    for name in cortex.mcp.__all__:
        assert hasattr(cortex.mcp, name), name
    public = {n for n in vars(cortex.mcp) if not n.startswith("_") and n not in
              ("server", "tools", "views")}
    assert public <= set(cortex.mcp.__all__), public - set(cortex.mcp.__all__)


def test_import_loads_no_model() -> None:
    code = ("import sys, cortex.mcp; print(','.join(m for m in ('onnxruntime', 'hnswlib')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_an_unusable_store_is_one_line_on_stderr(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "cortex.mcp", "--store", f"sqlite:///{tmp_path}"],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("cortex mcp: cortex/invalid-input: ") and "is a directory" in out.stderr
    assert "Traceback" not in out.stderr
