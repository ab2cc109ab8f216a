"""Embeddings from any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint.

Works with OpenAI itself and with servers that copy its API (vLLM, llama.cpp,
LocalAI, text-embeddings-inference, LM Studio). Every failure surfaces as
:class:`~cortex.core.errors.EmbeddingError`; 429 and 5xx are retried a bounded number
of times, honouring ``Retry-After``.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlparse

import httpx
import numpy as np

from cortex.core.errors import ConfigError, EmbeddingError
from cortex.embed.base import Vectors

# Known output sizes, so ``dim`` needs no network call for the common models.
KNOWN_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class OpenAICompatEmbedder:
    """Client for one model on one OpenAI-compatible server (thread-safe)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        dim: int | None = None,
        *,
        timeout: float = 30.0,
        batch_size: int = 128,
        max_retries: int = 2,
        max_retry_wait: float = 10.0,
    ) -> None:
        if not model:
            raise ConfigError("an OpenAI-compatible embedder needs a model name")
        if batch_size < 1 or max_retries < 0 or timeout <= 0:
            raise ConfigError("batch_size >= 1, max_retries >= 0 and timeout > 0 are required")
        if dim is not None and dim < 1:
            raise ConfigError("dim must be positive")
        self._url = base_url.rstrip("/") + "/embeddings"
        self._model = model
        self._dim = dim or KNOWN_DIMS.get(model)
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._max_retry_wait = max_retry_wait
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)

    @property
    def name(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        """The host data is sent to: the name a constitution lists in ``providers``."""
        return (urlparse(self._url).hostname or "unknown").lower()

    @property
    def dim(self) -> int:
        if self._dim is None:  # unknown model: ask the server once
            self.embed_batch(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def embed_batch(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._embed_chunk(texts[i : i + self._batch_size]) for i in range(0, len(texts), self._batch_size)
        ]
        return np.concatenate(parts)

    def _embed_chunk(self, texts: list[str]) -> Vectors:
        response = self._post({"model": self._model, "input": texts})
        vectors = _parse_vectors(response, len(texts), self._model)
        if self._dim is None:
            self._dim = vectors.shape[1]
        if vectors.shape[1] != self._dim:
            raise EmbeddingError(f"{self._model} returned {vectors.shape[1]}-d vectors, expected {self._dim}")
        return _normalise(vectors, self._model)

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        for attempt in range(self._max_retries + 1):
            try:
                response = self._client.post(self._url, json=payload)
            except httpx.TimeoutException as exc:
                raise EmbeddingError(f"embedding request to {self._url} timed out") from exc
            except httpx.HTTPError as exc:
                raise EmbeddingError(f"embedding request to {self._url} failed: {exc}") from exc
            if response.status_code not in _RETRY_STATUSES or attempt == self._max_retries:
                break
            time.sleep(self._retry_delay(response, attempt))
        if response.is_error:
            raise EmbeddingError(
                f"{self._url} answered HTTP {response.status_code}: {response.text[:200]}",
                status_code=response.status_code,
            )
        return response

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float:
        delay = _retry_after_seconds(response.headers.get("Retry-After"))
        if delay is None:
            delay = 0.5 * 2**attempt
        return min(max(delay, 0.0), self._max_retry_wait)


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` is either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


def _parse_vectors(response: httpx.Response, count: int, model: str) -> Vectors:
    try:
        rows = response.json()["data"]
        ordered = sorted(rows, key=lambda row: row["index"])
        indexes = [row["index"] for row in ordered]
        vectors = np.asarray([row["embedding"] for row in ordered], dtype=np.float32)
    except (ValueError, KeyError, TypeError) as exc:
        raise EmbeddingError(f"{model}: malformed embeddings response ({exc!r})") from exc
    if indexes != list(range(count)) or vectors.ndim != 2:
        raise EmbeddingError(f"{model}: expected {count} embeddings indexed 0..{count - 1}")
    return vectors


def _normalise(vectors: Vectors, model: str) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise EmbeddingError(f"{model} returned a zero or non-finite vector")
    unit: Vectors = (vectors / norms).astype(np.float32)
    return unit
