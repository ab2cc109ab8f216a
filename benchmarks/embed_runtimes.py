"""Which runtime should run all-MiniLM-L6-v2? Speed and faithfulness on real text.

    .venv/bin/python benchmarks/embed_runtimes.py [--n 2000] [--queries 200] [--json]

Rows: the torch reference (sentence-transformers, skipped with a message when torch or
sentence-transformers is missing), cortex's ONNX fp32 graph (``MiniLMEmbedder``) and
an int8 dynamic quantisation of that graph. Texts are LoCoMo turns. Throughput is the
median of ``--repeats`` passes over all texts; single-query latency embeds
``--queries`` texts one call at a time. Runtimes take turns within each pass, so a load
spike from another process hits all of them. Cosine is against the torch vectors (or the
fp32 graph's when torch is absent). The box is noisy: compare medians, rerun to check.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cortex.embed.base import Vectors
from cortex.embed.minilm import MiniLMEmbedder, Weights, build_bert_onnx, default_model_path

LOCOMO = Path("/work/shared/data/locomo/locomo10.json")
Encode = Callable[[list[str], int], Vectors]


@dataclass
class Row:
    runtime: str
    load_s: float
    per_s_b32: float
    per_s_b64: float
    p50_ms: float
    p95_ms: float
    cos_min: float | None = None
    cos_mean: float | None = None


def locomo_turns(path: Path, n: int) -> list[str]:
    data = json.loads(path.read_text())
    turns = [
        turn["text"]
        for sample in data
        for key, session in sample["conversation"].items()
        if key.startswith("session_") and isinstance(session, list)
        for turn in session
    ]
    return turns[:n]


@dataclass
class Runtime:
    name: str
    encode: Encode
    load_s: float
    rates: dict[int, list[float]] = field(default_factory=lambda: {32: [], 64: []})
    latencies_ms: list[float] = field(default_factory=list)


def measure_round(runtimes: list[Runtime], texts: list[str], queries: list[str]) -> None:
    """One pass of every measurement for every runtime, so load spikes hit them all."""
    for rt in runtimes:
        for batch, runs in rt.rates.items():
            start = time.perf_counter()
            rt.encode(texts, batch)
            runs.append(len(texts) / (time.perf_counter() - start))
        for query in queries:
            start = time.perf_counter()
            rt.encode([query], 1)
            rt.latencies_ms.append((time.perf_counter() - start) * 1000)


def summarise(rt: Runtime, vectors: Vectors, reference: Vectors) -> Row:
    times = sorted(rt.latencies_ms)
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    b32, b64 = (statistics.median(rt.rates[b]) for b in (32, 64))
    row = Row(rt.name, rt.load_s, b32, b64, statistics.median(times), p95)
    row.cos_min, row.cos_mean = cosines(vectors, reference)
    return row


def timed(build: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    built = build()
    return built, time.perf_counter() - start


def torch_encoder(threads: int | None) -> tuple[Encode, float] | str:
    try:
        import torch  # checked first: its absence is the usual reason
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        return f"skipped: {exc.name} not installed (pip install torch==2.13.0 sentence-transformers)"
    if threads:
        torch.set_num_threads(threads)
    model, load_s = timed(lambda: SentenceTransformer(str(default_model_path()), device="cpu"))

    def encode(texts: list[str], batch: int) -> Vectors:
        out = model.encode(texts, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    return encode, load_s


def onnx_encoder(embedder: MiniLMEmbedder) -> tuple[Encode, float]:
    _, load_s = timed(embedder.warmup)

    def encode(texts: list[str], batch: int) -> Vectors:
        embedder._batch_size = batch  # the benchmark sweeps what a caller would fix
        return embedder.embed_batch(texts)

    return encode, load_s


class Int8MiniLM(MiniLMEmbedder):
    """The fp32 graph after onnxruntime's dynamic int8 quantisation of its MatMul weights."""

    def _onnx_bytes(self, weights: Weights) -> bytes:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic nags about pre-processing
        with tempfile.TemporaryDirectory() as tmp:
            fp32, int8 = Path(tmp, "fp32.onnx"), Path(tmp, "int8.onnx")
            onnx.save(build_bert_onnx(weights), fp32)
            quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
            return int8.read_bytes()


def cosines(vectors: Vectors, reference: Vectors) -> tuple[float, float]:
    sims = np.sum(vectors * reference, axis=1)  # both are unit vectors
    return float(sims.min()), float(sims.mean())


def run(args: argparse.Namespace) -> dict[str, Any]:
    texts = locomo_turns(args.data, args.n)
    runtimes, notes = load_runtimes(args.threads)
    for rt in runtimes:
        rt.encode(texts[:64], 32)  # warm caches and thread pools
    per_round = max(1, args.queries // args.repeats)
    for i in range(args.repeats):
        measure_round(runtimes, texts, texts[i * per_round : (i + 1) * per_round])
    vectors = [rt.encode(texts, 32) for rt in runtimes]
    rows = [summarise(rt, v, vectors[0]) for rt, v in zip(runtimes, vectors, strict=True)]
    return {
        "n": len(texts),
        "threads": args.threads or f"default (onnx {MiniLMEmbedder()._threads})",
        "reference": runtimes[0].name,
        "rows": [asdict(r) for r in rows],
        "notes": notes,
    }


def load_runtimes(threads: int | None) -> tuple[list[Runtime], list[str]]:
    candidates: list[tuple[str, Callable[[], tuple[Encode, float] | str]]] = [
        ("torch fp32 (sentence-transformers)", lambda: torch_encoder(threads)),
        ("onnxruntime fp32 (cortex graph)", lambda: onnx_encoder(MiniLMEmbedder(threads=threads))),
        ("onnxruntime int8 dynamic", lambda: onnx_encoder(Int8MiniLM(threads=threads))),
    ]
    runtimes, notes = [], []
    for name, make in candidates:
        made = make()
        if isinstance(made, str):
            notes.append(f"{name}: {made}")
        else:
            runtimes.append(Runtime(name, *made))
    return runtimes, notes


def print_table(result: dict[str, Any]) -> None:
    print(
        f"all-MiniLM-L6-v2, {result['n']} LoCoMo turns, threads={result['threads']}, "
        f"cosine vs {result['reference']}"
    )
    heads = ("load s", "b32/s", "b64/s", "p50 ms", "p95 ms", "cos min", "mean")
    print(f"{'runtime':36} " + " ".join(f"{h:>7}" for h in heads))
    for r in result["rows"]:
        print(
            f"{r['runtime']:36} {r['load_s']:7.2f} {r['per_s_b32']:7.0f} {r['per_s_b64']:7.0f} "
            f"{r['p50_ms']:7.2f} {r['p95_ms']:7.2f} {r['cos_min']:7.5f} {r['cos_mean']:7.5f}"
        )
    for note in result["notes"]:
        print(note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="texts to embed")
    parser.add_argument("--queries", type=int, default=200, help="single-text calls timed")
    parser.add_argument("--repeats", type=int, default=3, help="throughput passes (median)")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for onnxruntime and torch (default: their own)"
    )
    parser.add_argument("--data", type=Path, default=LOCOMO, help="locomo10.json")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
