"""Which privacy action applies to a detected entity: from the constitution in force.

Resolution, most specific first: the tenant's own rules (``tenant_privacy``) before the
global ``privacy`` rules; within one set, a rule naming the type before a group holding
it (a smaller group before a larger one); within a rule, the memory's kind before the
rule's default. Nothing matching means ``allow``, as does having no constitution.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from cortex.core.models import Kind
from cortex.governance.document import Constitution, PrivacyAction, PrivacyRule

Rules = Mapping[str, PrivacyAction | PrivacyRule]
ALLOW = PrivacyAction.ALLOW
LOCAL_PROVIDER = "local"


@dataclass(frozen=True)
class PrivacyPolicy:
    rules: Rules = field(default_factory=dict)
    tenant_rules: Mapping[str, Rules] = field(default_factory=dict)
    vault_readers: frozenset[str] = frozenset({"admin"})
    providers: frozenset[str] = frozenset({LOCAL_PROVIDER})
    egress_exempt: frozenset[str] = frozenset({LOCAL_PROVIDER})
    governed: bool = False  # False: no constitution applied, nothing is enforced

    @classmethod
    def from_constitution(cls, constitution: Constitution | None) -> PrivacyPolicy:
        if constitution is None:
            return cls()
        return cls(rules=constitution.privacy, tenant_rules=constitution.tenant_privacy,
                   vault_readers=frozenset(constitution.vault_readers),
                   providers=frozenset(constitution.providers),
                   egress_exempt=frozenset(constitution.egress_exempt), governed=True)

    def action(self, tenant: str | None, kind: Kind | None, entity: str) -> PrivacyAction:
        """The action for ``entity`` in a memory of ``kind`` (None: the rule's default)."""
        for rules in (self.tenant_rules.get(tenant or ""), self.rules):
            if not rules:
                continue
            rule = _rule_for(rules, entity)
            if rule is not None:
                if isinstance(rule, PrivacyRule):
                    return rule.default if kind is None else rule.action(kind)
                return rule
        return ALLOW

    def is_active(self, tenant: str) -> bool:
        return bool(self.rules or self.tenant_rules.get(tenant))


def _rule_for(rules: Rules, entity: str) -> PrivacyAction | PrivacyRule | None:
    direct = rules.get(entity)
    if direct is not None:
        return direct
    groups = [(len(_members(name)), name) for name in rules if entity in _members(name)]
    return rules[min(groups)[1]] if groups else None


@lru_cache(maxsize=256)
def _members(name: str) -> frozenset[str]:
    from cortex.privacy.detect import expand

    return frozenset(expand(name))


__all__ = ["LOCAL_PROVIDER", "PrivacyPolicy"]
