"""Small helpers shared by the CLI tests."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result


def payload(result: Result) -> Any:
    """The one JSON document a ``--json`` command printed."""
    assert result.stdout.count("\n") == 1, result.stdout
    return json.loads(result.stdout)


def cortex_script() -> str:
    """The installed ``cortex`` console script of this interpreter's environment."""
    beside = Path(sys.executable).parent / "cortex"
    found = str(beside) if beside.exists() else shutil.which("cortex")
    if found is None:
        pytest.fail("the cortex script is not installed: pip install -e .")
    return found


def script_env() -> dict[str, str]:
    """The environment for child processes, without any CORTEX_* settings leaking in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
