"""Offline verification: a receipt, a whole exported log, and a live store against its log.

Nothing here trusts the server: leaf hashes are recomputed from the events, roots from
the leaves, checkpoints are checked against the pinned public key, and successive
checkpoints must be consistent (RFC 9162 consistency proofs). The first failure is
reported with where it is (leaf index, checkpoint size, memory id).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from cortex.audit import merkle
from cortex.audit.checkpoint import Checkpoint, CheckpointError, open_signed
from cortex.audit.events import leaf_hash
from cortex.audit.signing import SignatureError, Verifier
from cortex.core.errors import VerificationFailed
from cortex.core.models import Receipt, content_hash


def verifier_from(key: str) -> Verifier:
    try:
        return Verifier.from_key_string(key.strip())
    except (SignatureError, ValueError) as exc:
        raise VerificationFailed(f"not a public key string (name+id+base64): {exc}",
                                 where="public-key") from exc


def verify_receipt(receipt: Receipt, verifier: Verifier) -> Checkpoint:
    """Check one receipt end to end; returns the checkpoint it is proven against."""
    digest = leaf_hash(receipt.event.encode("utf-8"))
    if digest.hex() != receipt.leaf_hash:
        _fail("the event does not hash to the receipt's leaf hash", "leaf_hash")
    event = _event(receipt.event, "event")
    # An event about no memory (e.g. a subject's erasure) has receipt.memory_id "".
    if (event.get("memory_id") or "") != receipt.memory_id or event.get("tenant") != receipt.tenant:
        _fail("the event is about another memory or tenant", "event")
    note, proof = receipt.checkpoint, receipt.proof
    if note is None or proof is None:
        _fail("the receipt has no checkpoint and proof yet: fetch it from /v1/audit/proof", "proof")
    head = _open(note, verifier, f"checkpoint of {receipt.tenant}")
    try:
        merkle.verify_inclusion(digest, receipt.leaf_index, head.size,
                                [_b64(p, "proof") for p in proof], head.root)
    except merkle.InvalidProof as exc:
        _fail(f"the inclusion proof does not verify: {exc}", "proof")
    return head


@dataclass
class LogReport:
    tenant: str = ""
    leaves: int = 0
    checkpoints: int = 0
    memories_checked: int = 0
    notes: list[str] = field(default_factory=list)


def verify_export(records: Iterable[dict[str, Any]], verifier: Verifier) -> LogReport:
    """Check an exported log (``cortex audit export``): every leaf, root, signature and
    the consistency between successive checkpoints. Raises at the first bad entry."""
    report = LogReport()
    hashes: list[bytes] = []
    tree = merkle.CompactRange()
    heads: list[Checkpoint] = []
    for number, record in enumerate(records, start=1):
        kind = record.get("type")
        if kind == "header":
            report.tenant = str(record.get("tenant", ""))
        elif kind == "leaf":
            _check_leaf(record, len(hashes))
            digest = leaf_hash(str(record["event"]).encode("utf-8"))
            hashes.append(digest)
            tree.append(digest)
        elif kind == "checkpoint":
            heads.append(_check_head(record, verifier, hashes, tree))
        else:
            _fail(f"record {number} has unknown type {kind!r}", f"record {number}")
    for old, new in itertools.pairwise(heads):
        proof = merkle.consistency_proof(hashes, old.size, new.size)
        try:
            merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
        except merkle.InvalidProof as exc:
            _fail(f"checkpoints {old.size} and {new.size} are not consistent: {exc}",
                  f"checkpoint {new.size}")
    if not heads:
        _fail("the export holds no signed checkpoint", "checkpoint")
    if heads[-1].size != len(hashes):
        report.notes.append(f"{len(hashes) - heads[-1].size} newest leaves are not yet under a checkpoint")
    report.leaves, report.checkpoints = len(hashes), len(heads)
    return report


def _check_leaf(record: dict[str, Any], expected_index: int) -> None:
    index = record.get("index")
    if index != expected_index:
        _fail(f"leaf {expected_index} is missing or out of order (found index {index})",
              f"leaf {expected_index}")
    event = str(record.get("event", ""))
    digest = leaf_hash(event.encode("utf-8"))
    if "leaf_hash" in record and record["leaf_hash"] != digest.hex():
        _fail(f"leaf {index}: the event does not hash to the stored leaf hash (altered)", f"leaf {index}")
    parsed = _event(event, f"leaf {index}")
    canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if canonical != event:
        _fail(f"leaf {index}: the event is not canonical JSON", f"leaf {index}")


def _check_head(record: dict[str, Any], verifier: Verifier, hashes: list[bytes],
                tree: merkle.CompactRange) -> Checkpoint:
    head = _open(str(record.get("note", "")), verifier, f"checkpoint {record.get('size')}")
    if head.size != record.get("size") or head.size != len(hashes):
        _fail(f"checkpoint {head.size} is not placed after leaf {head.size - 1} of the export",
              f"checkpoint {head.size}")
    if tree.root() != head.root:
        _fail(f"checkpoint {head.size}: the leaves do not hash to its signed root (a leaf was "
              "altered, added or removed)", f"checkpoint {head.size}")
    return head


def verify_store_rows(memories: Iterable[tuple[str, str, str]],
                      created: dict[str, str]) -> int:
    """Each (id, text, stored content hash) must hash to its stored hash and to the hash
    its creation leaf recorded (``created``: memory id → content hash from the log)."""
    checked = 0
    for memory_id, text, stored in memories:
        if content_hash(text) != stored:
            _fail(f"memory {memory_id}: its text no longer matches its content hash (altered row)",
                  f"memory {memory_id}")
        logged = created.get(memory_id)
        if logged is None:
            _fail(f"memory {memory_id} has no leaf in the audit log", f"memory {memory_id}")
        if logged != stored:
            _fail(f"memory {memory_id}: its content hash differs from the one its leaf recorded",
                  f"memory {memory_id}")
        checked += 1
    return checked


def _open(note: str, verifier: Verifier, what: str) -> Checkpoint:
    try:
        return open_signed(note, [verifier])
    except (CheckpointError, SignatureError) as exc:
        _fail(f"{what}: the signature or note does not verify: {exc}", what)


def _event(text: str, where: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        _fail(f"{where}: not JSON", where)
    if not isinstance(parsed, dict):
        _fail(f"{where}: not a JSON object", where)
    return dict(parsed)


def _b64(value: str, where: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        _fail(f"{where}: not base64", where)


def _fail(message: str, where: str) -> NoReturn:
    raise VerificationFailed(message, where=where)


__all__ = ["LogReport", "verifier_from", "verify_export", "verify_receipt", "verify_store_rows"]
