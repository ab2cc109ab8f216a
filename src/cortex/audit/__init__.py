"""The tamper-evident audit log: typed events, RFC 9162 Merkle proofs, signed checkpoints.

Submodules are imported where used (``cortex.audit.events`` is needed by every store;
signing and proofs only by the log service and the verifier).
"""
