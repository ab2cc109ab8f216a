"""The audit signing key goes with the log it signed.

Copied checkpoints are signed notes: they verify against the source's public key, so
``cortex audit verify`` on the target (which checks with the target's own key) and new
checkpoints that clients pinned to the old key can check, need the target to sign with
the same key. A key file is copied only where the target has none; a different key
already there is refused before anything is written.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from cortex.core.errors import ConfigError, Conflict
from cortex.store import sqlite_path


def default_path(url: str, configured: str | None = None) -> Path:
    """Where an engine on ``url`` keeps its key (``Cortex.audit_key_path``)."""
    if configured:
        return Path(configured)
    if url.startswith("sqlite:"):
        return Path(f"{sqlite_path(url)}.audit-key")
    return Path("cortex-audit.key")


def check(source: Path, target: Path, *, signed: bool = False) -> str:
    """What carrying the key will do: "same", "copy" or "none" (the source never signed);
    ``Conflict`` when the target already signs with another key. ``signed``: the source
    holds checkpoints, so its key must be found."""
    if not source.is_file():
        if signed:
            raise ConfigError(f"the source's audit checkpoints were signed with a key that is not at "
                              f"{source}: name its file with --from-audit-key")
        return "none"
    if source.resolve() == target.resolve():
        return "same"
    if not target.exists():
        return "copy"
    if target.read_bytes() != source.read_bytes():
        raise Conflict(f"the target's audit signing key {target} is not the source's {source}: the "
                       "copied checkpoints would not verify (name another file with --to-audit-key)")
    return "same"


def carry(source: Path, target: Path, *, signed: bool = False) -> str:
    """Copy the key file (mode 0600) unless the target already has it: "copied", "same" or "none"."""
    action = check(source, target, signed=signed)
    if action == "copy":
        action = "copied"
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.migrating")
        shutil.copyfile(source, staged)
        os.chmod(staged, 0o600)
        try:
            os.link(staged, target)  # never over a key another process just created
        except FileExistsError:
            action = check(source, target)
        finally:
            staged.unlink()
    return action


__all__ = ["carry", "check", "default_path"]
