"""RFC 9162 Merkle trees: hashes, roots, inclusion and consistency proofs (SHA-256, hashlib only).

Sections of RFC 9162 (Certificate Transparency 2.0), identical in substance to RFC 6962 §2.1:

    §2.1.1    MTH: leaf_hash, node_hash, EMPTY_ROOT, root(), CompactRange
    §2.1.3.1  PATH: inclusion_proof()          §2.1.3.2  verify_inclusion()
    §2.1.4.1  PROOF/SUBPROOF: consistency_proof()   §2.1.4.2  verify_consistency()

Verification follows the RFC algorithms step by step, plus the checks the transparency-dev/merkle
reference adds and its test vectors require: every leaf hash, root and proof hash given to
verify_inclusion is 32 bytes, and a consistency proof from the empty tree (old_size 0) is
rejected as meaningless, since the RFC defines one only for 0 < old_size (any tree extends
the empty one; trust the new signed tree head on its own). Equal sizes need equal roots and an
empty proof. A proof binds a root to a size only if that pair is authenticated (a signed
checkpoint): a proof for leaf 0 of a 3-leaf tree also "verifies" for size 4 against the same root.

Errors: InvalidProof when a proof does not verify (each message says why); InvalidArgument when
a generator or CompactRange is asked for something the given leaves cannot describe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF, _NODE = b"\x00", b"\x01"

SubtreeRoot = Callable[[int, int], bytes]
"""``subtree_root(start, end)`` is MTH(D[start:end]); pass a caching one to reuse subtree hashes."""


class InvalidProof(Exception):
    """A Merkle proof does not verify, or is malformed (wrong length, bad sizes or hashes)."""


class InvalidArgument(Exception):
    """An index, size or hash cannot describe the given tree (raised by generators, CompactRange)."""


def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 ‖ leaf): the hash of one log entry."""
    return hashlib.sha256(_LEAF + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right): the hash of an interior node."""
    return hashlib.sha256(_NODE + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes in O(n): hash pairs level by level, carrying an odd last node up."""
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    sha256 = hashlib.sha256
    while len(level) > 1:
        odd = level[-1] if len(level) % 2 else None
        level = [sha256(_NODE + a + b).digest() for a, b in zip(level[::2], level[1::2], strict=False)]
        if odd is not None:
            level.append(odd)
    return level[0]


class CompactRange:
    """The right edge of the tree over leaves [0, size): one perfect-subtree root per set bit.

    Appending is amortised O(1) hashing and the state is O(log n) hashes, so a log can keep one
    per tenant in memory and persist ``(size, frontier)`` to restore it without rereading leaves.
    """

    __slots__ = ("_nodes", "_size")

    def __init__(self, size: int = 0, frontier: Iterable[bytes] = ()) -> None:
        nodes = list(frontier)
        if size < 0 or len(nodes) != size.bit_count():
            raise InvalidArgument(f"size {size} does not fit a frontier of {len(nodes)} hashes")
        for node in nodes:
            _require_hash(node, "frontier hash", InvalidArgument)
        self._size, self._nodes = size, nodes

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier(self) -> tuple[bytes, ...]:
        """Roots of the perfect subtrees covering [0, size), largest (leftmost) first."""
        return tuple(self._nodes)

    def append(self, leaf_hash: bytes) -> None:
        _require_hash(leaf_hash, "leaf hash", InvalidArgument)
        nodes, carry = self._nodes, self._size
        nodes.append(leaf_hash)
        while carry & 1:  # merge equal-sized subtrees, as in binary addition
            right = nodes.pop()
            nodes[-1] = node_hash(nodes[-1], right)
            carry >>= 1
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        """MTH of the leaves so far: fold the frontier from the right (smallest subtree first)."""
        if not self._nodes:
            return EMPTY_ROOT
        acc = self._nodes[-1]
        for node in reversed(self._nodes[:-1]):
            acc = node_hash(node, acc)
        return acc


def inclusion_proof(
    leaf_hashes: Sequence[bytes], index: int, size: int, *, subtree_root: SubtreeRoot | None = None
) -> list[bytes]:
    """PATH(index, D[0:size]) (§2.1.3.1), lowest sibling first; each sibling hashed once."""
    _require_stored(size, leaf_hashes)
    if not 0 <= index < size:
        raise InvalidArgument(f"leaf index {index} is not in a tree of size {size}")
    mth = subtree_root or _slicer(leaf_hashes)
    proof, lo, hi = [], 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            proof.append(mth(mid, hi))
            hi = mid
        else:
            proof.append(mth(lo, mid))
            lo = mid
    proof.reverse()
    return proof


def consistency_proof(
    leaf_hashes: Sequence[bytes], old_size: int, new_size: int, *, subtree_root: SubtreeRoot | None = None
) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) = SUBPROOF(m, D[n], true) (§2.1.4.1), for 0 < m <= n."""
    _require_stored(new_size, leaf_hashes)
    if not 0 < old_size <= new_size:
        raise InvalidArgument(
            f"no consistency proof from size {old_size} to {new_size} (need 0 < old <= new)"
        )
    mth = subtree_root or _slicer(leaf_hashes)
    proof, lo, hi, at_root = [], 0, new_size, True
    while old_size != hi:
        mid = lo + _split(hi - lo)
        if old_size <= mid:
            proof.append(mth(mid, hi))
            hi = mid
        else:
            proof.append(mth(lo, mid))
            lo, at_root = mid, False
    if not at_root:
        proof.append(mth(lo, hi))  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
    proof.reverse()
    return proof


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the size-``size`` tree with ``root`` (§2.1.3.2)."""
    if not 0 <= index < size:
        raise InvalidProof(f"leaf index {index} is not in a tree of size {size}")
    _require_hash(leaf_hash, "leaf hash")
    _require_hash(root, "root")
    for i, p in enumerate(proof):
        _require_hash(p, f"proof[{i}]")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise InvalidProof(
                f"inclusion proof of {len(proof)} hashes is too long for leaf {index} of {size}"
            )
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof(f"inclusion proof of {len(proof)} hashes is too short for leaf {index} of {size}")
    if r != root:
        raise InvalidProof(f"inclusion proof for leaf {index} of {size} does not lead to the given root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the size-``new_size`` tree with ``new_root`` extends the old one (§2.1.4.2)."""
    if old_size < 0 or old_size > new_size:
        raise InvalidProof(f"tree size went from {old_size} to {new_size}: a log never shrinks")
    if old_size == 0:
        raise InvalidProof("a consistency proof from the empty tree is meaningless (RFC 9162 needs 0 < old)")
    for i, p in enumerate(proof):
        _require_hash(p, f"proof[{i}]")
    if old_size == new_size:
        if proof:
            raise InvalidProof(f"trees of equal size {old_size} need an empty proof, got {len(proof)} hashes")
        if old_root != new_root:
            raise InvalidProof(f"two different roots for the same tree size {old_size}")
        return
    _require_hash(old_root, "old root")
    _require_hash(new_root, "new root")
    if not proof:  # step 1
        raise InvalidProof(f"empty consistency proof from size {old_size} to {new_size}")
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)  # step 2
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise InvalidProof(
                f"consistency proof of {len(proof)} hashes is too long ({old_size} to {new_size})"
            )
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 7
        raise InvalidProof(
            f"consistency proof of {len(proof)} hashes is too short ({old_size} to {new_size})"
        )
    if fr != old_root:
        raise InvalidProof(f"consistency proof does not lead to the old root (size {old_size})")
    if sr != new_root:
        raise InvalidProof(f"consistency proof does not lead to the new root (size {new_size})")


def _split(n: int) -> int:
    """The largest power of two strictly less than n (n > 1): RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


def _slicer(leaf_hashes: Sequence[bytes]) -> SubtreeRoot:
    return lambda start, end: root(leaf_hashes[start:end])


def _require_stored(size: int, leaf_hashes: Sequence[bytes]) -> None:
    if size > len(leaf_hashes):
        raise InvalidArgument(f"tree size {size} exceeds the {len(leaf_hashes)} leaf hashes given")


def _require_hash(value: bytes, what: str, error: type[Exception] = InvalidProof) -> None:
    if len(value) != HASH_SIZE:
        raise error(f"{what} is {len(value)} bytes, not a {HASH_SIZE}-byte SHA-256 hash")
