"""The shipped labelled corpus: well-formed, reproducible, and scored at target."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from cortex.bench.privacy import CHECKSUM_TYPES, TARGET, CorpusRecord, corpus_path, load_corpus, score
from cortex.core.errors import ImportFileError
from cortex.privacy.detect import TYPES

ROOT = Path(__file__).parents[2]
GENERATOR = ROOT / "benchmarks" / "make_privacy_corpus.py"


@pytest.fixture(scope="module")
def records() -> list[CorpusRecord]:
    return load_corpus()


def test_the_corpus_ships_inside_the_package() -> None:
    assert corpus_path().is_file()
    assert corpus_path().parent.parent == ROOT / "src" / "cortex" / "privacy"


def test_records_are_well_formed(records: list[CorpusRecord]) -> None:
    assert len({r.id for r in records}) == len(records)
    for r in records:
        assert r.target in TYPES and r.kind in ("positive", "negative"), r.id
        assert all(label.type in TYPES and 0 <= label.start < label.end <= len(r.text) for label in r.labels)
        if r.kind == "positive":
            assert any(label.type == r.target for label in r.labels), r.id
        else:
            assert not any(label.type == r.target for label in r.labels), r.id


def test_every_type_has_positives_and_near_misses(records: list[CorpusRecord]) -> None:
    counts = Counter((r.target, r.kind) for r in records)
    for name in TYPES:
        least = 40 if name in CHECKSUM_TYPES else 15
        assert counts[(name, "positive")] >= least and counts[(name, "negative")] >= least, name


def test_checksum_types_meet_the_target(records: list[CorpusRecord]) -> None:
    scores = score(records)
    missed = {name: (s.precision, s.recall) for name, s in scores.items() if name in CHECKSUM_TYPES and (
        s.precision is None or s.recall is None or s.precision < TARGET or s.recall < TARGET)}
    assert missed == {}


def test_every_type_is_found_somewhere(records: list[CorpusRecord]) -> None:
    scores = score(records)
    assert [name for name, s in scores.items() if not s.true_positives] == []


def test_the_generator_reproduces_the_shipped_corpus(tmp_path: Path) -> None:
    out = tmp_path / "corpus.jsonl"
    run = subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes() == corpus_path().read_bytes()


def test_another_seed_gives_another_corpus(tmp_path: Path) -> None:
    out = tmp_path / "other.jsonl"
    run = subprocess.run([sys.executable, str(GENERATOR), "--out", str(out), "--seed", "7"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    other = load_corpus(out)
    assert len(other) == len(load_corpus()) and out.read_bytes() != corpus_path().read_bytes()
    scores = score(other)  # fresh values, same templates: still at target
    assert all((scores[name].recall or 0) >= TARGET and (scores[name].precision or 0) >= TARGET
               for name in CHECKSUM_TYPES)


def test_a_broken_corpus_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    with pytest.raises(ImportFileError, match=r"bad\.jsonl:1 is not a corpus record"):
        load_corpus(bad)
    with pytest.raises(ImportFileError, match="cannot read"):
        load_corpus(tmp_path / "missing.jsonl")
