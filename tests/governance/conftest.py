"""Real Ed25519 keys in files under tmp_path, and documents built from the defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cortex.governance import SignedConstitution, key_id, sign
from cortex.governance.document import default_document
from cortex.governance.signing import public_key_b64, write_private_key

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=365)


@dataclass(frozen=True)
class Signer:
    path: Path
    keyid: str
    public: str  # base64 raw public key


@pytest.fixture
def new_signer(tmp_path: Path) -> Callable[[], Signer]:
    counter = iter(range(1_000))

    def make() -> Signer:
        private = Ed25519PrivateKey.generate()
        path = tmp_path / f"signer-{next(counter)}.key"
        write_private_key(path, private)
        return Signer(path, key_id(private.public_key()), public_key_b64(private.public_key()))

    return make


@pytest.fixture
def signers(new_signer: Callable[[], Signer]) -> list[Signer]:
    """Five signers: tests take the slices they need."""
    return [new_signer() for _ in range(5)]


def document(version: int, keys: list[Signer], threshold: int, *, expires: datetime = LATER,
             **changes: Any) -> dict[str, Any]:
    data = default_document({s.keyid: s.public for s in keys}, threshold, expires)
    data["version"] = version
    data.update(changes)
    return data


def envelope(data: dict[str, Any], *by: Signer) -> SignedConstitution:
    signed = SignedConstitution.from_data(data)
    for signer in by:
        signed = sign(signed, signer.path)
    return signed
