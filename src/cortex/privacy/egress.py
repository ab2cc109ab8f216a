"""The shield on egress: text sent to an embedding provider passes the policy first.

Every embedder an engine uses is wrapped. Per call, with a constitution in force: a
provider the constitution does not list in ``providers`` gets nothing (``Forbidden``); a
provider not in ``egress_exempt`` gets the text with every span the policy redacts,
tokenizes or blocks replaced by its placeholder. The in-process model (``local``) is not
wrapped at all: its text never leaves the process. A self-hosted provider on the network
is named by its host and can be listed in ``egress_exempt``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cortex.core.errors import Forbidden
from cortex.embed.base import Embedder, Vectors
from cortex.privacy.policy import LOCAL_PROVIDER, PrivacyPolicy

if TYPE_CHECKING:
    from cortex.engine import Cortex


def provider_of(embedder: Any) -> str:
    """The provider name the constitution uses for an embedder: ``local`` for the
    in-process model, the host name for a provider reached over the network."""
    while not hasattr(embedder, "provider") and hasattr(embedder, "inner"):
        embedder = embedder.inner  # through caches and metering wrappers
    return str(getattr(embedder, "provider", LOCAL_PROVIDER))


class EgressShield:
    """An ``Embedder`` that applies the privacy policy before its inner provider sees text."""

    def __init__(self, inner: Embedder, policy: Callable[[], PrivacyPolicy]) -> None:
        self.inner = inner
        self.provider = provider_of(inner)
        self._policy = policy
        self.redacted_calls = 0  # how many calls had text rewritten (for tests and metrics)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()

    def embed_batch(self, texts: list[str]) -> Vectors:
        policy = self._policy()
        if policy.governed:
            if self.provider not in policy.providers:
                raise Forbidden(f"the constitution does not allow sending data to provider {self.provider!r} "
                                f"(allowed: {', '.join(sorted(policy.providers))})", provider=self.provider)
            if self.provider not in policy.egress_exempt:
                from cortex.privacy.shield import egress_text

                shielded = [egress_text(t, policy) for t in texts]
                if shielded != texts:
                    self.redacted_calls += 1
                texts = shielded
        return self.inner.embed_batch(texts)


def guard_egress(engine: Cortex) -> None:
    """Put the shield in front of an engine whose embedder sends text over the network.

    The in-process model is not egress: its text never leaves. The shield wraps the whole
    embedder (cache included), so the cache only ever holds what the provider was sent.
    """
    if provider_of(engine.embedder) == LOCAL_PROVIDER or isinstance(engine.embedder, EgressShield):
        return
    engine.embedder = EgressShield(engine.embedder, engine.privacy.policy)


__all__ = ["EgressShield", "guard_egress", "provider_of"]
