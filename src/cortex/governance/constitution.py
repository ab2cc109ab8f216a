"""The signed constitution: k-of-n signatures, rotated the way TUF rotates its root.

The operator pins a first version (``verify_root``: it must meet its own threshold).
Each later version N+1 is trusted only when (``verify_chain``):

1. its version is exactly N+1 (lower or equal is a rollback; higher skips a step),
2. it carries version N's ``threshold`` valid signatures from version N's keys (N
   authorises N+1),
3. it carries its own ``threshold`` valid signatures from its own keys (the new signers
   accept the job), and
4. it has not expired (``expires`` must be after ``now``).

Signatures under unknown key ids are ignored, a malformed signature fails only itself,
and a key counts once however many ids or signatures it appears under. Any change to the
body after signing breaks the signatures.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cortex.governance.document import Constitution, default_document
from cortex.governance.errors import ConstitutionError, ConstitutionFailure
from cortex.governance.files import dump, dumps, load, loads
from cortex.governance.signing import (
    SignedConstitution,
    key_id,
    public_key_b64,
    sign,
    signers,
    write_private_key,
)


def verify_root(envelope: SignedConstitution, now: datetime | None = None) -> Constitution:
    """Trust on first use: the pinned version must meet its own threshold and be unexpired."""
    document = envelope.document()
    _require_signatures(envelope, document, document, "its own")
    _require_unexpired(document, now)
    return document


def verify_chain(trusted: SignedConstitution, candidate: SignedConstitution,
                 now: datetime | None = None) -> Constitution:
    """The candidate, if it is a valid next version of ``trusted`` (already verified earlier)."""
    document = _verify_step(trusted.document(), candidate)
    _require_unexpired(document, now)
    return document


def verify_updates(trusted: SignedConstitution, candidates: Sequence[SignedConstitution],
                   now: datetime | None = None) -> Constitution:
    """Walk N+1, N+2, … in order; as in TUF, only the last one must be unexpired."""
    current = trusted.document()
    for candidate in candidates:
        current = _verify_step(current, candidate)
    _require_unexpired(current, now)
    return current


def _verify_step(old: Constitution, candidate: SignedConstitution) -> Constitution:
    new = candidate.document()
    if new.version <= old.version:
        raise ConstitutionError(
            ConstitutionFailure.ROLLBACK,
            f"version {new.version} is not newer than trusted version {old.version} (rollback refused)",
            trusted=old.version, candidate=new.version)
    if new.version != old.version + 1:
        raise ConstitutionError(
            ConstitutionFailure.VERSION_STEP,
            f"version {new.version} skips ahead of trusted version {old.version}; "
            f"apply version {old.version + 1} first",
            trusted=old.version, candidate=new.version)
    _require_signatures(candidate, old, new, f"version {old.version}'s")
    _require_signatures(candidate, new, new, "its own")
    return new


def _require_signatures(envelope: SignedConstitution, authority: Constitution, document: Constitution,
                        whose: str) -> None:
    have = len(signers(envelope, authority.keys))
    if have < authority.threshold:
        raise ConstitutionError(
            ConstitutionFailure.UNDER_SIGNED,
            f"version {document.version} has {have} valid signature(s) from {whose} keys; "
            f"it needs {authority.threshold}",
            version=document.version, valid=have, threshold=authority.threshold)


def _require_unexpired(document: Constitution, now: datetime | None) -> None:
    now = _now(now)
    if document.expires <= now:
        expired = document.expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        raise ConstitutionError(ConstitutionFailure.EXPIRED,
                                f"version {document.version} expired at {expired}",
                                version=document.version, expires=expired)


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise TypeError("now must be timezone-aware (e.g. datetime.now(UTC))")
    return now


def init(keys_dir: str | os.PathLike[str], n: int, k: int, *, now: datetime | None = None,
         valid_for: timedelta = timedelta(days=365)) -> SignedConstitution:
    """Write ``n`` new Ed25519 keys (``<keyid[:16]>.key``, mode 0600) and return version 1
    with safe defaults, ``threshold`` k, signed by all ``n`` keys.

    Move each key to its holder afterwards: keeping k of them together defeats k-of-n.
    """
    if not 1 <= k <= n:
        raise ConstitutionError(ConstitutionFailure.INVALID,
                                f"threshold k={k} must be between 1 and the number of keys n={n}")
    directory = Path(keys_dir)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConstitutionError(ConstitutionFailure.KEY_FILE,
                                f"cannot create key directory {directory}: {exc.strerror}") from None
    files: list[Path] = []
    keys: dict[str, str] = {}
    for _ in range(n):
        private = Ed25519PrivateKey.generate()
        kid = key_id(private.public_key())
        path = directory / f"{kid[:16]}.key"
        write_private_key(path, private)
        files.append(path)
        keys[kid] = public_key_b64(private.public_key())
    expires = _now(now) + valid_for
    envelope = SignedConstitution.from_data(default_document(keys, k, expires))
    envelope.document()  # the defaults must validate
    for path in files:
        envelope = sign(envelope, path)
    return envelope


def diff(old: Constitution, new: Constitution) -> list[str]:
    """What changed, one line per leaf: ``limits.burst: 200 → 400``, ``keys.ab12…: added``."""
    before = _flatten(old.model_dump(mode="json"))
    after = _flatten(new.model_dump(mode="json"))
    changes: list[str] = []
    for path in sorted(before.keys() | after.keys()):
        if _has_children(path, after) or _has_children(path, before):
            continue  # an empty list became items (or back): the items' lines say it
        if path not in after:
            changes.append(f"{path}: removed (was {_show(before[path])})")
        elif path not in before:
            changes.append(f"{path}: added {_show(after[path])}")
        elif before[path] != after[path]:
            changes.append(f"{path}: {_show(before[path])} → {_show(after[path])}")
    return changes


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        out = {}
        for index, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def _has_children(path: str, leaves: dict[str, Any]) -> bool:
    return any(leaf.startswith((f"{path}.", f"{path}[")) for leaf in leaves)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


__all__ = [
    "ConstitutionError",
    "ConstitutionFailure",
    "SignedConstitution",
    "diff",
    "dump",
    "dumps",
    "init",
    "load",
    "loads",
    "sign",
    "verify_chain",
    "verify_root",
    "verify_updates",
]
