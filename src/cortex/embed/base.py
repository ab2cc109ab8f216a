"""The embedding boundary: one method, ``embed_batch``; everything shared lives here."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape ``(len(texts), dim)``."""

    @property
    def name(self) -> str:
        """Stable identifier of the model (stored beside every vector)."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_batch(self, texts: list[str]) -> Vectors: ...
