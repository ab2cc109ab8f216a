"""How long does one Cedar policy decision take? Target: p99 ≤ 1 ms.

    .venv/bin/python benchmarks/policy_eval.py [--n 10000] [--rounds 5] [--tenants 100] [--json]

Builds a constitution with restricted grants (kinds and namespace patterns for each role)
plus a tenant's extra ``forbid`` (legal/* is read-only), then times ``--n`` single
decisions per mode, mixed across ``--tenants`` tenants, roles, actions, namespaces and
kinds, with 5% cross-tenant requests. Modes:

- ``warm``:   ``PolicyEngine.decide`` with the parsed ``PolicySet`` and every entity pair
              already in the LRU cache (a steady stream with locality);
- ``cold``:   ``decide`` with the entity cache off (``cache_size=0``): entities are
              serialised and parsed by Cedar on every call;
- ``text``:   what a naive caller pays: ``cedarpy.is_authorized`` with the policy TEXT
              (re-parsed every call) and an entity list;
- ``shared``: ``warm``, but one engine holding every tenant's extra forbid (one policy
              per tenant). Cedar evaluates every policy in the set on every request, so
              cost grows with the set: build one engine per tenant that has extras;
- ``batch``:  ``cedarpy.is_authorized_batch`` over all requests in chunks of 100 with the
              parsed set (amortised per decision; it needs one entity set per batch, so
              it only fits requests for one principal and resource).

Modes take turns within each round so a load spike hits all of them; the figures are the
median over rounds of each round's percentile. The box is noisy: compare medians.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import cedarpy

from cortex.core.models import Kind
from cortex.governance import PolicyEngine, SignedConstitution
from cortex.governance.document import default_document

Request = tuple[str, str, str, str, str, str | None]
ROLES = ["admin", "writer", "reader"]
ACTIONS = ["read", "write", "admin", "audit", "erase"]
KINDS: list[str | None] = [k.value for k in Kind] + [None]


def build_engine(extra_for: range, cache_size: int = 4096) -> PolicyEngine:
    """The benchmark constitution plus one legal/* forbid for each tenant in ``extra_for``."""
    data = default_document({"k": "A" * 43 + "="}, 1, datetime(2099, 1, 1, tzinfo=UTC))
    data["roles"]["writer"] = [
        {"actions": ["read", "write"], "kinds": ["fact", "episode", "preference"],
         "namespaces": ["team/*", "user/*", "shared"]},
        {"actions": ["read"], "kinds": ["*"], "namespaces": ["docs/*"]},
    ]
    data["roles"]["reader"] = [{"actions": ["read"], "kinds": ["*"], "namespaces": ["team/*", "docs/*"]}]
    extra = "\n".join(
        f'@id("t{t}-legal-read-only")\nforbid (principal, action == Cortex::Action::"write", resource)\n'
        f'when {{ resource.tenant == "t{t}" && resource.namespace like "legal/*" }};'
        for t in extra_for)
    constitution = SignedConstitution.from_data(data).document()
    return PolicyEngine(constitution, extra, cache_size=cache_size)


def requests(n: int, tenants: int, seed: int) -> list[Request]:
    rng = random.Random(seed)
    prefixes = ["team", "user", "docs", "legal", "misc"]
    out: list[Request] = []
    for _ in range(n):
        tenant = f"t{rng.randrange(tenants)}"
        resource = tenant if rng.random() >= 0.05 else f"t{rng.randrange(tenants)}"
        namespace = "shared" if rng.random() < 0.1 else f"{rng.choice(prefixes)}/{rng.randrange(20)}"
        out.append((tenant, rng.choice(ROLES), rng.choice(ACTIONS), resource, namespace, rng.choice(KINDS)))
    return out


def timed(decide: Callable[[Request], Any], batch: list[Request]) -> list[float]:
    gc.collect()
    micros: list[float] = []
    clock = time.perf_counter_ns
    for request in batch:
        start = clock()
        decide(request)
        micros.append((clock() - start) / 1000)
    return micros


def naive(policy_text: str) -> Callable[[Request], Any]:
    def decide(request: Request) -> Any:
        p_tenant, role, action, r_tenant, namespace, kind = request
        memory: dict[str, Any] = {"tenant": r_tenant, "namespace": namespace}
        if kind is not None:
            memory["kind"] = kind
        entities = [{"uid": {"type": "Cortex::Principal", "id": "caller"},
                     "attrs": {"tenant": p_tenant, "role": role}, "parents": []},
                    {"uid": {"type": "Cortex::Memory", "id": "memory"}, "attrs": memory, "parents": []}]
        return cedarpy.is_authorized({"principal": 'Cortex::Principal::"caller"',
                                      "action": f'Cortex::Action::"{action}"',
                                      "resource": 'Cortex::Memory::"memory"'}, policy_text, entities)
    return decide


def batched(engine: PolicyEngine, batch: list[Request], size: int = 100) -> float:
    """Mean µs per decision through is_authorized_batch (one principal/resource per batch)."""
    policies = cedarpy.PolicySet.from_str(engine.policy_text)
    entities = cedarpy.Entities.from_json_str(json.dumps([
        {"uid": {"type": "Cortex::Principal", "id": "caller"}, "attrs": {"tenant": "t0", "role": "writer"},
         "parents": []},
        {"uid": {"type": "Cortex::Memory", "id": "memory"},
         "attrs": {"tenant": "t0", "namespace": "team/1", "kind": "fact"}, "parents": []}]))
    reqs = [{"principal": {"type": "Cortex::Principal", "id": "caller"},
             "action": {"type": "Cortex::Action", "id": r[2]},
             "resource": {"type": "Cortex::Memory", "id": "memory"}} for r in batch]
    start = time.perf_counter_ns()
    for i in range(0, len(reqs), size):
        cedarpy.is_authorized_batch(reqs[i:i + size], policies, entities)
    return (time.perf_counter_ns() - start) / 1000 / len(reqs)


def percentiles(micros: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(micros, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(micros)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    warm_engine = build_engine(range(1), cache_size=args.n)
    cold_engine = build_engine(range(1), cache_size=0)
    shared_engine = build_engine(range(args.tenants), cache_size=args.n)
    batch = requests(args.n, args.tenants, args.seed)
    for request in batch:  # fill the caches: "warm" is the steady state
        warm_engine.decide(*request)
        shared_engine.decide(*request)
    modes: dict[str, Callable[[Request], Any]] = {
        "warm": lambda r: warm_engine.decide(*r),
        "cold": lambda r: cold_engine.decide(*r),
        "text": naive(warm_engine.policy_text),
        "shared": lambda r: shared_engine.decide(*r),
    }
    rounds: dict[str, list[dict[str, float]]] = {mode: [] for mode in [*modes, "batch"]}
    for _ in range(args.rounds):
        for mode, decide in modes.items():
            rounds[mode].append(percentiles(timed(decide, batch)))
        rounds["batch"].append({"mean": batched(warm_engine, batch)})
    summary = {mode: {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}
               for mode, runs in rounds.items()}
    allowed = sum(warm_engine.decide(*r).allowed for r in batch)
    meta = {"n": args.n, "rounds": args.rounds, "policies": warm_engine.policy_text.count("@id("),
            "shared_policies": shared_engine.policy_text.count("@id("),
            "allowed": allowed, "cedarpy": version("cedarpy")}
    if args.json:
        print(json.dumps({"meta": meta, "us_per_decision": summary}, indent=2))
        return
    print(f"{args.n} decisions x {args.rounds} rounds, {meta['policies']} policies "
          f"({meta['shared_policies']} shared), {allowed} allowed; µs per decision, median over rounds")
    print(f"{'mode':<6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>9}")
    for mode in modes:
        row = summary[mode]
        print(f"{mode:<6} {row['p50']:>8.1f} {row['p95']:>8.1f} {row['p99']:>8.1f} {row['max']:>9.1f}")
    print(f"batch  mean {summary['batch']['mean']:.1f} µs per decision (chunks of 100)")


if __name__ == "__main__":
    main()
