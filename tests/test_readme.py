"""The README's walkthroughs run exactly as written, in a fresh directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
SECTIONS = ["## Verify your memories", "### The constitution, signed 2-of-3"]


def block_after(heading: str) -> str:
    text = README.read_text()
    start = text.index(heading)
    found = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert found is not None, f"no sh block under {heading}"
    return found.group(1)


@pytest.mark.slow
@pytest.mark.parametrize("heading", SECTIONS)
def test_readme_walkthrough_runs(heading: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block_after(heading)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAILED" not in done.stdout + done.stderr
    if "constitution" in heading:  # `! cmd` does not stop `bash -e`: check the refusal happened
        assert "rollback refused" in done.stderr and "applied constitution version 2" in done.stdout
    else:
        assert done.stdout.count("OK: ") == 3
