"""Working memory through the engine on both deployments.

Each engine has the working memory ``cortex.wiring`` gives its store URL (without Redis):
the session table in the SQLite file, and for PostgreSQL the in-process ring buffer (the
database's ``session_messages`` table is not used by any working memory yet, so API nodes
over one PostgreSQL share sessions only through Redis).
The ``session_*`` calls, the budget eviction and recall with ``session=`` must behave
the same on both.
"""

from __future__ import annotations

from cortex.core.models import FusionWeights
from tests.contract.twins import Pair

DENSE_ONLY = FusionWeights(dense=1.0, bm25=0.0, recency=0.0)


def test_append_messages_clear(pair: Pair) -> None:
    pair.write(lambda mem, _: [
        mem.session_append("chat-1", "Hi, I'm planning a trip to Kyoto", speaker="Ann"),
        mem.session_append("chat-1", "Kyoto is lovely in autumn", role="assistant"),
        mem.session_append("chat-2", "Unrelated chat", speaker="Bob"),
        mem.session_append("chat-1", "Another tenant's chat", tenant="acme"),
    ], prefix="w")
    messages = pair.same(lambda mem, _: mem.session_messages("chat-1"))
    assert [(m.role, m.speaker, m.text) for m in messages] == [
        ("user", "Ann", "Hi, I'm planning a trip to Kyoto"),
        ("assistant", None, "Kyoto is lovely in autumn")]
    pair.same(lambda mem, _: mem.session_messages("chat-1", tenant="acme"))
    assert pair.same(lambda mem, _: mem.session_messages("nothing-here")) == []
    assert pair.same(lambda mem, _: mem.session_clear("chat-1")) == 2
    assert pair.same(lambda mem, _: mem.session_clear("chat-1")) == 0
    assert pair.same(lambda mem, _: mem.session_messages("chat-1")) == []
    assert len(pair.same(lambda mem, _: mem.session_messages("chat-2"))) == 1
    assert len(pair.same(lambda mem, _: mem.session_messages("chat-1", tenant="acme"))) == 1


def test_the_budget_evicts_the_same_messages(pair: Pair) -> None:
    pair.write(lambda mem, _: [mem.session_append("long", f"message number {n} " + "x" * (n % 7) * 40)
                               for n in range(70)], prefix="w")
    kept = pair.same(lambda mem, _: mem.session_messages("long"))
    assert 0 < len(kept) <= 50 and kept[-1].text.startswith("message number 69")
    assert sum(m.tokens for m in kept) <= 4_000


def test_recall_with_a_session_ranks_working_memory_alike(pair: Pair) -> None:
    pair.each(lambda mem, _: mem.set_fusion_weights(DENSE_ONLY))
    pair.write(lambda mem, _: mem.remember_many([
        {"text": "Ann booked a ryokan in Kyoto for November"},
        {"text": "Ann's passport expires next spring"},
        {"text": "Bob prefers window seats", "kind": "preference"},
    ]))
    pair.write(lambda mem, _: [
        mem.session_append("trip", "Which temples should I visit in Kyoto?", speaker="Ann"),
        mem.session_append("trip", "Remind me to renew my passport", speaker="Ann"),
    ], prefix="w")
    hits = pair.same(lambda mem, _: mem.recall("Kyoto trip plans", session="trip", k=5))
    assert [h.origin for h in hits].count("working") == 2
    first, second = pair.each(lambda mem, _: mem.recall("Kyoto trip plans", session="trip", k=5))
    assert [h.score for h in first] == [h.score for h in second]
    # filters the database resolves leave working memory out, on both
    hits = pair.same(lambda mem, _: mem.recall("Kyoto", session="trip", tags=["none"], k=5))
    assert hits == []
    hits = pair.same(lambda mem, _: mem.recall("Kyoto", session="trip", kinds=["preference"], k=5))
    assert [h.origin for h in hits] == ["store"]
