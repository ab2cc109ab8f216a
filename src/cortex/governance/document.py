"""What one version of the constitution says: signers for the next version, and policy.

The document is validated strictly from its canonical JSON (so YAML and JSON sources
validate the same way): no coercion, no unknown fields, every key a real Ed25519 key,
``threshold`` reachable with the distinct keys listed.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    model_validator,
)

from cortex.core.models import Kind
from cortex.governance.errors import ConstitutionError, ConstitutionFailure


class GovernedAction(StrEnum):
    """What a role may do. ``audit`` and ``erase`` are hooks for the audit and erasure work."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    AUDIT = "audit"
    ERASE = "erase"


class PrivacyAction(StrEnum):
    """What to do with a detected entity (carried as data for the privacy layer)."""

    ALLOW = "allow"
    TAG = "tag"
    REDACT = "redact"
    TOKENIZE = "tokenize"
    BLOCK = "block"


def _utc(value: datetime) -> datetime:
    if value.utcoffset() != timedelta(0):
        raise ValueError("must be an RFC 3339 time in UTC, e.g. 2030-01-01T00:00:00Z")
    return value.astimezone(UTC)


def _kinds(value: tuple[str, ...]) -> tuple[str, ...]:
    known = {kind.value for kind in Kind}
    for kind in value:
        if kind != "*" and kind not in known:
            raise ValueError(f"unknown kind {kind!r}: use * or one of {', '.join(sorted(known))}")
    if "*" in value and len(value) > 1:
        raise ValueError("* already means every kind; list it alone")
    return value


def _public_key(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("is not valid base64") from None
    if len(raw) != 32:
        raise ValueError(f"is {len(raw)} bytes; an Ed25519 public key is 32")
    return value


UtcTime = Annotated[
    datetime,
    AfterValidator(_utc),
    PlainSerializer(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"), return_type=str),
]
# Namespace characters (see cortex.core.validate) plus ``*``, Cedar's ``like`` wildcard.
NamespacePattern = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:@/+*-]{1,128}$")]
KeyId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
PublicKeyB64 = Annotated[str, AfterValidator(_public_key)]
EntityType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ProviderName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Grant(_Strict):
    """One permit: these actions, on these kinds, in namespaces matching these patterns.

    ``*`` alone in ``kinds`` means every kind; in a namespace pattern it matches any run of
    characters (Cedar ``like``), so ``team/*`` matches ``team/a`` and ``team/a/b``.
    """

    actions: tuple[GovernedAction, ...] = Field(min_length=1)
    kinds: Annotated[tuple[str, ...], AfterValidator(_kinds)] = Field(default=("*",), min_length=1)
    namespaces: tuple[NamespacePattern, ...] = Field(default=("*",), min_length=1)


class Roles(_Strict):
    """Grants per role. Roles are independent: list every action each role may take."""

    admin: tuple[Grant, ...]
    writer: tuple[Grant, ...]
    reader: tuple[Grant, ...]


class PrivacyRule(_Strict):
    """An entity type's action by kind: ``kinds`` overrides ``default`` for the kinds it lists."""

    default: PrivacyAction
    kinds: dict[Kind, PrivacyAction] = Field(default_factory=dict)

    def action(self, kind: Kind) -> PrivacyAction:
        return self.kinds.get(kind, self.default)


def _privacy_value(value: Any) -> Any:
    """An action name, or {default, kinds}: one clear message for anything else."""
    if isinstance(value, str):
        try:
            return PrivacyAction(value)
        except ValueError:
            pass
    elif isinstance(value, dict):
        return PrivacyRule.model_validate(value, strict=False)
    elif isinstance(value, PrivacyAction | PrivacyRule):
        return value
    raise ValueError("Input should be 'allow', 'tag', 'redact', 'tokenize' or 'block', "
                     "or an object {default, kinds}")


PrivacyValue = Annotated[PrivacyAction | PrivacyRule, BeforeValidator(_privacy_value)]
PrivacyRules = dict[EntityType, PrivacyValue]
TenantId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
RoleName = Literal["admin", "writer", "reader"]


def _known_entities(rules: PrivacyRules) -> PrivacyRules:
    from cortex.privacy.detect import expand

    for name in rules:
        expand(name)  # raises ValueError naming the known types and groups
    return rules


class Limits(_Strict):
    """Per-tenant defaults; ``rate_limit_rps`` 0 turns rate limiting off."""

    rate_limit_rps: float = Field(ge=0)
    burst: int = Field(ge=1)
    max_memories: int = Field(ge=1)
    max_bytes: int = Field(ge=1)


class Constitution(_Strict):
    """One signed version. ``keys``/``threshold`` say who may sign the NEXT version."""

    version: int = Field(ge=1)
    expires: UtcTime
    threshold: int = Field(ge=1)
    keys: dict[KeyId, PublicKeyB64] = Field(min_length=1)
    roles: Roles
    retention: dict[Kind, Annotated[int, Field(ge=1)] | None] = Field(default_factory=dict)
    privacy: Annotated[PrivacyRules, AfterValidator(_known_entities)] = Field(default_factory=dict)
    tenant_privacy: dict[TenantId, Annotated[PrivacyRules, AfterValidator(_known_entities)]] = Field(
        default_factory=dict)
    vault_readers: tuple[RoleName, ...] = ("admin",)
    limits: Limits
    providers: tuple[ProviderName, ...] = ("local",)
    egress_exempt: tuple[ProviderName, ...] = ("local",)

    @model_validator(mode="after")
    def _threshold_reachable(self) -> Constitution:
        distinct = len({base64.b64decode(k) for k in self.keys.values()})
        if self.threshold > distinct:
            raise ValueError(f"threshold {self.threshold} exceeds the {distinct} distinct keys listed")
        if len(set(self.providers)) != len(self.providers):
            raise ValueError("providers lists a name twice")
        return self

    def retention_days(self, kind: Kind) -> int | None:
        """Days a memory of ``kind`` is kept; None (also for an unlisted kind) keeps it."""
        return self.retention.get(kind)


def parse_document(canonical: bytes) -> Constitution:
    """Validate a document from its canonical JSON; failures become one-line errors."""
    try:
        return Constitution.model_validate_json(canonical)
    except ValidationError as exc:
        raise ConstitutionError(ConstitutionFailure.INVALID,
                                f"constitution is invalid: {one_line(exc)}") from None


def one_line(exc: ValidationError, limit: int = 5) -> str:
    errors = exc.errors()
    locs = [error["loc"] for error in errors]
    # A container's own error ("too short") is noise when one of its items already failed.
    errors = [e for e in errors if not any(len(o) > len(e["loc"]) and o[:len(e["loc"])] == e["loc"]
                                           for o in locs)]
    parts = []
    for error in errors[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "document"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    more = len(errors) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def default_document(keys: dict[str, str], threshold: int, expires: datetime) -> dict[str, Any]:
    """Version 1 with safe defaults: roles nest as in ``cortex.tenancy``, nothing expires,
    obvious secrets are blocked, data stays on local models."""
    everywhere: dict[str, Any] = {"kinds": ["*"], "namespaces": ["*"]}
    return {
        "version": 1,
        "expires": expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "threshold": threshold,
        "keys": keys,
        "roles": {
            "admin": [{"actions": [a.value for a in GovernedAction], **everywhere}],
            "writer": [{"actions": ["read", "write"], **everywhere}],
            "reader": [{"actions": ["read"], **everywhere}],
        },
        "retention": {kind.value: None for kind in Kind},
        "privacy": {"email": "tag", "phone": "tag", "credit_card": "redact", "iban": "redact",
                    "api_key": "block", "password": "block"},
        "limits": {"rate_limit_rps": 100.0, "burst": 200, "max_memories": 1_000_000,
                   "max_bytes": 1_073_741_824},
        "providers": ["local"],
    }


__all__ = [
    "Constitution",
    "GovernedAction",
    "Grant",
    "Limits",
    "PrivacyAction",
    "PrivacyRule",
    "Roles",
    "default_document",
    "parse_document",
]
