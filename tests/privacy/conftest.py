"""Engines on real SQLite files governed by a real signed constitution with privacy rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cortex import Cortex
from cortex.core.models import utcnow
from cortex.embed import CachingEmbedder
from cortex.governance import SignedConstitution, key_id, sign
from cortex.governance.document import default_document
from cortex.governance.signing import public_key_b64, write_private_key
from cortex.store import open_store

Govern = Callable[..., None]


@pytest.fixture
def govern(tmp_path: Path) -> Callable[[Cortex], Govern]:
    """``govern(engine)(privacy={...}, ...)`` applies the next constitution version."""
    private = Ed25519PrivateKey.generate()
    signer = tmp_path / "signer.key"
    write_private_key(signer, private)
    keys = {key_id(private.public_key()): public_key_b64(private.public_key())}

    def bind(engine: Cortex) -> Govern:
        def apply(**changes: Any) -> None:
            current = engine.governance.current()
            data = default_document(keys, 1, utcnow() + timedelta(days=365))
            data["version"] = 1 if current is None else current.version + 1
            data.update(changes)
            engine.governance.apply(sign(SignedConstitution.from_data(data), signer))
        return apply

    return bind


@pytest.fixture
def engine(tmp_path: Path, embedder: CachingEmbedder) -> Iterator[Cortex]:
    engine = Cortex(open_store(f"sqlite:///{tmp_path / 'p.db'}", dim=embedder.dim), embedder)
    yield engine
    engine.close()
