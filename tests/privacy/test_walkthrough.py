"""docs/privacy.md's walkthrough runs exactly as written, in a fresh directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "privacy.md"


@pytest.mark.slow
def test_privacy_walkthrough_runs(tmp_path: Path) -> None:
    text = DOC.read_text()
    found = re.search(r"```sh\n(.*?)```", text[text.index("## Walkthrough"):], re.S)
    assert found is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", found.group(1)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    for step in ("blocked", "redacted", "tokenized value read by admin", "erasure proven", "nothing left"):
        assert f"OK: {step}" in done.stdout, out
    assert "403" in done.stdout.splitlines()  # the reader was refused the vault
