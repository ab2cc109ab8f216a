"""Every filter of ``list`` and ``recall`` selects the same memories on both backends.

One small corpus is written once (through each engine's own ``remember_many``) and only
read afterwards. For each filter: ``list`` must give the same memories in the same order
on both sides, and ``recall`` with ``k`` above the corpus size must return exactly the
memories ``list`` selects (every eligible memory is a dense candidate at this size, and
lexical candidates outside the filter would show up as extra hits) — the same set on
both sides. The expected names are written out too, so a filter both backends get
wrong in the same way fails as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cortex.core.errors import InvalidMetadata, InvalidQuery, NamespaceNotFound
from cortex.core.models import FusionWeights
from tests.contract.twins import Pair, both, natural

CORPUS: list[dict[str, Any]] = [
    # m0..m4: namespace "home"
    {"text": "Ann planted tomatoes in the garden", "namespace": "home", "kind": "episode",
     "tags": ["garden", "summer"], "metadata": {"room": "garden", "person": {"name": "Ann"}},
     "occurred_at": "2023-05-01T09:00:00Z"},
    {"text": "The kitchen tap drips when it is cold", "namespace": "home", "kind": "fact",
     "tags": ["repair"], "metadata": {"room": "kitchen", "urgent": True, "cost": 40},
     "occurred_at": "2023-06-15T18:30:00Z"},
    {"text": "Ann prefers green tea in the morning", "namespace": "home", "kind": "preference",
     "tags": ["drinks"], "metadata": {"person": {"name": "Ann", "age": 34}, "urgent": False}},
    {"text": "To reset the boiler hold the red button for ten seconds", "namespace": "home",
     "kind": "procedure", "tags": ["repair", "boiler"],
     "metadata": {"room": "basement", "cost": 40.0, "note": None},
     "occurred_at": "2024-01-10T07:00:00Z"},
    {"text": "The garden shed needs a new lock", "namespace": "home", "kind": "fact",
     "tags": ["garden", "repair"], "metadata": {"room": "garden", "urgent": 1, "cost": 12.5},
     "occurred_at": "2024-03-03T12:00:00Z"},
    # m5..m9: namespace "work"
    {"text": "The quarterly report is due on Friday", "namespace": "work", "kind": "fact",
     "tags": ["deadline"], "metadata": {"project": {"name": "atlas", "phase": 2}, "urgent": True},
     "occurred_at": "2024-03-28T09:00:00Z"},
    {"text": "Bob said the atlas demo went well", "namespace": "work", "kind": "episode",
     "tags": ["atlas"], "metadata": {"project": {"name": "atlas"}, "person": {"name": "Bob"}},
     "occurred_at": "2024-04-02T16:45:00Z", "source": {"speaker": "Bob", "session": "standup"}},
    {"text": "Design document for the atlas search service", "namespace": "work",
     "kind": "document", "tags": ["atlas", "design"],
     "metadata": {"project": {"name": "atlas", "phase": 1}, "pages": 12}},
    {"text": "Bob prefers meetings after lunch", "namespace": "work", "kind": "preference",
     "metadata": {"person": {"name": "Bob"}, "note": "ask first"}},
    {"text": "Deploy with make release then tag the commit", "namespace": "work",
     "kind": "procedure", "tags": ["deploy"], "metadata": {"project": {"name": "orion"}},
     "occurred_at": "2022-11-30T23:59:59Z"},
    # m10..m13: namespace "travel"
    {"text": "Flight to Lisbon leaves at 7 in the morning", "namespace": "travel",
     "kind": "fact", "tags": ["flight", "summer"], "metadata": {"city": "Lisbon", "seat": "12A"},
     "occurred_at": "2024-07-01T05:00:00Z"},
    {"text": "Ann and Bob loved the pasteis de nata in Lisbon", "namespace": "travel",
     "kind": "episode", "tags": ["food", "summer"],
     "metadata": {"city": "Lisbon", "person": {"name": "Ann"}, "stars": 5},
     "occurred_at": "2024-07-03T15:00:00Z"},
    {"text": "Hotel in Porto has a garden view", "namespace": "travel", "kind": "fact",
     "tags": ["hotel"], "metadata": {"city": "Porto", "stars": 4.0, "breakfast": None},
     "occurred_at": "2024-07-05T20:00:00Z"},
    {"text": "Pack the travel adapter and the tea", "namespace": "travel", "kind": "procedure",
     "tags": ["packing"], "metadata": {"city": "Porto", "note": "1"}},
]
ALL = [f"m{i}" for i in range(len(CORPUS))]
HOME, WORK, TRAVEL = ALL[:5], ALL[5:10], ALL[10:]

# (filter, the memories it selects)
FILTERS: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ALL),
    ({"namespace": "work"}, WORK),
    ({"namespace": ["home", "travel"]}, HOME + TRAVEL),
    ({"namespace": ["travel", "nowhere"]}, TRAVEL),
    ({"kinds": ["fact"]}, ["m1", "m4", "m5", "m10", "m12"]),
    ({"kinds": ["procedure", "preference"]}, ["m2", "m3", "m8", "m9", "m13"]),
    ({"kinds": ["document"], "namespace": "home"}, []),
    ({"tags": ["repair"]}, ["m1", "m3", "m4"]),
    ({"tags": ["garden", "repair"]}, ["m4"]),
    ({"tags": ["summer"], "kinds": ["episode"]}, ["m0", "m11"]),
    ({"tags": ["no-such-tag"]}, []),
    ({"metadata": {"room": "garden"}}, ["m0", "m4"]),
    ({"metadata": {"person.name": "Ann"}}, ["m0", "m2", "m11"]),
    ({"metadata": {"project.name": "atlas", "project.phase": 2}}, ["m5"]),
    ({"metadata": {"person.age": 34}}, ["m2"]),
    ({"metadata": {"urgent": True}}, ["m1", "m4", "m5"]),  # true equals 1
    ({"metadata": {"urgent": 1}}, ["m1", "m4", "m5"]),
    ({"metadata": {"urgent": False}}, ["m2"]),
    ({"metadata": {"cost": 40}}, ["m1", "m3"]),  # 40 equals 40.0
    ({"metadata": {"cost": 12.5}}, ["m4"]),
    ({"metadata": {"stars": 4}}, ["m12"]),
    ({"metadata": {"note": "1"}}, ["m13"]),  # a string is not a number
    ({"metadata": {"note": 1}}, []),
    ({"metadata": {"city": "Lisbon"}, "tags": ["summer"], "kinds": ["fact"]}, ["m10"]),
    ({"metadata": {"breakfast": None}, "namespace": "travel"}, TRAVEL),  # null or missing
    ({"metadata": {"note": None}}, [m for m in ALL if m not in ("m8", "m13")]),
    ({"metadata": {"person.name": None}, "namespace": "work"}, ["m5", "m7", "m9"]),
    ({"metadata": {"city": "Lisbon", "seat": "12A"}}, ["m10"]),
    ({"occurred_after": "2024-01-01T00:00:00Z"}, ["m3", "m4", "m5", "m6", "m10", "m11", "m12"]),
    ({"occurred_before": "2023-06-15T18:30:00Z"}, ["m0", "m9"]),  # exclusive
    ({"occurred_after": "2023-06-15T18:30:00Z", "occurred_before": "2024-03-28T09:00:00Z"},
     ["m1", "m3", "m4"]),  # after is inclusive
    ({"occurred_after": "2024-07-01T05:00:00+00:00", "namespace": "travel",
      "tags": ["summer"]}, ["m10", "m11"]),
    ({"occurred_after": "2030-01-01T00:00:00Z"}, []),
]
DENSE_TENANT = "dense-only"
DENSE_ONLY = FusionWeights(dense=1.0, bm25=0.0, recency=0.0)
RECALL_ONLY = {"occurred_after", "occurred_before"}  # list() has no time range


@pytest.fixture(scope="module")
def seeded(module_pair: Pair) -> Iterator[Pair]:
    module_pair.write(lambda mem, _: mem.remember_many(CORPUS))
    module_pair.each(lambda mem, _: mem.set_fusion_weights(DENSE_ONLY, tenant=DENSE_TENANT))
    module_pair.write(lambda mem, _: mem.remember_many(CORPUS, tenant=DENSE_TENANT), prefix="d")
    yield module_pair


def _label(case: tuple[dict[str, Any], list[str]]) -> str:
    return ",".join(f"{k}={v}" for k, v in case[0].items()) or "none"


@pytest.mark.parametrize("case", FILTERS, ids=[_label(c) for c in FILTERS])
def test_filter_selects_the_same_memories(seeded: Pair, case: tuple[dict[str, Any], list[str]]) -> None:
    flt, expected = case
    if not RECALL_ONLY & set(flt):
        listed = seeded.same(lambda mem, _: mem.list(**flt, limit=100))
        assert seeded.names(0, listed) == sorted(expected, key=natural, reverse=True)  # newest first
    queries = ["garden", "Who likes tea?", "atlas project deadline", "summer trip to Portugal"]
    for query in queries:
        hits = seeded.each(lambda mem, _, query=query: mem.recall(query, k=100, **flt))
        assert seeded.found(hits, ordered=False) == both(expected), f"recall {query!r} with {flt}"


def test_dense_order_is_the_same_under_filters(seeded: Pair) -> None:
    """With dense-only weights (no BM25, no recency: the two sides wrote at different
    times) the filtered ranking is a function of the stored vectors: same order, same scores."""
    for flt, _ in FILTERS:
        for query in ("Ann in the garden", "Bob atlas demo", "morning tea"):
            hits = seeded.each(lambda mem, _, query=query, flt=flt: mem.recall(
                query, k=5, tenant=DENSE_TENANT, **flt))
            assert seeded.names(0, hits[0]) == seeded.names(1, hits[1]), f"{query!r} {flt}"
            assert [h.score for h in hits[0]] == pytest.approx([h.score for h in hits[1]], abs=1e-6)


def test_null_does_not_match_an_object(seeded: Pair) -> None:
    listed = seeded.same(lambda mem, _: mem.list(metadata={"person": None}, limit=100))
    assert sorted(seeded.names(0, listed)) == sorted(
        ["m1", "m3", "m4", "m5", "m7", "m9", "m10", "m12", "m13"])


def test_unknown_namespace_and_bad_filters_fail_alike(seeded: Pair) -> None:
    assert seeded.fails(lambda mem, _: mem.recall("x", namespace="nowhere")) is NamespaceNotFound
    assert seeded.same(lambda mem, _: mem.list(namespace="nowhere")) == []
    assert issubclass(seeded.fails(lambda mem, _: mem.recall("x", metadata={"a b": 1})), InvalidQuery)
    assert issubclass(seeded.fails(lambda mem, _: mem.list(metadata={"room": ["garden"]})),
                      InvalidQuery | InvalidMetadata)
    assert issubclass(seeded.fails(lambda mem, _: mem.list(metadata={"x": 2**70})),
                      InvalidQuery | InvalidMetadata)


def test_list_pages_alike(seeded: Pair) -> None:
    first = seeded.same(lambda mem, _: mem.list(limit=4))
    assert seeded.names(0, first) == ["m13", "m12", "m11", "m10"]
    second = seeded.same(lambda mem, my: mem.list(limit=4, after=my("m10")))
    assert seeded.names(0, second) == ["m9", "m8", "m7", "m6"]
    last = seeded.same(lambda mem, my: mem.list(limit=4, after=my("m2")))
    assert seeded.names(0, last) == ["m1", "m0"]
