"""The privacy shield as the engine uses it: actions on writes, erasure, export, vault,
retention. Reached as ``engine.privacy``; every front end calls these same methods."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cortex.audit import events as audit_events
from cortex.core import validate
from cortex.core.errors import Forbidden, PrivacyBlocked
from cortex.core.models import Kind, NewMemory, Receipt, content_hash, utcnow
from cortex.governance.document import PrivacyAction
from cortex.privacy.policy import PrivacyPolicy
from cortex.privacy.records import Erasure, ShieldWrite, SubjectExport, VaultEntry

if TYPE_CHECKING:
    from cortex.engine import Cortex
    from cortex.privacy.shield import Shielded

_LEAF_ACTIONS: dict[PrivacyAction, audit_events.Action] = {
    PrivacyAction.REDACT: "privacy.redact", PrivacyAction.TOKENIZE: "privacy.tokenize"}
MAX_TAGS = validate.MAX_TAGS


class Privacy:
    def __init__(self, engine: Cortex) -> None:
        self.engine = engine

    def policy(self) -> PrivacyPolicy:
        """The privacy rules of the constitution in force (none applied: nothing enforced)."""
        return PrivacyPolicy.from_constitution(self.engine.governance.current())

    # ---- writes ---------------------------------------------------------------------
    def shield_all(self, tenant: str, items: Sequence[NewMemory]
                   ) -> tuple[list[NewMemory], dict[str, ShieldWrite]]:
        """Apply the actions to every item before any is written; a block refuses them all."""
        policy = self.policy()
        if not policy.is_active(tenant):
            return list(items), {}
        from cortex.privacy.shield import shield  # the detectors load on first use

        now = utcnow()
        out: list[NewMemory] = []
        writes: dict[str, ShieldWrite] = {}
        for position, item in enumerate(items):
            result = shield(item.text, policy, tenant, item.kind)
            if result.blocked:
                self._record_block(tenant, item, result, now)
                raise PrivacyBlocked(
                    f"the constitution blocks storing {', '.join(result.blocked)} "
                    f"(in {item.kind.value} memories); the value is not echoed",
                    types=result.blocked, index=position, field="text")
            new, write = self._apply(tenant, item, result, now)
            out.append(new)
            if write is not None:
                writes[new.id] = write
        return out, writes

    def shield_one(self, tenant: str, item: NewMemory) -> tuple[NewMemory, ShieldWrite | None]:
        items, writes = self.shield_all(tenant, [item])
        return items[0], writes.get(items[0].id)

    def _apply(self, tenant: str, item: NewMemory, result: Shielded,
               now: datetime) -> tuple[NewMemory, ShieldWrite | None]:
        if not result.counts:
            return item, None
        tags = list(item.tags)
        for tag in result.tags:
            if tag not in tags and len(tags) < MAX_TAGS:
                tags.append(tag)
        new = item.model_copy(update={"text": result.text, "tags": tags,
                                      "content_hash": content_hash(result.text)})
        events = [audit_events.event(tenant, leaf_action, now, memory_id=new.id,
                                     content_hash=new.content_hash, namespace=new.namespace,
                                     detail=result.detail(action))
                  for action, leaf_action in _LEAF_ACTIONS.items() if result.acted(action)]
        return new, ShieldWrite(vault=list(result.vault), events=events)

    def _record_block(self, tenant: str, item: NewMemory, result: Shielded, now: datetime) -> None:
        self.engine.store.record([audit_events.event(
            tenant, "privacy.block", now, namespace=item.namespace, decision="deny",
            reason="privacy: " + ", ".join(result.blocked),
            detail={"kind": item.kind.value, **result.detail(PrivacyAction.BLOCK)})])

    # ---- reading tokenized values -----------------------------------------------------
    def reveal(self, memory_id: str, *, role: str, tenant: str | None = None) -> list[VaultEntry]:
        """The originals behind a memory's tokens, for the roles the constitution names."""
        tenant = self.engine._tenant(tenant)
        policy = self.policy()
        if role not in policy.vault_readers:
            raise Forbidden(f"role {role} may not read tokenized values (the constitution allows: "
                            f"{', '.join(sorted(policy.vault_readers))})", role=role)
        memory = self.engine.get(memory_id, tenant=tenant)
        entries = self.engine.store.vault_entries(tenant, [memory.id]).get(memory.id, [])
        if entries:
            self.engine.store.record([audit_events.event(
                tenant, "privacy.reveal", utcnow(), memory_id=memory.id, namespace=memory.namespace,
                detail={"placeholders": [e.placeholder for e in entries], "role": role})])
        return entries

    # ---- subjects ------------------------------------------------------------------------
    def erase_subject(self, subject: str, *, tenant: str | None = None) -> Erasure:
        """Delete everything about ``subject`` and destroy its data key (crypto-shredding);
        the ``subject.erase`` leaf's receipt proves when."""
        tenant = self.engine._tenant(tenant)
        checked = validate.subject(subject)
        assert checked is not None
        at = utcnow()
        digest = subject_sha256(tenant, checked)
        event = audit_events.event(tenant, "subject.erase", at, detail={"subject_sha256": digest})
        memories, vault, leaf = self.engine.store.erase_subject(tenant, checked, event)
        self.engine.invalidate(tenant)
        clear_cache = getattr(self.engine.embedder, "clear", None)
        if callable(clear_cache):  # vectors of the erased texts, keyed by their hashes
            clear_cache()
        # Signed now, so the receipt carries its inclusion proof at once.
        proven = self.engine.audit.receipts(tenant, [("", leaf)])
        receipt = proven[0] if proven else Receipt(
            tenant=tenant, memory_id="", leaf_index=leaf.index, leaf_hash=leaf.leaf_hash.hex(),
            event=leaf.event)
        return Erasure(tenant=tenant, subject_sha256=digest, memories=memories, vault_entries=vault,
                       keys_destroyed=1, erased_at=at, receipt=receipt)

    def export_subject(self, subject: str, *, tenant: str | None = None,
                       include_vault: bool = True) -> SubjectExport:
        """Every version of every memory about ``subject`` (an access request), with the
        originals of tokenized values unless ``include_vault`` is False."""
        tenant = self.engine._tenant(tenant)
        checked = validate.subject(subject)
        assert checked is not None
        memories = self.engine.store.subject_memories(tenant, checked)
        vault = (self.engine.store.vault_entries(tenant, [m.id for m in memories])
                 if include_vault else {})
        return SubjectExport(tenant=tenant, subject=checked, exported_at=utcnow(), memories=memories,
                             vault=vault)

    # ---- retention -------------------------------------------------------------------------
    def retention_cutoffs(self, now: datetime | None = None) -> dict[str, datetime]:
        constitution = self.engine.governance.current()
        if constitution is None:
            return {}
        now = now or utcnow()
        return {kind.value: now - timedelta(days=days)
                for kind, days in constitution.retention.items() if days is not None}

    def sweep_retention(self, now: datetime | None = None) -> int:
        cutoffs = self.retention_cutoffs(now)
        if not cutoffs:
            return 0
        erased = self.engine.store.retain(cutoffs)
        if erased:
            self.engine.invalidate(None)
        return erased

    def scan_actions(self, text: str, *, tenant: str | None = None, kind: Kind | str | None = None,
                     types: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Findings in ``text`` with the action the policy would take on each (dry run)."""
        from cortex.privacy.detect import scan

        tenant = self.engine._tenant(tenant)
        policy = self.policy()
        resolved = None if kind is None else validate.kind(kind)
        return [{**finding.model_dump(), "action": policy.action(tenant, resolved, finding.type).value}
                for finding in scan(text, types)]


def subject_sha256(tenant: str, subject: str) -> str:
    """How a subject is named in the audit log: a hash, so the log keeps no personal id."""
    return hashlib.sha256(f"{tenant}\x00{subject}".encode()).hexdigest()


__all__ = ["Privacy", "subject_sha256"]
