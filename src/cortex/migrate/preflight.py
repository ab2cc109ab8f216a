"""Before anything is written: which tenants, and whether the target can take them.

A migration is refused, with one line naming the tenant and what is in the way, when the
target cannot represent the data (subjects or vault items on a backend without them;
vectors of another dimension) or already holds a *different* record under one of the
source's keys: a memory id, an API key id, an audit leaf index, a checkpoint size or a
constitution version. Records that are the same are fine: that is a resumed run.
"""

from __future__ import annotations

from collections.abc import Sequence

from cortex.audit import merkle
from cortex.core.errors import ConfigError, Conflict, CortexError, NotFound
from cortex.migrate.base import Endpoint, Reader

_NOTHING_WRITTEN = "; nothing was written"


def select_tenants(reader: Reader, wanted: Sequence[str] | None) -> list[str]:
    """``wanted`` (each must hold something in the source), else every tenant of the source."""
    present = reader.tenants()
    if not wanted:
        return present
    missing = [t for t in wanted if t not in present]
    if missing:
        raise NotFound(f"tenant {missing[0]} has nothing in the source store")
    return list(dict.fromkeys(wanted))


def source_dim(reader: Reader, tenants: Sequence[str]) -> int | None:
    """The one vector dimension of these tenants (None: no vectors at all)."""
    dims: set[int] = set()
    for tenant in tenants:
        dims |= reader.dims(tenant)
    if len(dims) > 1:
        found = ", ".join(map(str, sorted(dims)))
        raise ConfigError(f"the source holds vectors of several dimensions ({found}): migrate one "
                          "embedder's tenants at a time (--tenant)" + _NOTHING_WRITTEN)
    return next(iter(dims), None)


def check(source: Endpoint, target: Endpoint, tenants: Sequence[str], *, batch: int) -> None:
    """Raise at the first reason the target cannot take these tenants as they are."""
    try:
        _dims(source, target, tenants)
        _capabilities(source, target, tenants)
        _constitutions(source, target)
        for tenant in tenants:
            _audit_log(source, target, tenant)
            _keys(source, target, tenant)
            _memories(source, target, tenant, batch)
    except CortexError as exc:
        exc.message += _NOTHING_WRITTEN
        exc.args = (exc.message,)
        raise


def _dims(source: Endpoint, target: Endpoint, tenants: Sequence[str]) -> None:
    mine = source_dim(source.reader, tenants)
    theirs = target.reader.dims(None)
    if mine is not None and theirs - {mine}:
        found = ", ".join(map(str, sorted(theirs)))
        raise ConfigError(f"the source's vectors have {mine} dimensions but {target.url} holds vectors of "
                          f"{found}: one store serves one embedder")


def _capabilities(source: Endpoint, target: Endpoint, tenants: Sequence[str]) -> None:
    if target.subjects and target.vault:
        return
    for tenant in tenants:
        subjects, vault = source.reader.subjects(tenant)
        if (subjects and not target.subjects) or (vault and not target.vault):
            raise ConfigError(
                f"the {target.kind} store does not keep memory subjects and vault items yet: tenant {tenant} "
                f"has {subjects} memories with a subject and {vault} vault entries (use a SQLite target, "
                "or leave that tenant out with --tenant)")


def _constitutions(source: Endpoint, target: Endpoint) -> None:
    mine = {c.version: c for c in source.reader.constitutions()}
    for theirs in target.reader.constitutions():
        found = mine.get(theirs.version)
        if found is None:
            raise Conflict(f"the target has constitution version {theirs.version}, which the source "
                           "does not: it is another deployment's")
        if found.envelope != theirs.envelope:
            raise Conflict(f"the target holds a different constitution version {theirs.version}")


def _audit_log(source: Endpoint, target: Endpoint, tenant: str) -> None:
    mine, theirs = source.store.audit_size(tenant), target.store.audit_size(tenant)
    if theirs > mine:
        raise Conflict(f"tenant {tenant}: the target's audit log has {theirs} leaves, more than the "
                       f"source's {mine}")
    if theirs:
        ours = source.store.audit_leaf_hashes(tenant, theirs)
        there = target.store.audit_leaf_hashes(tenant, theirs)
        for index, (a, b) in enumerate(zip(ours, there, strict=True)):
            if a != b:
                raise Conflict(f"tenant {tenant}: the target holds a different audit leaf {index} "
                               "(another log for this tenant)")
    sizes = {c.size: c for c in source.reader.checkpoints(tenant)}
    for head in target.reader.checkpoints(tenant):
        found = sizes.get(head.size)
        if found is None:  # signed on the target since a copy: fine if it is over the same leaves
            if head.root != merkle.root(source.store.audit_leaf_hashes(tenant, head.size)):
                raise Conflict(f"tenant {tenant}: the target holds an audit checkpoint of size "
                               f"{head.size} over other leaves")
        elif found != head:
            raise Conflict(f"tenant {tenant}: the target holds a different audit checkpoint of size "
                           f"{head.size}")


def _keys(source: Endpoint, target: Endpoint, tenant: str) -> None:
    keys = source.reader.keys(tenant)
    there = target.reader.keys_by_id([k.id for k in keys])
    for key in keys:
        found = there.get(key.id)
        if found is not None and not key.same_key(found):
            raise Conflict(f"tenant {tenant}: the target holds a different API key under id {key.id}")


def _memories(source: Endpoint, target: Endpoint, tenant: str, batch: int) -> None:
    after = 0
    while page := source.reader.identities(tenant, after, batch):
        after = page[-1][0]
        there = target.reader.lookup([i.id for _, i in page])
        for _, mine in page:
            found = there.get(mine.id)
            if found is not None and found != mine:
                raise Conflict(f"tenant {tenant}: the target holds a different record under memory id "
                               f"{mine.id} (tenant {found.tenant})")


__all__ = ["check", "select_tenants", "source_dim"]
