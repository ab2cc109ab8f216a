"""Precision, recall and throughput of the PII and secrets detectors.

    from cortex.bench.privacy import run_privacy
    result = run_privacy(locomo="../shared/data/locomo/locomo10.json")
    print(result.by_type["credit_card"].recall, result.throughput_mb_s)

Accuracy is measured on the labelled corpus shipped with the package
(``cortex/privacy/corpus/corpus.jsonl``, written by ``benchmarks/make_privacy_corpus.py``):
a finding is a true positive when its type matches a label's and the spans overlap.
Every finding on every record counts, whatever the record's target type, so a phone
reading of an NHS number is a false positive for ``phone``.

Throughput is the median of several runs over ordinary English text: LoCoMo's
conversation turns when the file is given (read in place, never copied), else the
corpus text repeated. It is reported twice: the whole sample as one text, and turn by
turn (one ``scan`` per message, as memories are written).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from cortex.core.errors import ImportFileError
from cortex.privacy.detect import TYPES, Finding, scan

CHECKSUM_TYPES = ("credit_card", "iban", "us_ssn", "uk_nhs", "aba_routing", "in_aadhaar",
                  "crypto_wallet", "jwt")
TARGET = 0.95


class Label(BaseModel):
    model_config = ConfigDict(frozen=True)
    type: str
    start: int
    end: int


class CorpusRecord(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    target: str
    kind: str  # "positive" | "negative"
    text: str
    labels: tuple[Label, ...]


class TypeScore(BaseModel):
    type: str
    category: str
    validator: str
    checksum: bool  # one of the types with a ≥ 0.95 precision and recall target
    labels: int
    findings: int
    true_positives: int  # labels found
    false_positives: int  # findings that overlap no label of their type
    false_negatives: int  # labels missed
    precision: float | None  # None: no findings at all
    recall: float | None  # None: no labels


class PrivacyResult(BaseModel):
    records: int
    corpus: str
    by_type: dict[str, TypeScore]
    checksum_target: float
    checksum_target_met: bool
    throughput_mb_s: float  # whole sample as one text, median of runs
    throughput_per_message_mb_s: float  # one scan per message
    sample: str
    sample_mb: float
    messages: int
    runs: int


def corpus_path() -> Path:
    return Path(str(resources.files("cortex.privacy").joinpath("corpus", "corpus.jsonl")))


def load_corpus(path: str | Path | None = None) -> list[CorpusRecord]:
    source = Path(path) if path is not None else corpus_path()
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ImportFileError(f"cannot read the privacy corpus {source}: {exc.strerror}") from None
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(CorpusRecord.model_validate_json(line))
        except ValueError:
            raise ImportFileError(f"{source}:{number} is not a corpus record") from None
    return records


def _overlaps(a: Finding | Label, b: Finding | Label) -> bool:
    return a.start < b.end and b.start < a.end


def score(records: Sequence[CorpusRecord]) -> dict[str, TypeScore]:
    """Per-type precision and recall of ``scan`` over ``records``."""
    labels = dict.fromkeys(TYPES, 0)
    found = dict.fromkeys(TYPES, 0)
    findings = dict.fromkeys(TYPES, 0)
    false_pos = dict.fromkeys(TYPES, 0)
    for record in records:
        hits = scan(record.text)
        for label in record.labels:
            labels[label.type] += 1
            if any(h.type == label.type and _overlaps(h, label) for h in hits):
                found[label.type] += 1
        for hit in hits:
            findings[hit.type] += 1
            if not any(label.type == hit.type and _overlaps(hit, label) for label in record.labels):
                false_pos[hit.type] += 1
    return {name: TypeScore(
        type=name, category=info.category, validator=info.validator, checksum=name in CHECKSUM_TYPES,
        labels=labels[name], findings=findings[name], true_positives=found[name],
        false_positives=false_pos[name], false_negatives=labels[name] - found[name],
        precision=(findings[name] - false_pos[name]) / findings[name] if findings[name] else None,
        recall=found[name] / labels[name] if labels[name] else None,
    ) for name, info in TYPES.items()}


def ordinary_text(locomo: str | Path | None, records: Sequence[CorpusRecord]) -> tuple[str, list[str]]:
    """(sample name, messages): LoCoMo's turns if the file exists, else the corpus repeated."""
    if locomo is not None and Path(locomo).is_file():
        from cortex.bench.locomo_data import load_locomo

        turns = [t.text for c in load_locomo(locomo) for t in c.turns]
        return f"LoCoMo turns ({Path(locomo).name})", turns
    texts = [r.text for r in records]
    return "the privacy corpus, repeated 10 times", texts * 10


def _median_mb_s(messages: Sequence[str], size_mb: float, runs: int, whole: bool) -> float:
    text = "\n".join(messages)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        if whole:
            scan(text)
        else:
            for message in messages:
                scan(message)
        timings.append(time.perf_counter() - started)
    return size_mb / statistics.median(timings)


def run_privacy(corpus: str | Path | None = None, locomo: str | Path | None = None,
                runs: int = 5) -> PrivacyResult:
    """Score the corpus and time ``scan`` on ordinary text (median of ``runs``)."""
    records = load_corpus(corpus)
    by_type = score(records)
    sample, messages = ordinary_text(locomo, records)
    size_mb = len("\n".join(messages).encode()) / 1e6
    met = all(
        s.precision is not None and s.recall is not None and s.precision >= TARGET and s.recall >= TARGET
        for s in by_type.values() if s.checksum)
    return PrivacyResult(
        records=len(records), corpus=str(corpus or corpus_path()), by_type=by_type,
        checksum_target=TARGET, checksum_target_met=met,
        throughput_mb_s=_median_mb_s(messages, size_mb, runs, whole=True),
        throughput_per_message_mb_s=_median_mb_s(messages, size_mb, runs, whole=False),
        sample=sample, sample_mb=round(size_mb, 3), messages=len(messages), runs=runs)

