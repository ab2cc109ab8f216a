"""MiniLMEmbedder gives the same vectors as sentence-transformers on torch.

Needs the reference model: ``.venv/bin/pip install torch==2.13.0 sentence-transformers``
(torch from the local wheel). Skips loudly without it, and fails instead when CI=true.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pytest

from cortex.embed import MiniLMEmbedder
from cortex.embed.minilm import default_model_path
from tests.conftest import LOCOMO

pytestmark = [pytest.mark.reference, pytest.mark.slow]

INSTALL = ".venv/bin/pip install torch==2.13.0 sentence-transformers"
FALLBACK = [
    "Hey Mel! Good to see you! How have you been?",
    "I went to a LGBTQ support group yesterday and it was so powerful.",
    "The quarterly tax filing deadline moved to next Tuesday.",
    "ok",
    "",
]


def reference_model() -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        reason = f"REFERENCE CHECK NOT RUN: {exc.name} is missing; install with `{INSTALL}`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return SentenceTransformer(str(default_model_path()), device="cpu")


def real_texts(n: int = 2000) -> list[str]:
    if not LOCOMO.is_file():
        return FALLBACK
    data = json.loads(LOCOMO.read_text())
    turns = [
        turn["text"]
        for sample in data
        for key, session in sample["conversation"].items()
        if key.startswith("session_") and isinstance(session, list)
        for turn in session
    ]
    # A few texts longer than 256 tokens check that both truncate the same way.
    long = [" ".join(turns[i : i + 40]) for i in range(0, 200, 40)]
    return turns[:n] + long + FALLBACK


def test_vectors_match_sentence_transformers() -> None:
    model = reference_model()
    texts = real_texts()
    want = np.asarray(model.encode(texts, batch_size=64, normalize_embeddings=True), dtype=np.float32)
    got = MiniLMEmbedder().embed_batch(texts)
    sims = np.sum(got * want, axis=1)
    assert sims.min() >= 0.99, f"min cosine {sims.min():.5f} at {texts[int(sims.argmin())]!r}"
    assert sims.mean() >= 0.9999
    np.testing.assert_allclose(got, want, atol=1e-4)
