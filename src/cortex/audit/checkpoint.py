"""Signed tree heads ("checkpoints") for a tenant's audit log, as C2SP signed notes.

Specs: https://c2sp.org/tlog-checkpoint for the body, https://c2sp.org/signed-note for the
envelope (the formats of transparency-dev checkpoints and golang.org/x/mod/sumdb/note):

    cortex.example/tenant/acme                      origin: the log's unique identity
    42                                              tree size, decimal, no leading zeros
    Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV4cXV1eHE=      base64 (std, padded) of the 32-byte root
    [extension lines, each non-empty]
    <blank line>
    — <key name> <base64(4-byte key ID || Ed25519 signature over everything above the blank)>

Errors: SignatureError (signing.py) for a malformed note or a bad or missing signature;
CheckpointError for a body that is not a well-formed checkpoint.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cortex.audit.signing import SignatureError, Signer, Verifier, b64decode_strict, is_valid_key_name

MAX_SIGNATURES = 100  # signed-note: verifiers SHOULD cap this and MUST accept at least 16
MAX_TREE_SIZE = 2**64 - 1  # Go and transparency-dev read the tree size as a uint64
_SIG_PREFIX = "\u2014 "  # EM DASH, SPACE
_TREE_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")  # ASCII digits only, no leading zeros


class CheckpointError(Exception):
    """A checkpoint body is malformed, or is for another log than the one expected."""


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: its origin, tree size and RFC 6962 root hash (tlog-checkpoint)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Stricter than the spec's SHOULD: the origin must also be usable as a key name.
        if not is_valid_key_name(self.origin):
            raise CheckpointError(f"invalid origin {self.origin!r}: must be non-empty, no spaces or '+'")
        if type(self.size) is not int or not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"invalid tree size {self.size!r}: must be an int in [0, 2**64)")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise CheckpointError(f"root hash must be 32 bytes, got {self.root!r}")
        if not isinstance(self.extensions, tuple):
            raise CheckpointError("extensions must be a tuple of lines")
        for line in self.extensions:
            if not line or any(c < " " for c in line):
                raise CheckpointError(f"invalid extension line {line!r}: must be non-empty, no controls")

    def body(self) -> str:
        """The note text: origin, size, base64 root, extensions, each ending in a newline."""
        root = base64.b64encode(self.root).decode("ascii")
        return "".join(f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions))

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint body strictly: ``parse(c.body()) == c`` and nothing else parses."""
        if not body.endswith("\n") or any(c < " " and c != "\n" for c in body):
            raise CheckpointError("checkpoint body must end with a newline and hold no CR or controls")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError(f"checkpoint has {len(lines)} lines; want origin, tree size, root hash")
        origin, size, root, *extensions = lines
        if not _TREE_SIZE.fullmatch(size):
            raise CheckpointError(f"tree size {size!r} is not a decimal number without leading zeros")
        raw = b64decode_strict(root)
        if raw is None:
            raise CheckpointError(f"root hash {root!r} is not canonical padded base64")
        return cls(origin, int(size), raw, tuple(extensions))


def sign(checkpoint: Checkpoint, signer: Signer) -> str:
    """Return the signed note for ``checkpoint`` (body, blank line, one signature line)."""
    return sign_note(checkpoint.body(), signer)


def open_signed(note_text: str, verifiers: Sequence[Verifier], *, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint (see ``open_note``) and parse its body.

    Pass ``origin`` to also require the checkpoint to be for that log: one key may sign
    the checkpoints of several tenants' logs, so a valid signature alone does not say which.
    """
    checkpoint = Checkpoint.parse(open_note(note_text, verifiers))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}")
    return checkpoint


def _check_chars(text: str, what: str) -> None:
    """signed-note: valid UTF-8 with no control characters other than newline."""
    if any((c < " " and c != "\n") or "\ud800" <= c <= "\udfff" for c in text):
        raise SignatureError(f"malformed {what}: control character or invalid UTF-8")


def sign_note(text: str, *signers: Signer) -> str:
    """Return the signed note: ``text``, a blank line, one signature line per signer."""
    _check_chars(text, "note text")
    if not text.endswith("\n") or not signers:
        raise SignatureError("a note text must end with a newline and have at least one signer")
    message = text.encode()
    lines = [f"{_SIG_PREFIX}{s.name} {_sig(s, message)}\n" for s in signers]
    return text + "\n" + "".join(lines)


def open_note(note: str, verifiers: Sequence[Verifier]) -> str:
    """Verify a signed note and return its text (including the final newline).

    Per signed-note: a line from an unknown (name, key ID) is ignored; a line from a known
    key must verify; at least one known key must have signed.
    """
    _check_chars(note, "note")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n") or split + 2 == len(note):
        raise SignatureError("malformed note: want text, a blank line, then signature lines")
    text, lines = note[: split + 1], note[split + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise SignatureError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    known: dict[tuple[str, int], Verifier] = {}
    for v in verifiers:
        if known.setdefault((v.name, v.key_id), v) != v:
            raise SignatureError(f"ambiguous verifiers: two keys named {v.name}+{v.key_id:08x}")
    message, verified = text.encode(), 0
    for line in lines:
        name, _, encoded = line.removeprefix(_SIG_PREFIX).partition(" ")
        raw = b64decode_strict(encoded)
        if not line.startswith(_SIG_PREFIX) or not is_valid_key_name(name) or raw is None or len(raw) < 5:
            raise SignatureError(f"malformed signature line {line!r}")
        verifier = known.get((name, int.from_bytes(raw[:4], "big")))
        if verifier is None:
            continue
        if not verifier.verify(message, raw[4:]):
            raise SignatureError(f"invalid signature for key {name}+{raw[:4].hex()}")
        verified += 1
    if not verified:
        names = ", ".join(f"{n}+{i:08x}" for n, i in known) or "none"
        raise SignatureError(f"note has no signature from a known key (known keys: {names})")
    return text


def _sig(signer: Signer, message: bytes) -> str:
    return base64.b64encode(signer.key_id.to_bytes(4, "big") + signer.sign(message)).decode("ascii")
