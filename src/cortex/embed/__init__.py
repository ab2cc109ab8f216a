"""Embedders and the one registry that picks them from a spec string.

    open_embedder("minilm")      # or "local": all-MiniLM-L6-v2 on ONNX Runtime, in process
    open_embedder("openai+https://api.openai.com/v1?model=text-embedding-3-small", api_key=key)
    open_embedder("openai+http://127.0.0.1:8080/v1?model=bge-small&dim=384")

Importing this package loads nothing heavy: onnxruntime, tokenizers and the weights
are imported by :class:`MiniLMEmbedder` on its first call.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit, urlunsplit

from cortex.core.errors import ConfigError
from cortex.embed.base import Embedder, Vectors
from cortex.embed.cache import CacheStats, CachingEmbedder
from cortex.embed.minilm import MiniLMEmbedder
from cortex.embed.openai_compat import OpenAICompatEmbedder

_SPECS = '"minilm", "local", "openai+http://HOST/v1?model=NAME", "openai+https://HOST/v1?model=NAME"'


def _open_minilm(spec: str, api_key: str | None) -> Embedder:
    return MiniLMEmbedder()


def _open_openai(spec: str, api_key: str | None) -> Embedder:
    parts = urlsplit(spec.removeprefix("openai+"))
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"model", "dim"}
    if unknown or not parts.netloc or not query.get("model"):
        raise ConfigError(f"bad embedder spec {spec!r}: expected one of {_SPECS} (&dim=N optional)")
    dim = query.get("dim")
    if dim is not None and not dim.isdigit():
        raise ConfigError(f"bad embedder spec {spec!r}: dim must be a positive integer")
    base_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return OpenAICompatEmbedder(base_url, query["model"], api_key, int(dim) if dim else None)


# The single registry: a name, or a URL scheme up to "://", -> factory.
_REGISTRY: dict[str, Callable[[str, str | None], Embedder]] = {
    "minilm": _open_minilm,
    "local": _open_minilm,
    "openai+http://": _open_openai,
    "openai+https://": _open_openai,
}


def open_embedder(spec: str, *, api_key: str | None = None) -> Embedder:
    """Build the embedder a spec names; ``api_key`` is only used by remote providers."""
    scheme, sep, _ = spec.partition("://")
    factory = _REGISTRY.get(scheme + sep if sep else spec.strip().lower())
    if factory is None:
        raise ConfigError(f"unknown embedder {spec!r}: valid ones are {_SPECS}")
    return factory(spec, api_key)


__all__ = [
    "CacheStats",
    "CachingEmbedder",
    "Embedder",
    "MiniLMEmbedder",
    "OpenAICompatEmbedder",
    "Vectors",
    "open_embedder",
]
