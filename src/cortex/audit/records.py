"""What the store keeps of the audit log: leaves and signed checkpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AuditLeaf(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    leaf_hash: bytes
    event: str  # the canonical JSON the leaf hash covers


class StoredCheckpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant: str
    size: int
    root: bytes
    note: str  # the signed note (C2SP tlog-checkpoint)
    created_at: datetime


__all__ = ["AuditLeaf", "StoredCheckpoint"]
