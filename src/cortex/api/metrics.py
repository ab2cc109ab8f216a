"""Prometheus metrics of the service.

With several worker processes (`cortex serve --workers N`) the counters live in
``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` merges them; memories per tenant are read
from the store at scrape time, so every worker reports the same truth.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from cortex.embed.base import Embedder, Vectors
from cortex.engine import Cortex

_LATENCY_BUCKETS = (.001, .0025, .005, .0075, .01, .015, .02, .03, .05, .075, .1, .25, .5, 1, 2.5, 5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("cortex_http_requests", "HTTP requests by route and status.",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("cortex_http_request_duration_seconds",
                                 "HTTP request latency by route.", ["method", "route"],
                                 buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.recall_seconds = Histogram("cortex_recall_duration_seconds",
                                        "Engine time of one recall (embedding, search, fusion).",
                                        buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.constitution_verify = Gauge(
            "cortex_constitution_verify_seconds", "Time to verify the constitution chain at start-up.",
            registry=self.registry, multiprocess_mode="max")
        self.embed_batch = Histogram("cortex_embed_batch_size", "Texts per call to the embedding model.",
                                     buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=self.registry)

    def exposition(self, engine: Cortex) -> bytes:
        base = self.registry
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            base = CollectorRegistry()
            MultiProcessCollector(base)  # type: ignore[no-untyped-call]
        return generate_latest(_Combined(base, _Memories(engine)))


class _Combined:
    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Any]:
        for part in self.parts:
            yield from part.collect()


class _Memories(Collector):
    def __init__(self, engine: Cortex) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        memories = GaugeMetricFamily("cortex_memories", "Current memories per tenant.", labels=["tenant"])
        size = GaugeMetricFamily("cortex_memory_bytes", "Bytes of memory text and metadata per tenant.",
                                 labels=["tenant"])
        for tenant, usage in self.engine.store.usage_by_tenant().items():
            memories.add_metric([tenant], usage.memories)
            size.add_metric([tenant], usage.bytes)
        yield memories
        yield size


class MeteredEmbedder:
    """Observes how many texts each embedding call carries (queries are 1, imports up to 64)."""

    def __init__(self, inner: Embedder, histogram: Any) -> None:
        self.inner = inner
        self.histogram = histogram

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_batch(self, texts: list[str]) -> Vectors:
        self.histogram.observe(len(texts))
        return self.inner.embed_batch(texts)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()
