"""Tenant isolation and per-tenant settings, on both backends.

Two tenants hold the same texts. Nothing one tenant does — read, search, update, forget,
sweep, settings — sees or touches the other's memories, and both backends agree on
every count (usage, namespaces, tenants, audit sizes).
"""

from __future__ import annotations

import time

from cortex.core.errors import MemoryNotFound
from cortex.core.models import FusionWeights
from tests.contract.twins import Pair, both

TEXTS = ["Ann's bank PIN is 2468", "Ann moved to Lisbon", "Ann likes figs"]


def test_tenants_never_see_each_other(pair: Pair) -> None:
    pair.write(lambda mem, _: mem.remember_many([{"text": t, "namespace": "ann"} for t in TEXTS],
                                                tenant="alpha"))  # m0..m2
    created = pair.write(lambda mem, _: mem.remember_many(
        [{"text": t, "namespace": "ann"} for t in TEXTS], tenant="beta"))  # m3..m5
    assert all(r.created for r in created)  # a duplicate only within one tenant
    for tenant, own in (("alpha", ["m0", "m1", "m2"]), ("beta", ["m3", "m4", "m5"])):
        listed = pair.same(lambda mem, _, t=tenant: mem.list(tenant=t))
        assert sorted(pair.names(0, listed)) == own
        hits = pair.each(lambda mem, _, t=tenant: mem.recall("Ann's PIN", k=10, tenant=t))
        assert pair.found(hits, ordered=False) == both(own)
        hits = pair.each(lambda mem, _, t=tenant: mem.recall("Ann", namespace="ann", k=10, tenant=t))
        assert pair.found(hits, ordered=False) == both(own)
    assert pair.each(lambda mem, _: mem.list(tenant="gamma")) == ([], [])
    assert pair.each(lambda mem, _: mem.recall("Ann", tenant="gamma")) == ([], [])
    for call in (lambda mem, my: mem.get(my("m3"), tenant="alpha"),
                 lambda mem, my: mem.history(my("m3"), tenant="alpha"),
                 lambda mem, my: mem.update(my("m3"), text="hijacked", tenant="alpha")):
        assert pair.fails(call) is MemoryNotFound
    assert pair.same(lambda mem, my: mem.forget(my("m3"), tenant="alpha")) == 0
    assert pair.same(lambda mem, _: mem.forget_where(namespace="ann", tenant="alpha")) == 3
    pair.same(lambda mem, my: mem.get(my("m3"), tenant="beta"))
    assert pair.same(lambda mem, _: mem.usage(tenant="alpha")).memories == 0
    assert pair.same(lambda mem, _: mem.usage(tenant="beta")).memories == 3
    pair.same(lambda mem, _: mem.namespaces(tenant="beta"))
    pair.same(lambda mem, _: mem.store.usage_by_tenant())
    pair.same(lambda mem, _: mem.store.tenants())
    pair.same(lambda mem, _: mem.store.audit_tenants())
    assert pair.same(lambda mem, _: [mem.store.audit_size(t) for t in ("alpha", "beta")]) == [6, 3]


def test_sweep_and_duplicates_are_per_tenant(pair: Pair) -> None:
    pair.write(lambda mem, _: mem.remember("ephemeral", ttl=0.01, tenant="alpha"))
    pair.write(lambda mem, _: mem.remember("ephemeral", tenant="beta"))
    again = pair.write(lambda mem, _: mem.remember("ephemeral", tenant="beta"))
    assert not again.created and pair.name(0, again.duplicate_of) == "m1"
    time.sleep(0.02)
    assert pair.same(lambda mem, _: mem.sweep()) == 1
    pair.same(lambda mem, my: mem.get(my("m1"), tenant="beta"))
    pair.same(lambda mem, _: mem.store.usage_by_tenant())


def test_fusion_weights_are_per_tenant(pair: Pair) -> None:
    custom = FusionWeights(method="rrf", dense=0.7, bm25=0.3, candidates=50, diversity=0.0)
    assert pair.same(lambda mem, _: mem.fusion_weights(tenant="alpha")) == FusionWeights()
    pair.each(lambda mem, _: mem.set_fusion_weights(custom, tenant="alpha"))
    assert pair.same(lambda mem, _: mem.fusion_weights(tenant="alpha")) == custom
    assert pair.same(lambda mem, _: mem.fusion_weights(tenant="beta")) == FusionWeights()
    pair.each(lambda mem, _: mem.set_fusion_weights(FusionWeights(bm25=0.9), tenant="alpha"))
    assert pair.same(lambda mem, _: mem.fusion_weights(tenant="alpha")) == FusionWeights(bm25=0.9)
