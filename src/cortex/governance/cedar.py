"""The Cedar schema and the policies generated from a constitution's ``roles``.

Entities (one principal and one resource per request):

    Cortex::Principal  { tenant: String, role: String }
    Cortex::Memory     { tenant: String, namespace: String, kind?: String }
    Cortex::Action     "read" | "write" | "admin" | "audit" | "erase"

Each grant of role R becomes one ``permit`` named ``role.R.<index>``; one ``forbid``
named ``tenant-isolation`` refuses anything where the two tenants differ (or either is
missing, so a bad entity fails closed). Cedar denies by default and a ``forbid`` beats
every ``permit``.
"""

from __future__ import annotations

import json

from cortex.governance.document import Constitution, GovernedAction, Grant

TENANT_ISOLATION = "tenant-isolation"

_ACTIONS = ", ".join(json.dumps(action.value) for action in GovernedAction)
SCHEMA = f"""
namespace Cortex {{
  entity Principal = {{ tenant: String, role: String }};
  entity Memory = {{ tenant: String, namespace: String, kind?: String }};
  action {_ACTIONS} appliesTo {{ principal: [Principal], resource: [Memory] }};
}}
"""

_ISOLATION = f"""@id("{TENANT_ISOLATION}")
forbid (principal, action, resource)
unless {{ principal has tenant && resource has tenant && principal.tenant == resource.tenant }};"""


def policy_text(constitution: Constitution) -> str:
    """Every generated policy, isolation first, in a stable order."""
    policies = [_ISOLATION]
    roles = constitution.roles
    for role, grants in (("admin", roles.admin), ("writer", roles.writer), ("reader", roles.reader)):
        policies.extend(_permit(role, index, grant) for index, grant in enumerate(grants))
    return "\n\n".join(policies) + "\n"


def _permit(role: str, index: int, grant: Grant) -> str:
    actions = ", ".join(f"Cortex::Action::{json.dumps(action.value)}" for action in grant.actions)
    conditions = [f"principal.role == {json.dumps(role)}"]
    if grant.kinds != ("*",):
        kinds = ", ".join(json.dumps(kind) for kind in grant.kinds)
        conditions.append(f"resource has kind && [{kinds}].contains(resource.kind)")
    if "*" not in grant.namespaces:
        # Patterns only hold namespace characters and *, so they need no escaping.
        like = " || ".join(f'resource.namespace like "{pattern}"' for pattern in grant.namespaces)
        conditions.append(f"({like})")
    return (f'@id("role.{role}.{index}")\n'
            f"permit (principal is Cortex::Principal, action in [{actions}], resource is Cortex::Memory)\n"
            f"when {{ {' && '.join(conditions)} }};")


__all__ = ["SCHEMA", "TENANT_ISOLATION", "policy_text"]
