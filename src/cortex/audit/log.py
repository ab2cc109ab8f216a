"""The audit log service: signed checkpoints, inclusion and consistency proofs, export.

Leaves are written by the store inside each change's transaction; this layer only reads
them. One Ed25519 key (kept in a file outside the database) signs every tenant's tree
heads; each tenant's log has its own origin line, ``<key name>/<tenant>``.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cortex.audit import merkle
from cortex.audit.checkpoint import Checkpoint, sign
from cortex.audit.records import AuditLeaf, StoredCheckpoint
from cortex.audit.signing import KeyFileError, SignatureError, Signer, load_or_create_signer
from cortex.audit.verify import LogReport
from cortex.core.errors import MemoryNotFound, NotFound, SigningKeyError
from cortex.core.models import MemoryFilter, Receipt, utcnow
from cortex.store import Store

KEY_NAME = "cortex-audit"
_CREATED = ("memory.remember", "memory.update")


def open_signer(path: Path, name: str = KEY_NAME) -> Signer:
    try:
        return load_or_create_signer(path, name)
    except (KeyFileError, SignatureError) as exc:
        raise SigningKeyError(str(exc)) from exc


class AuditLog:
    """Per-tenant Merkle logs over one store, with one signing key."""

    def __init__(self, store: Store, signer: Signer) -> None:
        self.store = store
        self.signer = signer
        self._lock = threading.Lock()

    # ---- identity ----------------------------------------------------------------
    def origin(self, tenant: str) -> str:
        return f"{self.signer.name}/{quote(tenant, safe='')}"

    def public_key(self) -> str:
        """The verifier key string (``name+id+base64``) clients pin to check checkpoints."""
        return self.signer.verifier().key_string()

    # ---- tree heads ----------------------------------------------------------------
    def checkpoint(self, tenant: str) -> StoredCheckpoint | None:
        """The newest signed checkpoint, signing a new one first if the log has grown."""
        return self._checkpoint(tenant)[0]

    def _checkpoint(self, tenant: str) -> tuple[StoredCheckpoint | None, list[bytes] | None]:
        """``checkpoint``, plus the leaf hashes it read when it signed (proofs reuse them)."""
        with self._lock:
            size = self.store.audit_size(tenant)
            latest = self.store.latest_checkpoint(tenant)
            if size == 0 or (latest is not None and latest.size == size):
                return latest, None
            hashes = self.store.audit_leaf_hashes(tenant, size)
            head = Checkpoint(origin=self.origin(tenant), size=size, root=merkle.root(hashes))
            stored = StoredCheckpoint(tenant=tenant, size=size, root=head.root,
                                      note=sign(head, self.signer), created_at=utcnow())
            self.store.add_checkpoint(stored)
            return stored, hashes

    def checkpoint_all(self) -> int:
        """Sign a checkpoint for every tenant whose log grew (the server's cadence)."""
        grown = 0
        for tenant in self.store.audit_tenants():
            latest = self.store.latest_checkpoint(tenant)
            if latest is None or latest.size < self.store.audit_size(tenant):
                self.checkpoint(tenant)
                grown += 1
        return grown

    # ---- proofs ----------------------------------------------------------------------
    def receipt(self, tenant: str, memory_id: str) -> Receipt:
        """The memory's creation leaf with an inclusion proof against a signed checkpoint."""
        found = self.receipts_for(tenant, [memory_id])
        if memory_id not in found:
            raise MemoryNotFound(f"no audit record of memory {memory_id}", id=memory_id)
        return found[memory_id]

    def receipts_for(self, tenant: str, memory_ids: Sequence[str]) -> dict[str, Receipt]:
        """Receipts of the leaves that created these memory versions (missing ids: none)."""
        created = []
        for memory_id in memory_ids:
            leaf = next((leaf for leaf in self.store.audit_leaves_for(tenant, memory_id)
                         if json.loads(leaf.event).get("action") in _CREATED), None)
            if leaf is not None:
                created.append((memory_id, leaf))
        return {r.memory_id: r for r in self.receipts(tenant, created)} if created else {}

    def receipts(self, tenant: str, leaves: Sequence[tuple[str, AuditLeaf]]) -> list[Receipt]:
        """Receipts for several leaves against one checkpoint (reads the leaf hashes once)."""
        head, hashes = self._checkpoint(tenant)
        if head is None:
            return []
        tree = _Subtrees(hashes if hashes is not None else self.store.audit_leaf_hashes(tenant, head.size))
        out = []
        for memory_id, leaf in leaves:
            proof = merkle.inclusion_proof(tree.hashes, leaf.index, head.size, subtree_root=tree.root)
            out.append(Receipt(tenant=tenant, memory_id=memory_id, leaf_index=leaf.index,
                               leaf_hash=leaf.leaf_hash.hex(), event=leaf.event, checkpoint=head.note,
                               proof=[_b64(h) for h in proof]))
        return out

    def consistency(self, tenant: str, old_size: int, new_size: int) -> dict[str, Any]:
        """A proof that the log at ``new_size`` extends the log at ``old_size`` (RFC 9162)."""
        size = self.store.audit_size(tenant)
        if not 0 < old_size <= new_size <= size:
            raise NotFound(f"no consistency proof from {old_size} to {new_size}: the log has "
                           f"{size} leaves (need 0 < from <= to <= {size})")
        tree = _Subtrees(self.store.audit_leaf_hashes(tenant, new_size))
        proof = merkle.consistency_proof(tree.hashes, old_size, new_size, subtree_root=tree.root)
        return {"from": old_size, "to": new_size, "from_root": _b64(tree.root(0, old_size)),
                "to_root": _b64(tree.root(0, new_size)), "proof": [_b64(h) for h in proof]}

    # ---- reading the log ---------------------------------------------------------------
    def events(self, tenant: str, start: int, limit: int) -> list[AuditLeaf]:
        return self.store.audit_leaves(tenant, start, start + limit)

    def export(self, tenant: str, chunk: int = 10_000) -> Iterator[dict[str, Any]]:
        """The whole log as JSON-lines records: a header, then the leaves in order, each
        checkpoint placed right after the last leaf it covers."""
        self.checkpoint(tenant)
        yield {"type": "header", "tenant": tenant, "origin": self.origin(tenant),
               "public_key": self.public_key(), "format": "cortex-audit-export/1"}
        size = self.store.audit_size(tenant)
        heads = {h.size: h for h in self.store.checkpoints(tenant) if h.size <= size}
        for start in range(0, size, chunk):  # each checkpoint right after the leaves it covers
            for leaf in self.store.audit_leaves(tenant, start, min(size, start + chunk)):
                yield {"type": "leaf", "index": leaf.index, "leaf_hash": leaf.leaf_hash.hex(),
                       "event": leaf.event}
                head = heads.get(leaf.index + 1)
                if head is not None:
                    yield {"type": "checkpoint", "size": head.size, "note": head.note}


def verify_live(log: AuditLog, tenant: str) -> LogReport:
    """The whole log of ``tenant`` as exported, then every stored row against its leaf."""
    from cortex.audit.verify import verify_export, verify_store_rows

    records = list(log.export(tenant))
    report = verify_export(records, log.signer.verifier())
    created = {}
    for record in records:
        if record["type"] == "leaf":
            event = json.loads(record["event"])
            if event.get("action") in _CREATED:
                created[event["memory_id"]] = event.get("content_hash")
    report.memories_checked = verify_store_rows(_rows(log.store, tenant), created)
    return report


def _rows(store: Store, tenant: str) -> Iterator[tuple[str, str, str]]:
    """Every stored version (current and superseded) as (id, text, content hash)."""
    flt = MemoryFilter(include_superseded=True)
    after = None
    while True:
        page = store.list(tenant, flt, utcnow(), 1000, after)
        yield from ((m.id, m.text, m.content_hash) for m in page)
        if len(page) < 1000:
            return
        after = page[-1].id


class _Subtrees:
    """Subtree roots over a list of leaf hashes, each computed once (proofs reuse them)."""

    def __init__(self, hashes: list[bytes]) -> None:
        self.hashes = hashes
        self._cache: dict[tuple[int, int], bytes] = {}

    def root(self, start: int, end: int) -> bytes:
        key = (start, end)
        found = self._cache.get(key)
        if found is None:
            found = merkle.root(self.hashes[start:end])
            self._cache[key] = found
        return found


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


__all__ = ["KEY_NAME", "AuditLog", "open_signer", "verify_live"]
