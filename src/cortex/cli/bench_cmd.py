"""``cortex bench …``: retrieval and latency benchmarks (the logic is in ``cortex.bench``).

Every command runs on a fresh temporary SQLite file unless ``--store URL`` is given; then
it writes to a tenant of its own (``bench-<ulid>``) and leaves other tenants alone.
Progress bars go to stderr; with ``--json`` stdout carries exactly one JSON object.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.table import Table

from cortex.bench import (
    BeirResult,
    BenchTarget,
    LatencyResult,
    LocomoResult,
    LongMemEvalResult,
    Phases,
    bench_engine,
    load_beir,
    load_locomo,
    load_longmemeval,
    run_beir,
    run_latency,
    run_locomo,
    run_longmemeval,
)
from cortex.bench.locomo import CategoryScores, Scores
from cortex.bench.privacy import PrivacyResult, run_privacy
from cortex.cli.state import CliState, JsonFlag, get_state
from cortex.engine import Limits

bench_app = typer.Typer(
    help="Benchmarks: LoCoMo, LongMemEval-format and BEIR-format retrieval, recall latency. "
    "Runs on a temporary store unless --store is given (then in a tenant of its own).",
    no_args_is_help=True,
)

DEFAULT_LOCOMO = Path("../shared/data/locomo/locomo10.json")

Store = Annotated[str | None, typer.Option(
    "--store", metavar="URL", show_default=False,
    help="Store to run against, in a fresh tenant bench-<ulid> (default: a temporary "
    "SQLite file, removed afterwards).")]
Data = Annotated[Path, typer.Option(
    "--data", exists=True, dir_okay=False, help="LoCoMo's locomo10.json.")]


@contextmanager
def _run(ctx: typer.Context, store: str | None, json_output: bool,
         limits: Limits | None = None) -> Iterator[tuple[CliState, BenchTarget, Phases]]:
    state = get_state(ctx, json_output)
    url = store or state.store_flag  # never the configured default store: a bench writes
    embedder = state.embedder or state.config.embedder
    with bench_engine(url, embedder=embedder, limits=limits) as target:
        yield state, target, Phases(console=state.err)


def _show(state: CliState, result: BaseModel, tables: Sequence[Table]) -> None:
    if state.json:
        state.emit(result.model_dump(mode="json"))
        return
    for table in tables:
        state.out.print(table)


def _pairs(title: str, rows: Sequence[tuple[str, object]]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, f"{value:,.3f}" if isinstance(value, float) else str(value))
    return table


@bench_app.command()
def locomo(
    ctx: typer.Context,
    data: Data = DEFAULT_LOCOMO,
    limit_conversations: Annotated[int | None, typer.Option(
        "--limit-conversations", min=1, help="Only the first N conversations.")] = None,
    baseline: Annotated[bool, typer.Option(
        "--baseline", help="Also score plain BM25 and plain dense on the same stored turns.")
    ] = False,
    k: Annotated[int, typer.Option("--k", min=1, max=1000,
                                   help="Hits per question (at least 10 are fetched).")] = 10,
    store: Store = None,
    json_output: JsonFlag = False,
) -> None:
    """Turn- and session-level recall on LoCoMo questions (categories 1-4).

    Examples:

      cortex bench locomo --data ../shared/data/locomo/locomo10.json --baseline

      cortex bench locomo --limit-conversations 1 --store sqlite:///bench.db --json
    """
    conversations = load_locomo(data, limit_conversations=limit_conversations)
    with _run(ctx, store, json_output) as (state, target, phases):
        result = run_locomo(target.engine, conversations, tenant=target.tenant, k=k,
                            baseline=baseline, store=target.store, phases=phases)
    _show(state, result, _locomo_tables(result))


def _locomo_tables(r: LocomoResult) -> list[Table]:
    methods: list[tuple[str, dict[str, CategoryScores], Scores]] = [("hybrid", r.by_category, r)]
    methods += [(name, b.by_category, b) for name, b in (r.baselines or {}).items()]
    table = Table(title=f"LoCoMo: {r.conversations} conversations, {r.memories:,} memories, "
                  f"{r.questions:,} questions")
    for column in ("category", "n", "method", "turn R@5", "turn R@10", "session R@5"):
        table.add_column(column, justify="left" if column in ("category", "method") else "right")
    for category in [*r.by_category, "overall"]:
        for method, by_category, overall in methods:
            s = overall if category == "overall" else by_category[category]
            table.add_row(category if method == "hybrid" else "", str(s.n), method,
                          f"{s.turn_recall_at_5:.3f}", f"{s.turn_recall_at_10:.3f}",
                          f"{s.session_recall_at_5:.3f}")
        table.add_section()
    rows: list[tuple[str, object]] = [
        ("ingest (memories/s, with embedding)", r.ingest_per_s),
        ("recall p50 ms", r.recall_p50_ms), ("recall p95 ms", r.recall_p95_ms)]
    for name, b in (r.baselines or {}).items():
        rows += [(f"hybrid / {name}, {metric}", value if value is not None else "n/a")
                 for metric, value in b.ratios.items()]
    return [table, _pairs("LoCoMo: speed and ratios", rows)]


@bench_app.command()
def longmemeval(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option(
        "--data", exists=True, dir_okay=False, help="A LongMemEval JSON file.")],
    limit: Annotated[int | None, typer.Option("--limit", min=1,
                                              help="Only the first N questions.")] = None,
    store: Store = None,
    json_output: JsonFlag = False,
) -> None:
    """Session-level recall@5/@10 on LongMemEval-format questions (one namespace each).

    Example:

      cortex bench longmemeval --data longmemeval_s.json --limit 50 --json
    """
    questions = load_longmemeval(data, limit=limit)
    with _run(ctx, store, json_output) as (state, target, phases):
        result = run_longmemeval(target.engine, questions, tenant=target.tenant,
                                 store=target.store, phases=phases)
    _show(state, result, _longmemeval_tables(result))


def _longmemeval_tables(r: LongMemEvalResult) -> list[Table]:
    table = Table(title=f"LongMemEval format: {r.questions} questions, {r.memories:,} memories")
    for column in ("question type", "n", "session R@5", "session R@10", "any@5", "any@10"):
        table.add_column(column, justify="left" if column == "question type" else "right")
    for name, s in [*r.by_type.items(), ("overall", r)]:
        table.add_row(name, str(s.n), f"{s.session_recall_at_5:.3f}",
                      f"{s.session_recall_at_10:.3f}", f"{s.session_any_at_5:.3f}",
                      f"{s.session_any_at_10:.3f}")
    return [table, _pairs("LongMemEval format: speed", [
        ("ingest (memories/s, with embedding)", r.ingest_per_s),
        ("recall p50 ms", r.recall_p50_ms), ("recall p95 ms", r.recall_p95_ms)])]


@bench_app.command()
def beir(
    ctx: typer.Context,
    corpus: Annotated[Path, typer.Option("--corpus", exists=True, dir_okay=False,
                                         help="corpus.jsonl ({_id, title, text} lines).")],
    queries: Annotated[Path, typer.Option("--queries", exists=True, dir_okay=False,
                                          help="queries.jsonl ({_id, text} lines).")],
    qrels: Annotated[Path, typer.Option("--qrels", exists=True, dir_okay=False,
                                        help="qrels TSV: query-id, corpus-id, score.")],
    limit_queries: Annotated[int | None, typer.Option(
        "--limit-queries", min=1, help="Only the first N judged queries.")] = None,
    store: Store = None,
    json_output: JsonFlag = False,
) -> None:
    """nDCG@10 and recall@10/@100 on a BEIR-layout dataset (one namespace of documents).

    Example:

      cortex bench beir --corpus corpus.jsonl --queries queries.jsonl --qrels test.tsv
    """
    dataset = load_beir(corpus, queries, qrels, limit_queries=limit_queries)
    with _run(ctx, store, json_output) as (state, target, phases):
        result = run_beir(target.engine, dataset, tenant=target.tenant, store=target.store,
                          phases=phases)
    _show(state, result, [_beir_table(result)])


def _beir_table(r: BeirResult) -> Table:
    return _pairs(f"BEIR layout: {r.documents:,} documents, {r.queries:,} queries", [
        ("nDCG@10", r.ndcg_at_10), ("recall@10", r.recall_at_10),
        ("recall@100", r.recall_at_100), ("ingest (memories/s, with embedding)", r.ingest_per_s),
        ("recall p50 ms", r.recall_p50_ms), ("recall p95 ms", r.recall_p95_ms)])


@bench_app.command()
def latency(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("--n", min=1, help="Memories in the measured tenant.")
                 ] = 100_000,
    other_tenants: Annotated[int, typer.Option(
        "--other-tenants", min=0, help="Other tenants around it, N/10 memories each.")] = 3,
    queries: Annotated[int, typer.Option(
        "--queries", min=1, help="Real LoCoMo questions to time.")] = 500,
    sample: Annotated[int, typer.Option(
        "--sample", min=1, help="Real turns ingested with real embeddings (ingest_per_s).")
    ] = 1_000,
    pool: Annotated[int, typer.Option(
        "--pool", min=1, help="Real turns embedded once to mix the synthetic vectors from.")
    ] = 2_000,
    data: Data = DEFAULT_LOCOMO,
    store: Store = None,
    json_output: JsonFlag = False,
) -> None:
    """Recall latency (p50/p95/p99) on one large tenant among others, plus ANN recall.

    Example:

      cortex bench latency --n 100000 --other-tenants 3 --queries 500 --json
    """
    conversations = load_locomo(data)
    with _run(ctx, store, json_output, Limits(batch_size=2_000)) as (state, target, phases):
        result = run_latency(target.engine, conversations, tenant=target.tenant, n=n,
                             other_tenants=other_tenants, queries=queries, sample=sample, pool=pool,
                             store=target.store, phases=phases)
    _show(state, result, [_latency_table(result)])


def _latency_table(r: LatencyResult) -> Table:
    rows: list[tuple[str, object]] = [
        ("recall p50 / p95 / p99 ms", f"{r.recall_p50_ms:.2f} / {r.recall_p95_ms:.2f} / "
         f"{r.recall_p99_ms:.2f}"),
        ("same, precomputed query vector", f"{r.recall_p50_ms_no_embed:.2f} / "
         f"{r.recall_p95_ms_no_embed:.2f} / {r.recall_p99_ms_no_embed:.2f}"),
        ("first recall (load vectors, build HNSW) s", r.index_build_s),
        ("ANN recall@10 vs exact scan", r.ann_recall_at_10),
        ("fill, precomputed vectors (memories/s)", r.fill_per_s),
        ("ingest, real embeddings (memories/s)", r.ingest_per_s)]
    rows += [(f"part: {name} p50 / p95 ms", f"{t.p50_ms:.2f} / {t.p95_ms:.2f}")
             for name, t in r.breakdown.items()]
    return _pairs(f"Recall latency: {r.n:,} memories, {r.other_tenants} other tenants of "
                  f"{r.other_n:,}, {r.queries} queries", rows)


@bench_app.command()
def privacy(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option(
        "--data", dir_okay=False,
        help="LoCoMo's locomo10.json, as ordinary text for the throughput figure (read in place; "
        "when missing, the corpus text repeated is timed instead).")] = DEFAULT_LOCOMO,
    corpus: Annotated[Path | None, typer.Option(
        "--corpus", exists=True, dir_okay=False, show_default=False,
        help="A labelled corpus (JSON lines); default: the one shipped with Cortex.")] = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Timed runs; the median is reported.")] = 5,
    json_output: JsonFlag = False,
) -> None:
    """PII and secrets detectors: precision and recall per type on the labelled corpus, and
    scan throughput (MB/s) on ordinary English text. Needs no store.

    Example:

      cortex bench privacy --data ../shared/data/locomo/locomo10.json --json
    """
    state = get_state(ctx, json_output)
    result = run_privacy(corpus, data, runs=runs)
    _show(state, result, _privacy_tables(result))


def _privacy_tables(r: PrivacyResult) -> list[Table]:
    table = Table(title=f"Privacy detectors on {r.records:,} labelled records; * checksum types, "
                  f"target {r.checksum_target:.2f}: {'met' if r.checksum_target_met else 'NOT met'}")
    for column in ("type", "validator", "labels", "findings", "FP", "FN", "precision", "recall"):
        table.add_column(column, justify="left" if column in ("type", "validator") else "right")
    for s in sorted(r.by_type.values(), key=lambda s: (not s.checksum, s.category, s.type)):
        table.add_row(s.type + (" *" if s.checksum else ""), s.validator, str(s.labels),
                      str(s.findings), str(s.false_positives), str(s.false_negatives),
                      "n/a" if s.precision is None else f"{s.precision:.3f}",
                      "n/a" if s.recall is None else f"{s.recall:.3f}")
    return [table, _pairs(f"Privacy detectors: throughput on {r.sample} ({r.sample_mb:.2f} MB, "
                          f"{r.messages:,} messages, median of {r.runs})", [
        ("whole sample as one text (MB/s)", r.throughput_mb_s),
        ("one scan per message (MB/s)", r.throughput_per_message_mb_s)])]
