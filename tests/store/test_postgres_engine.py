"""The engine end to end on PostgreSQL with the real embedding model."""

from __future__ import annotations

from cortex import Cortex
from cortex.embed import CachingEmbedder
from tests import pg

pg_server = pg.pg_server
pg_url = pg.pg_url
pg_keys = pg.pg_keys


def test_remember_recall_forget_on_postgres(pg_url: str, pg_keys: pg.Keys, embedder: CachingEmbedder) -> None:
    with Cortex.open(pg_url, embedder=embedder, sealer=pg_keys.sealer()) as mem:
        r = mem.remember("Caroline went to the LGBTQ support group on 7 May 2023",
                         namespace="user:caroline", kind="episode",
                         source={"session": "s1", "speaker": "Caroline"},
                         occurred_at="2023-05-08T13:56:00Z", tags=["support"])
        mem.remember("Melanie painted a sunrise over the lake", namespace="user:caroline")
        mem.remember("Caroline is researching adoption agencies", namespace="user:caroline")
        other = mem.remember("Caroline went to the support group", namespace="user:caroline",
                             tenant="someone-else")
        hits = mem.recall("When did Caroline go to the support group?", namespace="user:caroline", k=5)
        assert hits[0].memory.id == r.memory.id
        assert hits[0].explain["dense"] > 0 and hits[0].explain["bm25"] > 0
        assert other.memory.id not in {h.memory.id for h in hits}
        assert not mem.remember("Melanie painted a sunrise over the lake",
                                namespace="user:caroline").created  # exact duplicate
        updated = mem.update(r.memory.id, text="Caroline went to the support group on 8 May 2023")
        assert [m.id for m in mem.history(updated.id)] == [r.memory.id, updated.id]
        assert mem.forget(updated.id) == 2
        hits = mem.recall("support group", namespace="user:caroline", k=5)
        assert r.memory.id not in {h.memory.id for h in hits}
        assert updated.id not in {h.memory.id for h in hits}
        assert mem.usage().memories == 2
        assert mem.store.check().ok
