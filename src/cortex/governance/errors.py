"""Why a constitution or a policy set was refused.

    ConstitutionError      reason (ConstitutionFailure)
        invalid            the document or envelope does not parse or validate
        unreadable         the file cannot be read
        key-file           a private key file is missing, unreadable or not Ed25519
        under-signed       fewer valid signatures than a threshold demands
        expired            ``expires`` is not after ``now``
        rollback           the candidate's version is not above the trusted one
        version-step       the candidate skips versions (must be trusted + 1)
    PolicyError            extra Cedar policies do not parse, validate or name themselves

These stand outside ``cortex.core.errors`` until they are wired into that tree; every
message is one line that says what was wrong and, where it helps, what to do.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ConstitutionFailure(StrEnum):
    INVALID = "invalid"
    UNREADABLE = "unreadable"
    KEY_FILE = "key-file"
    UNDER_SIGNED = "under-signed"
    EXPIRED = "expired"
    ROLLBACK = "rollback"
    VERSION_STEP = "version-step"


class ConstitutionError(Exception):
    """A constitution was refused; ``reason`` says which rule refused it."""

    def __init__(self, reason: ConstitutionFailure, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class PolicyError(Exception):
    """Extra Cedar policies were refused (parse, schema or naming problem)."""

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


__all__ = ["ConstitutionError", "ConstitutionFailure", "PolicyError"]
