"""Working memory (L1): the recent messages of each session, within a token budget."""

from cortex.working.base import WorkingMemory, WorkingMessage, estimate_tokens
from cortex.working.local import LocalWorkingMemory

__all__ = ["LocalWorkingMemory", "WorkingMemory", "WorkingMessage", "estimate_tokens"]
