"""Every error Cortex raises on purpose.

    CortexError                      500  cortex/internal
    ├── InvalidInput                 422  cortex/invalid-input
    │   ├── InvalidText              422  cortex/invalid-text
    │   ├── InvalidMetadata          422  cortex/invalid-metadata
    │   ├── InvalidId                422  cortex/invalid-id
    │   ├── InvalidKind              422  cortex/invalid-kind
    │   ├── InvalidNamespace         422  cortex/invalid-namespace
    │   ├── InvalidQuery             422  cortex/invalid-query
    │   ├── ImportFileError          422  cortex/import-file
    │   ├── PrivacyBlocked           422  cortex/privacy-blocked   (the constitution blocks a detected type)
    │   └── UnknownEntityType        422  cortex/unknown-entity-type (cortex.privacy.detect)
    ├── NotFound                     404  cortex/not-found
    │   ├── MemoryNotFound           404  cortex/memory-not-found
    │   ├── NamespaceNotFound        404  cortex/namespace-not-found
    │   └── KeyNotFound              404  cortex/key-not-found
    ├── Conflict                     409  cortex/conflict
    ├── Unauthenticated              401  cortex/unauthenticated   (no, bad, expired or revoked credential)
    ├── Forbidden                    403  cortex/forbidden         (role or namespace scope does not allow it)
    │   └── QuotaExceeded            403  cortex/quota-exceeded    (tenant's memory or byte quota is full)
    ├── PayloadTooLarge              413  cortex/payload-too-large
    ├── RateLimited                  429  cortex/rate-limited      (carries retry_after seconds)
    ├── NotReady                     503  cortex/not-ready         (model still loading)
    ├── ConfigError                  500  cortex/config
    │   └── MissingDependency        500  cortex/missing-dependency
    ├── StoreError                   503  cortex/store
    │   ├── StoreUnavailable         503  cortex/store-unavailable   (locked, unreachable)
    │   ├── StoreCorrupt             500  cortex/store-corrupt       (not a database, bad page)
    │   └── MigrationError           500  cortex/migration           (edited or unknown migration)
    ├── EmbeddingError               502  cortex/embedding           (model or provider failed)
    ├── ConstitutionRejected         422  cortex/constitution        (carries reason)
    │   ├── ConstitutionInvalid      422  cortex/constitution-invalid
    │   ├── ConstitutionUnderSigned  403  cortex/constitution-under-signed
    │   ├── ConstitutionExpired      422  cortex/constitution-expired
    │   ├── ConstitutionRollback     409  cortex/constitution-rollback
    │   ├── ConstitutionVersionStep  409  cortex/constitution-version-step
    │   └── ConstitutionFile         500  cortex/constitution-file  (unreadable file or key)
    ├── PolicyInvalid                422  cortex/policy-invalid      (extra Cedar policies refused)
    ├── KeyDestroyed                 410  cortex/key-destroyed       (the subject was erased: crypto-shredded)
    ├── MasterKeyError               500  cortex/master-key          (missing, malformed, wrong key)
    └── AuditError                   500  cortex/audit
        ├── SigningKeyError          500  cortex/signing-key         (key file unreadable or too open)
        └── VerificationFailed       422  cortex/verification-failed (a receipt or log fails to verify)

Each class carries an HTTP ``status`` and a stable ``type`` slug so every front end
(HTTP problem+json, the SDK, the CLI) renders the same error the same way.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CortexError(Exception):
    status: ClassVar[int] = 500
    type: ClassVar[str] = "cortex/internal"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class InvalidInput(CortexError):
    status = 422
    type = "cortex/invalid-input"


class InvalidText(InvalidInput):
    type = "cortex/invalid-text"


class InvalidMetadata(InvalidInput):
    type = "cortex/invalid-metadata"


class InvalidId(InvalidInput):
    type = "cortex/invalid-id"


class InvalidKind(InvalidInput):
    type = "cortex/invalid-kind"


class InvalidNamespace(InvalidInput):
    type = "cortex/invalid-namespace"


class InvalidQuery(InvalidInput):
    type = "cortex/invalid-query"


class ImportFileError(InvalidInput):
    type = "cortex/import-file"


class PrivacyBlocked(InvalidInput):
    """Carries ``types``: the entity types that blocked the write (never their values)."""

    type = "cortex/privacy-blocked"


class NotFound(CortexError):
    status = 404
    type = "cortex/not-found"


class MemoryNotFound(NotFound):
    type = "cortex/memory-not-found"


class NamespaceNotFound(NotFound):
    type = "cortex/namespace-not-found"


class KeyNotFound(NotFound):
    type = "cortex/key-not-found"


class Unauthenticated(CortexError):
    status = 401
    type = "cortex/unauthenticated"


class Forbidden(CortexError):
    status = 403
    type = "cortex/forbidden"


class QuotaExceeded(Forbidden):
    """Not a 429: waiting does not free space, so clients must not retry it."""

    type = "cortex/quota-exceeded"


class PayloadTooLarge(CortexError):
    status = 413
    type = "cortex/payload-too-large"


class RateLimited(CortexError):
    status = 429
    type = "cortex/rate-limited"

    def __init__(self, message: str, *, retry_after: float, **detail: Any) -> None:
        super().__init__(message, retry_after=retry_after, **detail)
        self.retry_after = retry_after


class NotReady(CortexError):
    status = 503
    type = "cortex/not-ready"


class Conflict(CortexError):
    status = 409
    type = "cortex/conflict"


class ConfigError(CortexError):
    status = 500
    type = "cortex/config"


class MissingDependency(ConfigError):
    type = "cortex/missing-dependency"


class StoreError(CortexError):
    status = 503
    type = "cortex/store"


class StoreUnavailable(StoreError):
    type = "cortex/store-unavailable"


class StoreCorrupt(StoreError):
    status = 500
    type = "cortex/store-corrupt"


class MigrationError(StoreError):
    status = 500
    type = "cortex/migration"


class EmbeddingError(CortexError):
    status = 502
    type = "cortex/embedding"


class ConstitutionRejected(CortexError):
    status = 422
    type = "cortex/constitution"


class ConstitutionInvalid(ConstitutionRejected):
    type = "cortex/constitution-invalid"


class ConstitutionUnderSigned(ConstitutionRejected):
    status = 403
    type = "cortex/constitution-under-signed"


class ConstitutionExpired(ConstitutionRejected):
    type = "cortex/constitution-expired"


class ConstitutionRollback(ConstitutionRejected):
    status = 409
    type = "cortex/constitution-rollback"


class ConstitutionVersionStep(ConstitutionRejected):
    status = 409
    type = "cortex/constitution-version-step"


class ConstitutionFile(ConstitutionRejected):
    status = 500
    type = "cortex/constitution-file"


class PolicyInvalid(CortexError):
    status = 422
    type = "cortex/policy-invalid"


class KeyDestroyed(CortexError):
    """The data key that sealed a value was destroyed when its subject was erased."""

    status = 410
    type = "cortex/key-destroyed"


class MasterKeyError(CortexError):
    """The master key is missing, malformed, or does not unwrap this keystore's data keys."""

    status = 500
    type = "cortex/master-key"


class AuditError(CortexError):
    status = 500
    type = "cortex/audit"


class SigningKeyError(AuditError):
    type = "cortex/signing-key"


class VerificationFailed(AuditError):
    """Carries ``where``: the first entry that failed (leaf index, checkpoint size, field)."""

    status = 422
    type = "cortex/verification-failed"


def all_error_classes() -> list[type[CortexError]]:
    """Every class in the tree, root first (the SDK maps ``type`` back through this)."""
    found: list[type[CortexError]] = []
    pending: list[type[CortexError]] = [CortexError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


__all__ = [
    "AuditError",
    "ConfigError",
    "Conflict",
    "ConstitutionExpired",
    "ConstitutionFile",
    "ConstitutionInvalid",
    "ConstitutionRejected",
    "ConstitutionRollback",
    "ConstitutionUnderSigned",
    "ConstitutionVersionStep",
    "CortexError",
    "EmbeddingError",
    "Forbidden",
    "ImportFileError",
    "InvalidId",
    "InvalidInput",
    "InvalidKind",
    "InvalidMetadata",
    "InvalidNamespace",
    "InvalidQuery",
    "InvalidText",
    "KeyDestroyed",
    "KeyNotFound",
    "MasterKeyError",
    "MemoryNotFound",
    "MigrationError",
    "MissingDependency",
    "NamespaceNotFound",
    "NotFound",
    "NotReady",
    "PayloadTooLarge",
    "PolicyInvalid",
    "PrivacyBlocked",
    "QuotaExceeded",
    "RateLimited",
    "SigningKeyError",
    "StoreCorrupt",
    "StoreError",
    "StoreUnavailable",
    "Unauthenticated",
    "VerificationFailed",
    "all_error_classes",
]
