"""One migration from end to end: open both stores, check, copy, carry the signing key, verify."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cortex.core.errors import ConfigError
from cortex.migrate import preflight, signing_key
from cortex.migrate.base import Endpoint
from cortex.migrate.copy import Copied, Copier, Progress, TenantCopy
from cortex.migrate.endpoints import DEFAULT_DIM, open_endpoint
from cortex.migrate.verify import Verified, verify
from cortex.privacy.sealing import Sealer
from cortex.store import sqlite_path


@dataclass
class Report:
    source: str
    target: str
    tenants: dict[str, TenantCopy] = field(default_factory=dict)
    constitutions: Copied = field(default_factory=Copied)
    dim: int | None = None
    audit_key: str = "none"  # "copied", "same", "missing" (--verify-only), "none" (never signed)
    verified: Verified | None = None
    seconds: float = 0.0  # the whole run: checks, copy and verification
    copy_seconds: float = 0.0

    def rows(self) -> int:
        """Rows written to the target (new or caught up)."""
        return sum(t.rows() for t in self.tenants.values()) + self.constitutions.copied

    def as_dict(self) -> dict[str, Any]:
        rate = self.rows() / self.copy_seconds if self.copy_seconds > 0 else 0.0
        return {
            "from": self.source, "to": self.target, "dim": self.dim,
            "tenants": {t: {name: c.as_dict() for name, c in copy.tables.items()}
                        for t, copy in self.tenants.items()},
            "constitutions": self.constitutions.as_dict(), "audit_key": self.audit_key,
            "rows_written": self.rows(), "seconds": round(self.seconds, 3),
            "copy_seconds": round(self.copy_seconds, 3), "rows_per_second": round(rate, 1),
            "verification": None if self.verified is None else self.verified.as_dict(),
        }


@dataclass
class Options:
    tenants: Sequence[str] = ()  # empty: every tenant of the source
    batch: int = 1000
    sessions: bool = False  # also copy working memory (session_messages)
    verify_only: bool = False
    sample: int = 50  # memories compared field by field per tenant
    source_sealer: Sealer | None = None
    target_sealer: Sealer | None = None
    audit_keys: tuple[Path, Path] | None = None  # (source's signing key file, target's)
    progress: Progress | None = None


def migrate(source_url: str, target_url: str, options: Options | None = None) -> Report:
    """Copy (or with ``verify_only`` only compare) the source's tenants into the target."""
    options = options or Options()
    if options.batch < 1:
        raise ConfigError("--batch must be at least 1")
    _refuse_same(source_url, target_url)
    started = time.perf_counter()
    source = open_endpoint(source_url, sealer=options.source_sealer, must_exist=True)
    try:
        tenants = preflight.select_tenants(source.reader, options.tenants)
        dim = preflight.source_dim(source.reader, tenants)
        target = open_endpoint(target_url, sealer=options.target_sealer, dim=dim or DEFAULT_DIM,
                               must_exist=options.verify_only)
        try:
            report = Report(source.url, target.url, dim=dim)
            _run(source, target, tenants, options, report)
        finally:
            target.close()
    finally:
        source.close()
    report.seconds = time.perf_counter() - started
    return report


def _run(source: Endpoint, target: Endpoint, tenants: list[str], options: Options, report: Report) -> None:
    keys = options.audit_keys
    signed = keys is not None and any(source.reader.checkpoints(t) for t in tenants)
    if not options.verify_only:
        preflight.check(source, target, tenants, batch=options.batch)
        if keys is not None:
            signing_key.check(*keys, signed=signed)
        copier = Copier(source, target, batch=options.batch, sessions=options.sessions,
                        progress=options.progress)
        started = time.perf_counter()
        bulk = _in_bulk(source, target, tenants, report.dim)
        with nullcontext() if bulk is None else target.writer.bulk(bulk):
            report.constitutions = copier.constitutions()
            for tenant in tenants:
                report.tenants[tenant] = copier.tenant(tenant)
        report.copy_seconds = time.perf_counter() - started
    if keys is not None and options.verify_only:
        found = signing_key.check(*keys, signed=signed)
        report.audit_key = "missing" if found == "copy" else found
    elif keys is not None:
        report.audit_key = signing_key.carry(*keys, signed=signed)
    report.verified = verify(source, target, tenants, sessions=options.sessions, sample=options.sample,
                             progress=options.progress)


def _in_bulk(source: Endpoint, target: Endpoint, tenants: list[str], dim: int | None) -> int | None:
    """The dimension to load in bulk (``Writer.bulk``) when more vectors are coming than the
    target holds, e.g. a new target or a resumed run: rebuilding its vector index once
    then costs less than inserting each vector into it. None: insert as usual."""
    if dim is None:
        return None
    there = {t: target.reader.counts(t).vectors for t in target.reader.tenants()}
    coming = sum(source.reader.counts(t).vectors - there.get(t, 0) for t in tenants)
    return dim if coming > sum(there.values()) else None


def _refuse_same(source_url: str, target_url: str) -> None:
    if source_url == target_url:
        raise ConfigError("--from and --to name the same store")
    if urlparse(source_url).scheme == urlparse(target_url).scheme == "sqlite":
        if sqlite_path(source_url).resolve() == sqlite_path(target_url).resolve():
            raise ConfigError("--from and --to name the same SQLite file")


__all__ = ["Options", "Report", "migrate"]
