"""Benchmarks as plain functions: load a dataset, run it on an open engine, get a model.

    from cortex.bench import bench_engine, load_locomo, run_locomo
    with bench_engine() as target:                      # temporary SQLite file
        result = run_locomo(target.engine, load_locomo("locomo10.json"),
                            tenant=target.tenant, baseline=True)
    print(result.turn_recall_at_5, result.baselines["bm25"].ratios)

Benchmarks may look below the engine (``engine.store``) to measure it; front ends may
not. What a benchmark sends the engine is only what a user of the memory would see:
dataset ids, session ids and dataset-written summaries stay in private maps.
"""

from cortex.bench.beir import BeirData, BeirResult, load_beir, run_beir
from cortex.bench.common import BenchTarget, Latency, Phases, bench_engine, latency, new_tenant
from cortex.bench.latency import LatencyResult, run_latency
from cortex.bench.locomo import LocomoResult, run_locomo
from cortex.bench.locomo_data import CATEGORIES, Conversation, load_locomo, parse_session_time
from cortex.bench.longmemeval import (
    LMEQuestion,
    LongMemEvalResult,
    format_lme_date,
    load_longmemeval,
    parse_lme_date,
    run_longmemeval,
)
from cortex.bench.metrics import ndcg_at_k, recall_at_k
from cortex.bench.samples import BeirFiles, locomo_slice, longmemeval_sample, write_beir_sample

__all__ = [
    "CATEGORIES",
    "BeirData",
    "BeirFiles",
    "BeirResult",
    "BenchTarget",
    "Conversation",
    "LMEQuestion",
    "Latency",
    "LatencyResult",
    "LocomoResult",
    "LongMemEvalResult",
    "Phases",
    "bench_engine",
    "format_lme_date",
    "latency",
    "load_beir",
    "load_locomo",
    "load_longmemeval",
    "locomo_slice",
    "longmemeval_sample",
    "ndcg_at_k",
    "new_tenant",
    "parse_lme_date",
    "parse_session_time",
    "recall_at_k",
    "run_beir",
    "run_latency",
    "run_locomo",
    "run_longmemeval",
    "write_beir_sample",
]
