"""What every benchmark shares: a throw-away engine, progress bars and latency figures.

A benchmark opens its engine with :func:`bench_engine`: without a store URL it gets a
fresh SQLite file in a temporary directory that is removed afterwards, whatever
happens; with a URL it gets a tenant of its own (``bench-<ulid>``) so runs never mix.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from ulid import ULID

from cortex.core.errors import ImportFileError
from cortex.embed import Embedder
from cortex.engine import Cortex, Limits

Advance = Callable[[int, int], None]
"""``advance(done, total)``: the same shape as the engine's ``progress`` callback."""


@dataclass
class BenchTarget:
    """An open engine, the tenant this run owns and a label for the store."""

    engine: Cortex
    tenant: str
    store: str  # the URL given, or "temporary SQLite file"


def new_tenant(prefix: str = "bench") -> str:
    return f"{prefix}-{str(ULID()).lower()}"


@contextmanager
def bench_engine(store: str | None = None, *, embedder: Embedder | str = "minilm",
                 limits: Limits | None = None) -> Iterator[BenchTarget]:
    """An engine for one run; a temporary store (removed afterwards) when ``store`` is None."""
    tenant = new_tenant()
    if store is not None:
        with Cortex.open(store, embedder=embedder, tenant=tenant, limits=limits) as engine:
            yield BenchTarget(engine, tenant, store)
        return
    with tempfile.TemporaryDirectory(prefix="cortex-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        with Cortex.open(url, embedder=embedder, tenant=tenant, limits=limits) as engine:
            yield BenchTarget(engine, tenant, "temporary SQLite file")


class Phases:
    """One rich progress bar per long phase, on stderr; ``Phases(enabled=False)`` is silent."""

    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)

    @contextmanager
    def phase(self, label: str, total: int) -> Iterator[Advance]:
        if not self.enabled or not self.console.is_terminal:
            yield _ignore
            return
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as bar:
            task = bar.add_task(label, total=total)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            yield advance


def _ignore(done: int, total: int) -> None:
    return None


SILENT = Phases(enabled=False)


def warm_up(engine: Cortex) -> None:
    """Load the model now, so its one-off start-up cost is in no timing."""
    engine.embedder.embed_batch(["load the model before timing anything"])


class RunFigures(BaseModel):
    """Speed and provenance every retrieval benchmark reports."""

    ingest_per_s: float
    ingest_s: float
    recall_p50_ms: float
    recall_p95_ms: float
    recall_p99_ms: float
    embedder: str
    store: str
    tenant: str


class Latency(BaseModel):
    """Percentiles of a list of wall-clock timings, in milliseconds."""

    n: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float


def latency(samples_s: Sequence[float]) -> Latency:
    if not samples_s:
        return Latency(n=0, p50_ms=0.0, p95_ms=0.0, p99_ms=0.0, mean_ms=0.0)
    ms = np.asarray(samples_s, dtype=np.float64) * 1000.0
    p50, p95, p99 = (float(x) for x in np.percentile(ms, [50, 95, 99]))
    return Latency(n=len(ms), p50_ms=round(p50, 3), p95_ms=round(p95, 3),
                   p99_ms=round(p99, 3), mean_ms=round(float(ms.mean()), 3))


class Stopwatch:
    """Accumulates the wall time of the blocks it times."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else 0.0


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator > 0 else None


def mean(values: Sequence[float]) -> float:
    return round(float(np.mean(values)), 4) if values else 0.0


def read_json(path: str | Path) -> Any:
    """A dataset file's JSON, with unreadable or malformed files as ``ImportFileError``."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}", path=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path} is not valid JSON: {exc}", path=str(path)) from exc
