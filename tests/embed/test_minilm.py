"""MiniLMEmbedder: the real all-MiniLM-L6-v2 on ONNX Runtime."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from cortex.core.errors import ConfigError, EmbeddingError
from cortex.embed import Embedder, MiniLMEmbedder, open_embedder

TEXTS = [
    "Hey Mel! Good to see you! How have you been?",
    "I went to a LGBTQ support group yesterday and it was so powerful.",
    "The quarterly tax filing deadline moved to next Tuesday.",
    "",
    "ok",
]


@pytest.fixture(scope="module")
def model() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_constructing_does_not_load() -> None:
    emb = MiniLMEmbedder()
    assert not emb.loaded
    assert (emb.name, emb.dim) == ("all-MiniLM-L6-v2", 384)
    assert isinstance(emb, Embedder)
    assert not emb.loaded


def test_importing_loads_no_runtime() -> None:
    code = (
        "import sys, cortex.embed; "
        "print(sorted(m for m in ('onnxruntime', 'onnx', 'tokenizers', 'safetensors') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_open_embedder_names_the_local_model() -> None:
    for spec in ("minilm", "local"):
        emb = open_embedder(spec)
        assert isinstance(emb, MiniLMEmbedder) and not emb.loaded


@pytest.mark.parametrize("spec", ["", "bogus", "openai://h/v1?model=m", "minilm+x"])
def test_unknown_specs_name_the_valid_ones(spec: str) -> None:
    with pytest.raises(ConfigError, match="valid ones are"):
        open_embedder(spec)


def test_package_exports_exactly_its_all() -> None:
    import cortex.embed as pkg

    public = {name for name in vars(pkg) if not name.startswith("_")} - {"annotations", "Callable"}
    assert set(pkg.__all__) <= public
    assert {"Embedder", "MiniLMEmbedder", "CachingEmbedder", "OpenAICompatEmbedder", "open_embedder"} <= set(
        pkg.__all__
    )


def test_shape_dtype_and_unit_norm(model: MiniLMEmbedder) -> None:
    out = model.embed_batch(TEXTS)
    assert out.shape == (len(TEXTS), 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert model.loaded


def test_empty_list_gives_an_empty_matrix(model: MiniLMEmbedder) -> None:
    out = model.embed_batch([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_deterministic(model: MiniLMEmbedder) -> None:
    np.testing.assert_array_equal(model.embed_batch(TEXTS), model.embed_batch(TEXTS))


def test_batch_equals_one_by_one(model: MiniLMEmbedder) -> None:
    texts = [*TEXTS, "a much longer sentence " * 12]
    batched = model.embed_batch(texts)
    single = np.vstack([model.embed_batch([t]) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_small_batches_and_length_sorting_keep_input_order(model: MiniLMEmbedder) -> None:
    texts = [f"{'word ' * (i % 7)}item number {i}" for i in range(23)]
    small = MiniLMEmbedder(batch_size=4).embed_batch(texts)
    np.testing.assert_allclose(small, model.embed_batch(texts), atol=1e-5)
    np.testing.assert_allclose(small[5], model.embed_batch([texts[5]])[0], atol=1e-5)


def test_paraphrase_is_closer_than_an_unrelated_text(model: MiniLMEmbedder) -> None:
    a, b, c = model.embed_batch(
        [
            "My dog loves playing fetch in the park.",
            "At the park, my puppy enjoys chasing the ball I throw.",
            "The central bank raised interest rates by half a point.",
        ]
    )
    assert cos(a, b) > cos(a, c) + 0.3


def test_long_text_is_truncated_at_256_tokens(model: MiniLMEmbedder) -> None:
    base = "memory systems keep track of what people said " * 40
    long_a, long_b = model.embed_batch([base, base + "and this tail is never seen " * 50])
    assert cos(long_a, long_b) == pytest.approx(1.0, abs=1e-5)


def test_non_string_input_is_an_embedding_error(model: MiniLMEmbedder) -> None:
    with pytest.raises(EmbeddingError):
        model.embed_batch([b"bytes"])  # type: ignore[list-item]


def test_concurrent_first_use_loads_once_and_agrees() -> None:
    emb = MiniLMEmbedder()
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(emb.embed_batch(TEXTS))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], atol=1e-6)


def test_warmup_loads(model: MiniLMEmbedder) -> None:
    emb = MiniLMEmbedder()
    emb.warmup()
    assert emb.loaded


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"max_seq_length": 1}, {"max_seq_length": 513}])
def test_bad_settings_are_config_errors(kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigError):
        MiniLMEmbedder(**kwargs)  # type: ignore[arg-type]


def test_missing_model_files_are_a_config_error(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match=r"model\.safetensors"):
        MiniLMEmbedder(model_path=str(tmp_path)).embed_batch(["x"])
