"""Applying the privacy actions to a text: allow, tag, redact, tokenize or block.

``shield`` detects, resolves each finding's action and rewrites the text: a redacted or
tokenized span becomes a typed placeholder (``[EMAIL_1]``; the same value in one text
gets the same placeholder), a tokenized one also yields its original for the vault.
The result never carries a blocked value, and the audit detail it produces names types
and counts only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cortex.core.models import Kind
from cortex.governance.document import PrivacyAction
from cortex.privacy.detect import TYPES, Finding, scan
from cortex.privacy.policy import PrivacyPolicy
from cortex.privacy.records import VaultItem

_REWRITES = (PrivacyAction.REDACT, PrivacyAction.TOKENIZE)


@dataclass
class Shielded:
    text: str
    tags: list[str] = field(default_factory=list)
    vault: list[VaultItem] = field(default_factory=list)
    counts: Counter[tuple[PrivacyAction, str]] = field(default_factory=Counter)

    @property
    def blocked(self) -> list[str]:
        return sorted({entity for (action, entity) in self.counts if action is PrivacyAction.BLOCK})

    def detail(self, action: PrivacyAction) -> dict[str, Any]:
        """Audit detail for one action: the types and how many, never a value."""
        return {"types": {entity: n for (a, entity), n in sorted(self.counts.items()) if a is action}}

    def acted(self, action: PrivacyAction) -> bool:
        return any(a is action for (a, _) in self.counts)


def shield(text: str, policy: PrivacyPolicy, tenant: str | None, kind: Kind | None) -> Shielded:
    """Rewrite ``text`` by the tenant's policy for ``kind`` (blocked: text left as is)."""
    findings = scan(text)
    out = Shielded(text=text)
    if not findings:
        return out
    decided: list[tuple[Finding, PrivacyAction]] = []
    for finding in findings:
        action = policy.action(tenant, kind, finding.type)
        if action is PrivacyAction.ALLOW:
            continue
        decided.append((finding, action))
        out.counts[(action, finding.type)] += 1
        if action is PrivacyAction.TAG:
            tag = f"{_category(finding.type)}:{finding.type}"
            if tag not in out.tags:
                out.tags.append(tag)
    if out.blocked:
        return out
    out.text = _rewrite(text, [(f, a) for f, a in decided if a in _REWRITES], out.vault)
    return out


def egress_text(text: str, policy: PrivacyPolicy) -> str:
    """What may leave for an external provider: every span the policy redacts, tokenizes
    or blocks by its global default (whatever the kind) becomes its placeholder."""
    gated = (*_REWRITES, PrivacyAction.BLOCK)
    decided = [(f, PrivacyAction.REDACT) for f in scan(text)
               if policy.action(None, None, f.type) in gated]
    return _rewrite(text, decided, []) if decided else text


def _rewrite(text: str, decided: list[tuple[Finding, PrivacyAction]], vault: list[VaultItem]) -> str:
    numbers: dict[str, int] = {}
    placeholders: dict[tuple[str, str], str] = {}
    pieces: list[str] = []
    cursor = 0
    for finding, action in decided:
        if finding.start < cursor:  # overlaps a span already replaced
            continue
        value = text[finding.start:finding.end]
        placeholder = placeholders.get((finding.type, value))
        if placeholder is None:
            numbers[finding.type] = numbers.get(finding.type, 0) + 1
            placeholder = f"[{finding.type.upper()}_{numbers[finding.type]}]"
            placeholders[(finding.type, value)] = placeholder
            if action is PrivacyAction.TOKENIZE:
                vault.append(VaultItem(placeholder, finding.type, value))
        pieces.append(text[cursor:finding.start])
        pieces.append(placeholder)
        cursor = finding.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _category(entity: str) -> str:
    info = TYPES.get(entity)
    category = getattr(info, "category", None) if info is not None else None
    if category is None and isinstance(info, dict):
        category = info.get("category")
    return str(category or "pii")


__all__ = ["Shielded", "VaultItem", "egress_text", "shield"]
