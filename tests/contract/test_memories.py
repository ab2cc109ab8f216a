"""Writing, reading, versions and deletion: the same calls on SQLite and PostgreSQL.

Every test runs one scenario on both engines (``Pair``): a result that differs between
the backends is a failure of that test, named by the call and the field that differs.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from ulid import ULID

from cortex import Cortex
from cortex.core.errors import Conflict, InvalidId, InvalidInput, MemoryNotFound, NamespaceNotFound
from cortex.core.models import FusionWeights, utcnow
from tests.contract.twins import Pair, both

LEXICAL_ONLY = FusionWeights(dense=0.0, bm25=1.0, recency=0.0, importance=0.0)


def _stats(mem: Cortex, _: Any) -> dict[str, Any]:
    stats = mem.stats()
    stats.pop("store")  # the URL
    return stats


def test_remember_then_get_returns_the_same_memory(pair: Pair) -> None:
    results = pair.write(lambda mem, _: [
        mem.remember("Caroline went to the LGBTQ support group on 7 May 2023 🌈",
                     namespace="user:caroline", kind="episode",
                     metadata={"topic": "support", "person": {"name": "Caroline", "age": 31},
                               "score": 1.5, "flag": True, "nothing": None, "list": [1, "two"]},
                     tags=["support", "lgbtq"], importance=0.75,
                     source={"session": "s1", "speaker": "Caroline", "agent": "bot", "extra": "kept"},
                     occurred_at="2023-05-08T13:56:00Z"),
        mem.remember("Melanie likes pottery", kind="preference"),
        mem.remember("x", namespace="ns-2", kind="fact", valid_from="2020-01-01T00:00:00Z"),
    ])
    assert [r.created for r in results] == [True, True, True]
    pair.same(lambda mem, my: [mem.get(my(n)) for n in ("m0", "m1", "m2")])
    pair.same(lambda mem, my: mem.get(my("m2")).valid_from.isoformat())
    pair.same(lambda mem, _: mem.list())
    pair.same(lambda mem, _: mem.namespaces())
    pair.same(lambda mem, _: mem.usage())
    pair.same(_stats)
    assert pair.fails(lambda mem, _: mem.get(str(ULID()))) is MemoryNotFound
    assert pair.fails(lambda mem, _: mem.get("not-an-id")) is InvalidId


def test_stored_memory_round_trips_exactly(pair: Pair) -> None:
    """Each backend gives back exactly what remember returned (times to the microsecond)."""
    for engine in pair.engines:
        made = engine.remember("A note with every field", namespace="n", kind="document",
                               metadata={"a": {"b": [1, 2.5, None]}}, tags=["t1", "t2"],
                               importance=0.1, source={"url": "https://example.org/x"},
                               occurred_at="2024-02-29T23:59:59.123456Z", ttl=3600)
        assert engine.get(made.memory.id) == made.memory
        assert engine.list() == [made.memory]


def test_batch_with_duplicates(pair: Pair) -> None:
    said = {"speaker": "Ann", "session": "s1"}
    first = [
        {"text": "We adopted a dog", "source": said, "occurred_at": "2024-01-01T10:00:00Z"},
        {"text": "It is a beagle", "source": said, "occurred_at": "2024-01-01T10:00:00Z"},
        {"text": "We adopted a dog", "source": said, "occurred_at": "2024-01-01T10:00:00Z"},  # twin
        {"text": "We adopted a dog", "source": {"speaker": "Bob"}},  # another speaker: new
        {"text": "We adopted a dog", "source": said, "occurred_at": "2024-02-01T10:00:00Z"},  # later
        {"text": "We adopted a dog", "namespace": "other", "source": said,
         "occurred_at": "2024-01-01T10:00:00Z"},  # another namespace: new
        {"text": "It is a beagle", "source": said, "occurred_at": "2024-01-01T10:00:00Z"},  # twin
    ]
    results = pair.write(lambda mem, _: mem.remember_many(first, batch_size=2))
    created = [(r.created, r.duplicate_of) for r in results]
    assert created == [(True, None), (True, None), (False, results[0].memory.id), (True, None),
                       (True, None), (True, None), (False, results[1].memory.id)]
    again = pair.write(lambda mem, _: mem.remember_many(
        [first[1], {"text": "A new line"}, first[0]]))
    assert [(r.created, pair.name(0, r.duplicate_of)) for r in again] == [
        (False, "m1"), (True, None), (False, "m0")]
    pair.same(lambda mem, _: mem.list(limit=100))
    pair.same(lambda mem, _: mem.usage())
    # one bad item: nothing of the batch is written, on either side
    assert issubclass(pair.fails(lambda mem, _: mem.remember_many([{"text": "fine"}, {"text": ""}])),
                      InvalidInput)
    pair.same(lambda mem, _: mem.usage())


def test_update_supersede_history_and_as_of(pair: Pair) -> None:
    pair.write(lambda mem, _: mem.remember("Alice lives in Paris", namespace="people",
                                           tags=["home"], metadata={"city": "Paris"}))
    time.sleep(0.002)
    before_update = utcnow()
    pair.write(lambda mem, my: mem.update(my("m0"), text="Alice lives in Berlin",
                                          metadata={"city": "Berlin"}))
    time.sleep(0.002)
    between = utcnow()
    pair.write(lambda mem, my: mem.update(my("m1"), tags=["home", "moved"], importance=0.9))
    pair.same(lambda mem, my: [mem.history(my(n)) for n in ("m0", "m1", "m2")])
    history = pair.same(lambda mem, my: mem.history(my("m2")))
    assert pair.names(0, history) == ["m0", "m1", "m2"]
    assert history[0].superseded_by == history[1].id and history[2].supersedes == history[1].id
    pair.same(lambda mem, my: mem.get(my("m0")))  # superseded, still readable by id
    assert pair.names(0, pair.same(lambda mem, _: mem.list())) == ["m2"]
    listed = pair.same(lambda mem, _: mem.list(include_superseded=True))
    assert pair.names(0, listed) == ["m2", "m1", "m0"]
    for at, expected in ((before_update, "m0"), (between, "m1"), (None, "m2")):
        hits = pair.each(lambda mem, _, at=at: mem.recall("Where does Alice live?", as_of=at))
        assert pair.found(hits) == both([expected])
        hits = pair.each(lambda mem, _, at=at: mem.recall("Alice", namespace="people", as_of=at,
                                                         tags=["home"]))
        assert pair.found(hits) == both([expected])
    long_ago = before_update - timedelta(days=1)
    assert pair.each(lambda mem, _: mem.recall("Alice", as_of=long_ago)) == ([], [])
    assert pair.fails(lambda mem, my: mem.update(my("m0"), text="Alice lives in Rome")) is Conflict
    assert pair.fails(lambda mem, _: mem.update(str(ULID()), text="nobody")) is MemoryNotFound
    pair.same(lambda mem, _: mem.usage())


def test_forget_removes_every_version(pair: Pair) -> None:
    pair.write(lambda mem, _: mem.remember("Bob's locker code is 4711", namespace="n"))
    pair.write(lambda mem, my: mem.update(my("m0"), text="Bob's locker code is 8080"))
    pair.write(lambda mem, _: mem.remember("Bob likes tennis", namespace="n"))
    assert pair.same(lambda mem, my: mem.forget(my("m1"))) == 2
    for name in ("m0", "m1"):
        assert pair.fails(lambda mem, my, name=name: mem.get(my(name))) is MemoryNotFound
    hits = pair.each(lambda mem, _: mem.recall("locker code", k=10))
    assert pair.found(hits) == both(["m2"])
    assert pair.same(lambda mem, _: mem.forget(str(ULID()))) == 0
    assert pair.same(lambda mem, my: mem.forget([my("m2"), my("m2")])) == 1
    assert pair.fails(lambda mem, _: mem.forget("nope")) is InvalidId
    pair.same(lambda mem, _: mem.list(include_superseded=True))
    pair.same(lambda mem, _: mem.usage())
    pair.same(lambda mem, _: mem.namespaces())
    assert pair.fails(lambda mem, _: mem.recall("Bob", namespace="n")) is NamespaceNotFound


def test_forget_leaves_no_trace_in_later_turns(pair: Pair) -> None:
    """A turn's words are indexed as context of the next turns of its session; forgetting
    the turn removes them from those turns' full-text entries on both backends."""
    pair.each(lambda mem, _: mem.set_fusion_weights(LEXICAL_ONLY))
    said = {"session": "chat-1", "speaker": "Dana"}
    pair.write(lambda mem, _: mem.remember_many([
        {"text": "The vault password is swordfish", "source": said},
        {"text": "Noted, I will keep it safe", "source": said},
        {"text": "Thanks a lot", "source": said},
        {"text": "Something else entirely", "source": said},
    ]))
    hits = pair.each(lambda mem, _: mem.recall("swordfish", k=10))
    assert pair.found(hits, ordered=False) == both(["m0", "m1", "m2"])
    pair.same(lambda mem, my: mem.forget(my("m0")))
    assert pair.each(lambda mem, _: mem.recall("swordfish", k=10)) == ([], [])
    hits = pair.each(lambda mem, _: mem.recall("safe", k=10))  # the next turns' context stays
    assert pair.found(hits, ordered=False) == both(["m1", "m2", "m3"])
    for engine in pair.engines:
        assert engine.check().ok, engine.check().problems


def test_forget_where(pair: Pair) -> None:
    pair.write(lambda mem, _: mem.remember_many([
        {"text": "one", "namespace": "a", "kind": "fact", "tags": ["x"]},
        {"text": "two", "namespace": "a", "kind": "episode", "tags": ["x", "y"],
         "occurred_at": "2023-01-01T00:00:00Z"},
        {"text": "three", "namespace": "b", "kind": "fact", "metadata": {"p": {"q": 1}}},
        {"text": "four", "namespace": "b", "kind": "fact", "metadata": {"p": {"q": 2}},
         "occurred_at": "2024-06-01T00:00:00Z"},
        {"text": "five", "namespace": "c", "occurred_at": "2022-01-01T00:00:00Z"},
        {"text": "six", "namespace": "c"},
    ]))
    pair.write(lambda mem, my: mem.update(my("m2"), text="three, corrected"))  # m6
    assert pair.fails(lambda mem, _: mem.forget_where()) is InvalidInput
    assert pair.same(lambda mem, _: mem.forget_where(kinds=["fact"], tags=["x"])) == 1
    assert pair.same(lambda mem, _: mem.forget_where(metadata={"p.q": 1})) == 2  # both versions
    assert pair.same(lambda mem, _: mem.forget_where(occurred_before="2023-06-01T00:00:00Z")) == 2
    assert pair.same(lambda mem, _: mem.forget_where(namespace="nowhere")) == 0
    listed = pair.same(lambda mem, _: mem.list(include_superseded=True))
    assert pair.names(0, listed) == ["m5", "m3"]
    assert pair.same(lambda mem, _: mem.forget_where(namespace="b")) == 1
    pair.same(lambda mem, _: mem.usage())
    pair.same(lambda mem, _: mem.namespaces())


def test_ttl_expiry_and_sweep(pair: Pair) -> None:
    far = (utcnow() + timedelta(days=365)).isoformat()
    pair.write(lambda mem, _: mem.remember_many([
        {"text": "The parking permit expires soon", "ttl": 0.3, "namespace": "t"},
        {"text": "The parking permit is for spot 12", "expires_at": far, "namespace": "t"},
        {"text": "The parking garage opens at 6", "namespace": "t"},
    ]))
    for side, engine in enumerate(pair.engines):
        short = engine.get(pair.id(side, "m0"))
        assert short.expires_at is not None and short.expires_at - short.created_at == timedelta(seconds=0.3)
        assert engine.get(pair.id(side, "m1")).expires_at == datetime.fromisoformat(far)
    assert pair.names(0, pair.same(lambda mem, _: mem.list())) == ["m2", "m1", "m0"]
    time.sleep(0.35)
    assert pair.names(0, pair.same(lambda mem, _: mem.list())) == ["m2", "m1"]
    hits = pair.each(lambda mem, _: mem.recall("parking permit", k=10))
    assert pair.found(hits, ordered=False) == both(["m1", "m2"])
    pair.same(lambda mem, _: mem.usage())
    # an expired memory is not a duplicate: the same text is stored again
    again = pair.write(lambda mem, _: mem.remember("The parking permit expires soon", namespace="t"))
    assert again.created
    assert pair.same(lambda mem, _: mem.sweep_detail()) == {"expired": 1, "retention": 0}
    assert pair.fails(lambda mem, my: mem.get(my("m0"))) is MemoryNotFound
    assert pair.same(lambda mem, _: mem.sweep()) == 0
    pair.same(lambda mem, _: mem.list(include_superseded=True))
    pair.same(lambda mem, _: mem.usage())


def test_future_valid_from_is_visible_only_from_then(pair: Pair) -> None:
    soon = utcnow() + timedelta(days=2)
    pair.write(lambda mem, _: mem.remember_many([
        {"text": "The new office opens in March", "valid_from": soon.isoformat()},
        {"text": "The old office is on Main Street"},
    ]))
    assert pair.names(0, pair.same(lambda mem, _: mem.list())) == ["m1"]
    hits = pair.each(lambda mem, _: mem.recall("office", k=10))
    assert pair.found(hits) == both(["m1"])
    later = soon + timedelta(hours=1)
    hits = pair.each(lambda mem, _: mem.recall("office", k=10, as_of=later))
    assert pair.found(hits, ordered=False) == both(["m0", "m1"])


def test_check_and_reindex_keep_results(pair: Pair) -> None:
    pair.each(lambda mem, _: mem.set_fusion_weights(LEXICAL_ONLY))
    said = {"session": "s", "speaker": "Eve"}
    pair.write(lambda mem, _: mem.remember_many(
        [{"text": f"Eve mentioned topic {word}", "source": said, "tags": [word]}
         for word in ("apples", "boats", "cellos", "dunes", "eagles")]))
    pair.write(lambda mem, my: mem.update(my("m2"), text="Eve mentioned topic violins"))
    pair.same(lambda mem, my: mem.forget(my("m0")))
    queries = ("apples", "boats", "cellos", "violins", "eagles")

    def found(mem: Cortex, _: Any) -> list[list[str]]:
        return [sorted(h.memory.id for h in mem.recall(q, k=10)) for q in queries]

    before = pair.each(found)
    for engine in pair.engines:
        assert engine.check().ok, engine.check().problems
        engine.reindex()
        assert engine.check().ok, engine.check().problems
    assert pair.each(found) == before
    # a turn also matches through the two turns before it: "cellos" (superseded) still
    # matches the next two turns, "apples" (forgotten) nothing at all
    assert [[len(ids) for ids in side] for side in before] == [[0, 2, 2, 1, 2]] * 2


def test_turn_context_spans_batches_and_calls(pair: Pair) -> None:
    """A turn is also found by the words of the two turns before it in its session, however
    the session was written: one batch, several batches, one call per turn."""
    pair.each(lambda mem, _: mem.set_fusion_weights(LEXICAL_ONLY))
    words = ["anchovy", "bagpipe", "cactus", "dolphin", "eclipse", "falcon", "glacier"]
    turns = [{"text": f"Gus talked about the {w}", "source": {"session": "g", "speaker": "Gus"},
              "namespace": "gus"} for w in words]
    pair.write(lambda mem, _: mem.remember_many(turns[:5], batch_size=2))  # m0..m4
    pair.write(lambda mem, _: [mem.remember(**turn) for turn in turns[5:]])  # m5, m6
    pair.write(lambda mem, _: mem.remember("Gus mentioned the anchovy again", namespace="gus",
                                           source={"session": "other", "speaker": "Gus"}))  # m7
    for n, word in enumerate(words):
        hits = pair.each(lambda mem, _, word=word: mem.recall(word, k=20))
        expected = [f"m{i}" for i in range(n, min(n + 3, len(words)))] + (["m7"] if n == 0 else [])
        assert pair.found(hits, ordered=False) == both(expected), word
