"""Cortex: a governed memory engine for AI agents.

    from cortex import Cortex
    mem = Cortex.open("sqlite:///agent.db")
    mem.remember("Caroline went to the support group on 7 May 2023", namespace="user:caroline")
    hits = mem.recall("When did Caroline go to the support group?", namespace="user:caroline")
"""

from cortex.core.errors import (
    CortexError,
    EmbeddingError,
    ImportFileError,
    InvalidId,
    InvalidInput,
    InvalidKind,
    InvalidMetadata,
    InvalidNamespace,
    InvalidQuery,
    InvalidText,
    MemoryNotFound,
    NamespaceNotFound,
    StoreCorrupt,
    StoreError,
    StoreUnavailable,
)
from cortex.core.models import (
    CheckReport,
    FusionWeights,
    Hit,
    Kind,
    Memory,
    NamespaceStats,
    RememberResult,
    Source,
)
from cortex.engine import Cortex, Limits

__version__ = "0.1.0"

__all__ = [
    "CheckReport",
    "Cortex",
    "CortexError",
    "EmbeddingError",
    "FusionWeights",
    "Hit",
    "ImportFileError",
    "InvalidId",
    "InvalidInput",
    "InvalidKind",
    "InvalidMetadata",
    "InvalidNamespace",
    "InvalidQuery",
    "InvalidText",
    "Kind",
    "Limits",
    "Memory",
    "MemoryNotFound",
    "NamespaceNotFound",
    "NamespaceStats",
    "RememberResult",
    "Source",
    "StoreCorrupt",
    "StoreError",
    "StoreUnavailable",
    "__version__",
]
