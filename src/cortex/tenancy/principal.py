"""Who is calling: a tenant, a role and an optional namespace scope, from a key or a JWT.

Every front end (HTTP routes, MCP tools) turns a credential into a ``Principal`` and asks
it before calling the engine. The tenant always comes from here, never from a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from cortex.core.errors import Forbidden


class Role(StrEnum):
    """``admin`` ⊃ ``writer`` ⊃ ``reader``: each role may do everything the next one may."""

    ADMIN = "admin"
    WRITER = "writer"
    READER = "reader"


class Action(StrEnum):
    READ = "read"    # get, list, recall, namespaces, read a session
    WRITE = "write"  # remember, update, forget, append to or clear a session
    ADMIN = "admin"  # API keys and tenant settings


_ALLOWED: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.WRITER: frozenset({Action.READ, Action.WRITE}),
    Role.READER: frozenset({Action.READ}),
}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``namespaces`` None means every namespace of the tenant."""

    tenant: str
    role: Role
    subject: str  # "key:<id>" or "jwt:<sub>", for logs and (later) audit events
    namespaces: tuple[str, ...] | None = None

    def can(self, action: Action) -> bool:
        return action in _ALLOWED[self.role]

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise Forbidden(f"role {self.role.value} may not {action.value}",
                            role=self.role.value, action=action.value)

    def sees(self, namespace: str) -> bool:
        """Whether a memory in ``namespace`` exists for this caller (else it answers 404)."""
        return self.namespaces is None or namespace in self.namespaces

    def require_namespace(self, namespace: str) -> None:
        if not self.sees(namespace):
            raise Forbidden(f"this credential is scoped to namespaces {', '.join(self.namespaces or ())}",
                            namespace=namespace)

    def scope(self, requested: str | Sequence[str] | None) -> tuple[str, ...] | None:
        """The namespaces a read may search: the request's, checked, or the whole scope."""
        if requested is None:
            return self.namespaces
        wanted = (requested,) if isinstance(requested, str) else tuple(requested)
        for namespace in wanted:
            self.require_namespace(namespace)
        return wanted

    def require_unscoped(self, what: str) -> None:
        """Tenant-wide resources (sessions, keys) are closed to namespace-scoped credentials."""
        if self.namespaces is not None:
            raise Forbidden(f"a namespace-scoped credential cannot use {what}", resource=what)


__all__ = ["Action", "Principal", "Role"]
