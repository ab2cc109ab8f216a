"""The constitution in force for a store, and the policy decisions it implies.

Version 1, applied by the operator, is the pinned root of trust (it must meet its own
threshold). Each later version must be exactly the next one and carry the thresholds of
both the old and the new key sets. Every applied version is re-verified, as a chain from
version 1, whenever a process loads it: a row edited in the database fails closed.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cortex.audit.events import event
from cortex.core import errors
from cortex.core.models import utcnow
from cortex.governance.constitution import verify_chain, verify_root
from cortex.governance.document import Constitution
from cortex.governance.errors import ConstitutionError, ConstitutionFailure, PolicyError
from cortex.governance.policy import Decision, PolicyEngine
from cortex.governance.signing import SignedConstitution, key_id, public_key_b64, write_private_key
from cortex.store import Store
from cortex.tenancy.principal import Action, Principal

SYSTEM_TENANT = "_system"  # the audit log of server-wide changes (tenants may not start with "_")

_MAPPED: dict[ConstitutionFailure, type[errors.ConstitutionRejected]] = {
    ConstitutionFailure.INVALID: errors.ConstitutionInvalid,
    ConstitutionFailure.UNDER_SIGNED: errors.ConstitutionUnderSigned,
    ConstitutionFailure.EXPIRED: errors.ConstitutionExpired,
    ConstitutionFailure.ROLLBACK: errors.ConstitutionRollback,
    ConstitutionFailure.VERSION_STEP: errors.ConstitutionVersionStep,
    ConstitutionFailure.UNREADABLE: errors.ConstitutionFile,
    ConstitutionFailure.KEY_FILE: errors.ConstitutionFile,
}


@contextmanager
def governed_errors() -> Iterator[None]:
    """Governance errors become the engine's error tree (one renderer per front end)."""
    try:
        yield
    except ConstitutionError as exc:
        raise _MAPPED[exc.reason](exc.message, reason=exc.reason.value) from None
    except PolicyError as exc:
        raise errors.PolicyInvalid(exc.message) from None


class Governance:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._loaded: tuple[int, Constitution, PolicyEngine] | None = None
        self._tenant_engines: dict[str, tuple[int, str, PolicyEngine]] = {}
        self.verify_seconds = 0.0  # how long the last chain verification took (a metric)

    def current(self, now: datetime | None = None) -> Constitution | None:
        """The constitution in force, verified from version 1; None when none was applied."""
        found = self._load(now)
        return None if found is None else found[1]

    def envelope(self) -> SignedConstitution | None:
        rows = self.store.constitutions()
        return None if not rows else SignedConstitution.from_data(_json(rows[-1][1]))

    def apply(self, candidate: SignedConstitution, now: datetime | None = None) -> Constitution:
        """Verify ``candidate`` against the version in force, then store it with its audit leaf."""
        with governed_errors():
            rows = self.store.constitutions()
            if rows:
                trusted = SignedConstitution.from_data(_json(rows[-1][1]))
                document = verify_chain(trusted, candidate, now)
            else:
                document = verify_root(candidate, now)
        previous = None if not rows else rows[-1][0]
        self.store.add_constitution(document.version, candidate.model_dump_json(), event(
            SYSTEM_TENANT, "constitution.apply", utcnow(),
            detail={"version": document.version, "previous": previous,
                    "sha256": _sha256(candidate.payload()), "threshold": document.threshold,
                    "keys": sorted(document.keys)}))
        with self._lock:
            self._loaded = None
        return document

    def authorize(self, principal: Principal, action: str, namespace: str | None = None,
                  kind: str | None = None) -> None:
        """Allow, or raise Forbidden with the reason after logging the deny as an audit leaf.

        The credential's role is checked first (built in). With a ``namespace`` (``"*"`` for
        a request across namespaces or a tenant-wide one such as sessions), the constitution
        in force then decides with its Cedar policies (deny by default, forbid wins)."""
        # erase and audit are governed actions beyond the built-in roles: admins only
        builtin = Action(action) if action in {a.value for a in Action} else Action.ADMIN
        if not principal.can(builtin):
            reason = f"role {principal.role.value} may not {action}"
        elif namespace is None:
            return
        else:
            decision = self.decide(principal.tenant, principal.role.value, action, namespace, kind)
            if decision is None or decision.allowed:
                return
            reason = decision.reason
        where = None if namespace in (None, "*") else namespace
        self.store.record([event(principal.tenant, "policy.deny", utcnow(), namespace=where,
                                 decision="deny", reason=reason,
                                 detail={"action": action, **({"kind": kind} if kind else {})})])
        raise errors.Forbidden(reason, action=action)

    def decide(self, tenant: str, role: str, action: str, namespace: str = "*",
               kind: str | None = None) -> Decision | None:
        """The policy decision for a request, or None when no constitution is in force."""
        found = self._load()
        if found is None:
            return None
        return self._engine_for(tenant, found).decide(tenant, role, action, tenant, namespace, kind)

    def tenant_policies(self, tenant: str) -> str:
        return self.store.tenant_policies(tenant)

    def set_tenant_policies(self, tenant: str, policies: str) -> None:
        """Replace a tenant's own Cedar policies (each with an ``@id``, forbid only); they are
        checked against the schema and the constitution in force before they are stored."""
        found = self._load()
        if found is not None and policies.strip():
            with governed_errors():
                PolicyEngine(found[1], policies)
        elif policies.strip():
            raise errors.ConstitutionInvalid("apply a constitution before adding tenant policies")
        self.store.set_tenant_policies(tenant, policies, event(
            tenant, "tenant.policies", utcnow(), detail={"sha256": _sha256(policies.encode()),
                                                         "bytes": len(policies.encode())}))
        with self._lock:
            self._tenant_engines.pop(tenant, None)

    def _engine_for(self, tenant: str, found: tuple[int, Constitution, PolicyEngine]) -> PolicyEngine:
        """The constitution's engine, or one with the tenant's extras (rebuilt when either changes)."""
        extra = self.store.tenant_policies(tenant)
        if not extra.strip():
            return found[2]
        with self._lock:
            cached = self._tenant_engines.get(tenant)
            if cached is not None and cached[0] == found[0] and cached[1] == extra:
                return cached[2]
        with governed_errors():
            engine = PolicyEngine(found[1], extra)
        with self._lock:
            self._tenant_engines[tenant] = (found[0], extra, engine)
        return engine

    def _load(self, now: datetime | None = None) -> tuple[int, Constitution, PolicyEngine] | None:
        # On the request path: one indexed read of the newest version, and the verified chain
        # only when it changed (another process may have applied one).
        version = self.store.constitution_version()
        if version is None:
            return None
        with self._lock:
            if self._loaded is not None and self._loaded[0] == version and now is None:
                return self._loaded
        rows = self.store.constitutions()
        with self._lock:
            started = time.perf_counter()
            with governed_errors():
                chain = [SignedConstitution.from_data(_json(text)) for _, text in rows]
                newest = chain[-1]
                document = verify_root(chain[0], now if chain[0] is newest else _early(chain[0], now))
                for older, newer in itertools.pairwise(chain):
                    document = verify_chain(older, newer, now if newer is newest else _early(newer, now))
                engine = PolicyEngine(document)
            self.verify_seconds = time.perf_counter() - started
            self._loaded = (document.version, document, engine)
            return self._loaded


def draft_next(current: SignedConstitution, *, new_keys_dir: str | Path | None = None,
               signers: int | None = None, threshold: int | None = None,
               valid_for: timedelta = timedelta(days=365)) -> tuple[SignedConstitution, list[Path]]:
    """An unsigned next version: version + 1, a fresh expiry, optionally a new key set
    (``signers`` new Ed25519 keys written to ``new_keys_dir``) and threshold."""
    data: dict[str, Any] = current.document().model_dump(mode="json")
    data["version"] += 1
    data["expires"] = (datetime.now(UTC) + valid_for).strftime("%Y-%m-%dT%H:%M:%SZ")
    written: list[Path] = []
    if new_keys_dir is not None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        directory = Path(new_keys_dir)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        data["keys"] = {}
        for _ in range(signers or len(current.document().keys)):
            private = Ed25519PrivateKey.generate()
            kid = key_id(private.public_key())
            path = directory / f"{kid[:16]}.key"
            with governed_errors():
                write_private_key(path, private)
            written.append(path)
            data["keys"][kid] = public_key_b64(private.public_key())
    if threshold is not None:
        data["threshold"] = threshold
    with governed_errors():
        envelope = SignedConstitution.from_data({"signed": data, "signatures": []})
        envelope.document()
    return envelope, written


def _early(envelope: SignedConstitution, now: datetime | None) -> datetime:
    """Older versions are checked as of just before they expired (only the newest must be
    unexpired, as in TUF): their signatures still had to be valid then."""
    expires = envelope.document().expires
    return min(now or utcnow(), expires - timedelta(seconds=1))


def _json(text: str) -> Any:
    import json

    return json.loads(text)


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


__all__ = ["SYSTEM_TENANT", "Governance", "draft_next", "governed_errors"]
