"""Copying tenants table by table, in batches that each commit on their own.

A re-run reads the source again from the start and writes only what the target lacks
(memories by id, audit leaves from the target's log size, checkpoints by size, keys by
id), so a run killed at any point and run again ends with the same rows as a run that
never stopped, and nothing twice. Versions superseded on the source since the last run
are caught up; so are keys revoked since.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from cortex.core.errors import Conflict
from cortex.migrate.base import Endpoint
from cortex.migrate.records import MemoryRecord

T = TypeVar("T")
Progress = Callable[[str, int, int], None]
"""``progress(task, done, total)``, e.g. ``("acme: memories", 3000, 12000)``."""


@dataclass
class Copied:
    copied: int = 0  # new on the target
    present: int = 0  # already there (a resumed run)
    updated: int = 0  # there, caught up with a change on the source

    def as_dict(self) -> dict[str, int]:
        return {"copied": self.copied, "present": self.present, "updated": self.updated}


@dataclass
class TenantCopy:
    tables: dict[str, Copied] = field(default_factory=dict)

    def table(self, name: str) -> Copied:
        return self.tables.setdefault(name, Copied())

    def rows(self) -> int:
        return sum(t.copied + t.updated for t in self.tables.values())


def _quiet(task: str, done: int, total: int) -> None:
    """No progress display."""


class Copier:
    def __init__(self, source: Endpoint, target: Endpoint, *, batch: int = 1000,
                 sessions: bool = False, progress: Progress | None = None) -> None:
        self.source, self.target = source, target
        self.batch = batch
        self.sessions = sessions
        self.progress = progress or _quiet

    def constitutions(self) -> Copied:
        mine = self.source.reader.constitutions()
        there = {c.version for c in self.target.reader.constitutions()}
        new = [c for c in mine if c.version not in there]
        if new:
            self.target.writer.constitutions(new)
        return Copied(copied=len(new), present=len(mine) - len(new))

    def tenant(self, tenant: str) -> TenantCopy:
        done = TenantCopy()
        self._memories(tenant, done.table("memories"))
        self._leaves(tenant, done.table("audit_leaves"))
        self._checkpoints(tenant, done.table("checkpoints"))
        self._keys(tenant, done.table("keys"))
        self._settings(tenant, done.table("settings"))
        if self.sessions:
            self._sessions(tenant, done.table("sessions"))
        return done

    # ---- memories ------------------------------------------------------------------
    def _memories(self, tenant: str, out: Copied) -> None:
        total = self.source.reader.counts(tenant).memories
        task = f"{tenant}: memories"
        self.progress(task, 0, total)
        after = 0
        while page := self.source.reader.memories(tenant, after, self.batch):
            after = page[-1][0]
            records = [r for _, r in page]
            there = self.target.reader.lookup([r.id for r in records])
            new: list[MemoryRecord] = []
            changed: list[MemoryRecord] = []
            for record in records:
                found = there.get(record.id)
                if found is None:
                    new.append(record)
                elif found != record.identity():
                    raise Conflict(f"tenant {tenant}: the target holds a different record under memory "
                                   f"id {record.id} (tenant {found.tenant})")
                elif found.versions() != record.versions():
                    changed.append(record)
            if new:
                self.target.writer.memories(tenant, new)
            if changed:
                self.target.writer.catch_up(tenant, changed)
            out.copied += len(new)
            out.updated += len(changed)
            out.present += len(records) - len(new)
            self.progress(task, out.copied + out.present, max(total, out.copied + out.present))

    # ---- the audit log ---------------------------------------------------------------
    def _leaves(self, tenant: str, out: Copied) -> None:
        size = self.source.store.audit_size(tenant)
        start = min(self.target.store.audit_size(tenant), size)  # a prefix of the same log
        task = f"{tenant}: audit leaves"
        out.present = start
        self.progress(task, start, size)
        for first in range(start, size, self.batch):
            leaves = self.source.reader.leaves(tenant, first, min(size, first + self.batch))
            self.target.writer.leaves(tenant, leaves)
            out.copied += len(leaves)
            self.progress(task, first + len(leaves), size)

    def _checkpoints(self, tenant: str, out: Copied) -> None:
        mine = self.source.reader.checkpoints(tenant)
        there = {c.size for c in self.target.reader.checkpoints(tenant)}
        new = [c for c in mine if c.size not in there]
        for start in range(0, len(new), self.batch):
            self.target.writer.checkpoints(tenant, new[start:start + self.batch])
        out.copied, out.present = len(new), len(mine) - len(new)

    # ---- accounts, settings, sessions --------------------------------------------------
    def _keys(self, tenant: str, out: Copied) -> None:
        keys = self.source.reader.keys(tenant)
        there = self.target.reader.keys_by_id([k.id for k in keys])
        new = [k for k in keys if k.id not in there]
        revoked = [k for k in keys if k.id in there and there[k.id].revoked_at is None
                   and k.revoked_at is not None]
        if new or revoked:
            self.target.writer.keys(tenant, new + revoked)
        out.copied, out.updated, out.present = len(new), len(revoked), len(keys) - len(new)

    def _settings(self, tenant: str, out: Copied) -> None:
        """Fusion weights and the tenant's own policies: the source's win."""
        weights, policies = self.source.reader.settings(tenant), self.source.reader.policies(tenant)
        if weights is not None:
            _upsert(out, weights, self.target.reader.settings(tenant), self.target.writer.settings)
        if policies is not None:
            _upsert(out, policies, self.target.reader.policies(tenant), self.target.writer.policies)

    def _sessions(self, tenant: str, out: Copied) -> None:
        mine = self.source.reader.sessions(tenant)
        there = {(m.session, m.id) for m in self.target.reader.sessions(tenant)}
        new = [m for m in mine if (m.session, m.id) not in there]
        for start in range(0, len(new), self.batch):
            self.target.writer.sessions(tenant, new[start:start + self.batch])
        out.copied, out.present = len(new), len(mine) - len(new)


def _upsert(out: Copied, mine: T, theirs: T | None, write: Callable[[T], None]) -> None:
    if theirs == mine:
        out.present += 1
        return
    write(mine)
    if theirs is None:
        out.copied += 1
    else:
        out.updated += 1


__all__ = ["Copied", "Copier", "Progress", "TenantCopy"]
