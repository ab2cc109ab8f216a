"""Per-request authorisation: Cedar policies from the constitution, decided with cedarpy.

    engine = PolicyEngine(constitution)
    engine.decide("acme", "writer", "write", "acme", "team/notes", "fact")
    # Decision(allowed=True, reason='permitted by role.writer.0', policy_ids=('role.writer.0',))

The policy set is parsed and schema-validated once, in the constructor. Per request only
two small entities are built, and those are cached (LRU) by their attribute values,
so a repeated (tenant, role, namespace, kind) costs one Cedar evaluation.

Cedar skips a policy whose evaluation errors (overflow, a missing attribute), which for
a ``forbid`` would let the request through; here any evaluation error denies instead.

Extra policies (Cedar text, e.g. one tenant's restrictions) must name themselves with
``@id("...")`` so every decision can say which policy decided it. By default they may
only ``forbid``: the signed constitution is the ceiling, and unsigned extras can only
narrow it (pass ``extra_may_permit=True`` to let them widen it). Tenant isolation holds
either way, because a ``forbid`` beats every ``permit``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cedarpy

from cortex.governance.cedar import SCHEMA, policy_text
from cortex.governance.document import Constitution, GovernedAction
from cortex.governance.errors import PolicyError
from cortex.tenancy.principal import Principal

_PRINCIPAL = {"type": "Cortex::Principal", "id": "caller"}
_MEMORY = {"type": "Cortex::Memory", "id": "memory"}
_ACTIONS = frozenset(action.value for action in GovernedAction)
NO_POLICY = "no policy permits it"
_ERRORED = re.compile(r"policy `([^`]+)`")


@dataclass(frozen=True, slots=True)
class Decision:
    """Allowed or not, and why: ``policy_ids`` are the policies that determined it."""

    allowed: bool
    reason: str
    policy_ids: tuple[str, ...] = ()


class PolicyEngine:
    """Decisions for one policy set: the constitution's grants plus (optionally) one tenant's extras."""

    def __init__(self, constitution: Constitution, extra_policies: str = "", *,
                 extra_may_permit: bool = False, cache_size: int = 4096) -> None:
        generated = policy_text(constitution)
        _check_extra(extra_policies, reserved=set(_names(generated).values()), may_permit=extra_may_permit)
        self.policy_text = generated + ("\n" + extra_policies if extra_policies.strip() else "")
        validation = cedarpy.validate_policies(self.policy_text, SCHEMA)
        if not validation.validation_passed:
            names: dict[str, str] = validation.id_annotations_by_policy_id
            raise PolicyError("policies do not match the Cortex schema: " + "; ".join(
                f"{names.get(e.policy_id, e.policy_id)}: {_one_line(e.error)}" for e in validation.errors))
        self._policies = cedarpy.PolicySet.from_str(self.policy_text)
        self._names = _names(self.policy_text)  # Cedar's positional ids → our @id names
        self._entities: Callable[[str, str, str, str, str | None], cedarpy.Entities] = (
            lru_cache(maxsize=cache_size)(_entities))

    def decide(self, principal_tenant: str, role: str, action: str, resource_tenant: str,
               namespace: str, kind: str | None = None) -> Decision:
        """Whether a caller of ``role`` in ``principal_tenant`` may take ``action`` on a memory
        of ``kind`` in ``resource_tenant``/``namespace`` (``kind`` None: not about one kind)."""
        if action not in _ACTIONS:
            return Decision(False, f"unknown action {action!r}")
        request = {"principal": _PRINCIPAL, "action": {"type": "Cortex::Action", "id": str(action)},
                   "resource": _MEMORY}
        try:
            entities = self._entities(str(principal_tenant), str(role), str(resource_tenant), str(namespace),
                                      None if kind is None else str(kind))
            result = cedarpy.is_authorized(request, self._policies, entities)
        except ValueError as exc:  # e.g. a lone surrogate Cedar cannot read: deny, never raise
            return Decision(False, f"denied: the request cannot be evaluated ({_one_line(str(exc))})")
        errors: list[str] = result.diagnostics.errors
        if errors:
            return self._failed_closed([str(error) for error in errors])
        ids = tuple(self._names.get(pid, pid) for pid in result.diagnostics.reasons)
        if result.allowed:
            return Decision(True, f"permitted by {', '.join(ids)}", ids)
        return Decision(False, f"forbidden by {', '.join(ids)}" if ids else NO_POLICY, ids)

    def _failed_closed(self, errors: list[str]) -> Decision:
        """Cedar skips a policy that errors; a skipped forbid could let a request through."""
        def named(match: re.Match[str]) -> str:
            return f"policy `{self._names.get(match[1], match[1])}`"

        failed = tuple(dict.fromkeys(self._names.get(pid, pid) for pid in _ERRORED.findall(" ".join(errors))))
        first = _ERRORED.sub(named, _one_line(errors[0]))
        return Decision(False, f"denied: {len(errors)} policy error(s) (fail closed), first: {first}", failed)

    def decide_for(self, principal: Principal, action: str, resource_tenant: str, namespace: str,
                   kind: str | None = None) -> Decision:
        """``decide`` for an authenticated caller (its namespace scope is checked elsewhere)."""
        return self.decide(principal.tenant, principal.role.value, action, resource_tenant, namespace, kind)


def _entities(principal_tenant: str, role: str, resource_tenant: str, namespace: str,
              kind: str | None) -> cedarpy.Entities:
    memory: dict[str, Any] = {"tenant": resource_tenant, "namespace": namespace}
    if kind is not None:
        memory["kind"] = kind
    return cedarpy.Entities.from_json_str(json.dumps([
        {"uid": _PRINCIPAL, "attrs": {"tenant": principal_tenant, "role": role}, "parents": []},
        {"uid": _MEMORY, "attrs": memory, "parents": []},
    ]))


def _check_extra(text: str, *, reserved: set[str], may_permit: bool) -> None:
    if not text.strip():
        return
    try:
        est = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as exc:
        raise PolicyError(f"extra policies do not parse: {_one_line(str(exc))}") from None
    if est.get("templates"):
        raise PolicyError("extra policies may not be templates (no ?principal or ?resource slots)")
    seen = set(reserved)
    for number, policy in enumerate(est.get("staticPolicies", {}).values(), start=1):
        name = (policy.get("annotations") or {}).get("id")
        if not name:
            raise PolicyError(f'extra policy #{number} has no @id("...") annotation; name every policy')
        if name in seen:
            raise PolicyError(f"extra policy id {name!r} is already used")
        seen.add(name)
        if policy.get("effect") == "permit" and not may_permit:
            raise PolicyError(f"extra policy {name!r} is a permit; extra policies may only forbid "
                              "(the signed constitution grants)")


def _names(text: str) -> dict[str, str]:
    est = json.loads(cedarpy.policies_to_json_str(text))
    return {pid: policy["annotations"]["id"] for pid, policy in est["staticPolicies"].items()}


def _one_line(text: str) -> str:
    return " ".join(text.split())


__all__ = ["NO_POLICY", "Decision", "PolicyEngine"]
