"""What the privacy layer hands the store, and what erasure and export report back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from cortex.audit.events import AuditEvent
from cortex.core.models import Memory, Receipt


@dataclass(frozen=True)
class VaultItem:
    """A tokenized span: its placeholder in the stored text, its type and its original."""

    placeholder: str
    entity: str
    value: str


@dataclass(frozen=True)
class ShieldWrite:
    """Written in the same transaction as a memory: its vault items and privacy leaves."""

    vault: list[VaultItem] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)


class VaultEntry(BaseModel):
    placeholder: str
    entity: str
    value: str


class Erasure(BaseModel):
    """What erasing a subject removed, with the receipt of its ``subject.erase`` leaf."""

    tenant: str
    subject_sha256: str
    memories: int
    vault_entries: int
    keys_destroyed: int
    erased_at: datetime
    receipt: Receipt


class SubjectExport(BaseModel):
    """Everything kept about a subject: every version of every memory, and vault values."""

    tenant: str
    subject: str
    exported_at: datetime
    memories: list[Memory]
    vault: dict[str, list[VaultEntry]]  # by memory id


__all__ = ["Erasure", "ShieldWrite", "SubjectExport", "VaultEntry", "VaultItem"]
