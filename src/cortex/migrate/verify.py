"""Checking that the target holds what the source holds, tenant by tenant.

For each tenant: the row counts of every table, the audit log's size and its Merkle
root recomputed on each side from the stored leaf hashes (``cortex.audit.merkle.root``),
a few leaves' events byte for byte, the checkpoints (each of the source's on the target
byte for byte; one the target signed since, e.g. by ``cortex audit verify``, must have
the root of the log at its size), the keys with their secret hashes,
settings and policies, usage, and a sample of memories compared field by field (text,
metadata, times, version links, vector bytes). Then the constitutions. The first
difference raises ``VerificationFailed`` naming the tenant and what differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from cortex.audit import merkle
from cortex.core.errors import VerificationFailed
from cortex.migrate.base import Endpoint, spread
from cortex.migrate.copy import Progress
from cortex.migrate.records import Counts, first_difference


@dataclass
class Verified:
    tenants: dict[str, Counts] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)  # tenant -> audit root, hex
    sampled: int = 0
    constitutions: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"ok": True, "tenants": {t: c.as_dict() for t, c in self.tenants.items()},
                "audit_roots": self.roots, "memories_sampled": self.sampled,
                "constitutions": self.constitutions}


def verify(source: Endpoint, target: Endpoint, tenants: Sequence[str], *, sessions: bool = False,
           sample: int = 50, progress: Progress | None = None) -> Verified:
    report = Verified()
    for number, tenant in enumerate(tenants):
        if progress is not None:
            progress("verifying", number, len(tenants))
        report.tenants[tenant] = _counts(source, target, tenant, sessions)
        report.roots[tenant] = _audit(source, target, tenant)
        _accounts(source, target, tenant)
        report.sampled += _sample(source, target, tenant, sample)
    mine, theirs = source.reader.constitutions(), target.reader.constitutions()
    _same(mine, theirs, "constitutions", "constitutions")
    report.constitutions = len(mine)
    if progress is not None:
        progress("verifying", len(tenants), len(tenants))
    return report


def _counts(source: Endpoint, target: Endpoint, tenant: str, sessions: bool) -> Counts:
    mine, theirs = source.reader.counts(tenant), target.reader.counts(tenant)
    if not sessions:
        mine.sessions = theirs.sessions = 0
    theirs.checkpoints = mine.checkpoints  # compared one by one in _audit
    for name, value in mine.as_dict().items():
        other = theirs.as_dict()[name]
        if value != other:
            _fail(f"tenant {tenant}: {name.replace('_', ' ')} differ: source {value}, target {other}",
                  f"{tenant}/{name}")
    mine_usage, their_usage = source.store.usage(tenant), target.store.usage(tenant)
    if mine_usage != their_usage:
        _fail(f"tenant {tenant}: usage differs: source {mine_usage.memories} memories and "
              f"{mine_usage.bytes} bytes, target {their_usage.memories} and {their_usage.bytes}",
              f"{tenant}/usage")
    return mine


def _audit(source: Endpoint, target: Endpoint, tenant: str) -> str:
    size = source.store.audit_size(tenant)
    if target.store.audit_size(tenant) != size:
        _fail(f"tenant {tenant}: audit log sizes differ: source {size}, target "
              f"{target.store.audit_size(tenant)}", f"{tenant}/audit")
    hashes = source.store.audit_leaf_hashes(tenant, size)
    mine = merkle.root(hashes)
    theirs = merkle.root(target.store.audit_leaf_hashes(tenant, size))
    if mine != theirs:
        _fail(f"tenant {tenant}: audit roots differ at size {size}: source {mine.hex()}, target "
              f"{theirs.hex()}", f"{tenant}/audit")
    for index in spread(list(range(size)), 5):  # the leaves' events, byte for byte
        a, b = source.reader.leaves(tenant, index, index + 1), target.reader.leaves(tenant, index, index + 1)
        _same(a, b, f"tenant {tenant}: audit leaf {index}", f"{tenant}/audit/{index}")
    _checkpoints(source, target, tenant, hashes)
    return mine.hex()


def _checkpoints(source: Endpoint, target: Endpoint, tenant: str, hashes: list[bytes]) -> None:
    there = {c.size: c for c in target.reader.checkpoints(tenant)}
    mine = source.reader.checkpoints(tenant)
    for head in mine:
        if there.get(head.size) != head:
            _fail(f"tenant {tenant}: the audit checkpoint of size {head.size} is missing on the target "
                  "or differs", f"{tenant}/checkpoints/{head.size}")
    for size in sorted(set(there) - {c.size for c in mine}):
        if size > len(hashes) or there[size].root != merkle.root(hashes[:size]):
            _fail(f"tenant {tenant}: the target's audit checkpoint of size {size} does not match the log",
                  f"{tenant}/checkpoints/{size}")


def _accounts(source: Endpoint, target: Endpoint, tenant: str) -> None:
    _same(source.reader.keys(tenant), target.reader.keys(tenant), f"tenant {tenant}: API keys",
          f"{tenant}/keys")
    _same([source.reader.settings(tenant)], [target.reader.settings(tenant)],
          f"tenant {tenant}: fusion weights", f"{tenant}/settings")
    _same([source.reader.policies(tenant)], [target.reader.policies(tenant)],
          f"tenant {tenant}: tenant policies", f"{tenant}/policies")


def _sample(source: Endpoint, target: Endpoint, tenant: str, size: int) -> int:
    ids = source.reader.sample_ids(tenant, size)
    mine, theirs = source.reader.memories_by_id(tenant, ids), target.reader.memories_by_id(tenant, ids)
    for memory_id in ids:
        there = theirs.get(memory_id)
        if there is None:
            _fail(f"tenant {tenant}: memory {memory_id} is missing on the target", f"{tenant}/{memory_id}")
        differs = first_difference(mine[memory_id], there)
        if differs is not None:
            _fail(f"tenant {tenant}: memory {memory_id} differs in {differs}",
                  f"{tenant}/{memory_id}/{differs}")
    return len(ids)


def _same(mine: Sequence[Any], theirs: Sequence[Any], what: str, where: str) -> None:
    if len(mine) != len(theirs):
        _fail(f"{what} differ: source {len(mine)}, target {len(theirs)}", where)
    for a, b in zip(mine, theirs, strict=True):
        if a != b:
            detail = "" if a is None or b is None else f" in {first_difference(a, b)}"
            name = getattr(a, "id", None) or getattr(a, "size", None) or getattr(a, "version", None)
            _fail(f"{what} differ{'' if name is None else f' at {name}'}{detail}", where)


def _fail(message: str, where: str) -> NoReturn:
    raise VerificationFailed(message, where=where)


__all__ = ["Verified", "verify"]
