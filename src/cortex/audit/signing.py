"""Ed25519 keys for C2SP signed notes, and the signing key file.

Spec: https://c2sp.org/signed-note — the format of Go's golang.org/x/mod/sumdb/note,
so any Go note verifier (transparency-dev witnesses, sumdb tooling) reads our notes.
The note format itself (sign_note/open_note) lives in checkpoint.py.

    <text ending in "\\n">
    <blank line>
    — <key name> <base64(4-byte big-endian key ID || Ed25519 signature over the text)>

    key ID          = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]
    verifier key    = <name>+<8 hex digit key ID>+<base64(0x01 || public key)>
    signer key      = PRIVATE+KEY+<name>+<8 hex digit key ID>+<base64(0x01 || seed)>

Errors (both plain ``Exception`` subclasses; the lead maps them into ``CortexError``):

    SignatureError   a malformed key string or note, or a signature that does not verify
    KeyFileError     the signing key file cannot be created, read or trusted
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

ED25519 = 0x01  # signed-note signature type byte for Ed25519
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")


class SignatureError(Exception):
    """A key string or signed note is malformed, or a signature does not verify."""


class KeyFileError(Exception):
    """The signing key file cannot be created, read or trusted."""


def b64decode_strict(text: str) -> bytes | None:
    """Decode canonical, padded standard base64 (RFC 4648 §4); ``None`` if it is not."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII input
        return None
    return raw if _b64(raw) == text else None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def is_valid_key_name(name: str) -> bool:
    """signed-note: a key name is non-empty, with no Unicode spaces, controls or ``+``."""
    return bool(name) and "+" not in name and not any(c.isspace() or c < " " for c in name)


def key_id(name: str, public_key: bytes) -> int:
    """The Ed25519 key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4] as a uint32."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class Verifier:
    """A trusted Ed25519 public key and its name; ``key_id`` is derived from both."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise SignatureError(f"invalid key name {self.name!r}: must be non-empty, no spaces or '+'")
        if len(self.public_key) != 32:
            raise SignatureError(f"an Ed25519 public key is 32 bytes, got {len(self.public_key)}")

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public_key)

    @classmethod
    def from_key_string(cls, text: str) -> Verifier:
        """Parse ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        name, _, rest = text.partition("+")
        hex_id, _, key = rest.partition("+")
        raw = b64decode_strict(key)
        if not _HEX8.fullmatch(hex_id) or raw is None or len(raw) != 33 or raw[0] != ED25519:
            raise SignatureError(f"malformed verifier key {text!r}: want <name>+<8 hex>+<base64(0x01||key)>")
        verifier = cls(name, raw[1:])
        if verifier.key_id != int(hex_id, 16):
            raise SignatureError(f"verifier key {text!r}: key id {hex_id} does not match the key")
        return verifier

    def key_string(self) -> str:
        return f"{self.name}+{self.key_id:08x}+{_b64(bytes([ED25519]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:  # also raised for a signature of the wrong length
            return False
        return True


class Signer:
    """A named Ed25519 private key. Its ``repr`` never shows key material."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        raw_public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._verifier = Verifier(name, raw_public)
        self._key = private_key
        self.name = name

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_key_string(cls, text: str) -> Signer:
        """Parse ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`` (errors omit the key)."""
        parts = text.split("+", 4)
        raw = b64decode_strict(parts[4]) if len(parts) == 5 else None
        if parts[:2] != ["PRIVATE", "KEY"] or raw is None or len(raw) != 33 or raw[0] != ED25519:
            raise SignatureError("malformed signer key: want PRIVATE+KEY+<name>+<8 hex>+<base64(0x01||seed)>")
        if not _HEX8.fullmatch(parts[3]):
            raise SignatureError(f"malformed signer key for {parts[2]!r}: key id is not 8 hex digits")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key_id != int(parts[3], 16):
            raise SignatureError(f"signer key for {parts[2]!r}: key id {parts[3]} does not match the key")
        return signer

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    def key_string(self) -> str:
        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{_b64(bytes([ED25519]) + seed)}"

    def verifier(self) -> Verifier:
        return self._verifier

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"Signer({self.name!r}, key_id={self.key_id:08x})"


def load_or_create_signer(path: Path, name: str) -> Signer:
    """Load the signer key at ``path``, creating it (mode 0600) on first use.

    Creation is atomic and never overwrites: the key is written to a 0600 temporary file in
    the same directory and hard-linked into place, so concurrent first runs agree on one key.
    """
    if not path.exists():
        try:
            created = _create(path, Signer.generate(name))
        except OSError as exc:
            raise KeyFileError(f"cannot create signing key file {path}: {exc}") from exc
        if created is not None:
            return created
    return _load(path, name)


def _create(path: Path, signer: Signer) -> Signer | None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp uses 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(signer.key_string() + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    except FileExistsError:
        return None  # another process created it first: load theirs
    finally:
        os.unlink(tmp)
    return signer


def _load(path: Path, name: str) -> Signer:
    try:
        with path.open(encoding="utf-8") as f:
            mode = os.fstat(f.fileno()).st_mode & 0o777
            if os.name == "posix" and mode & 0o077:
                raise KeyFileError(
                    f"signing key file {path} has mode {mode:04o} and is accessible by group or others; "
                    f"refusing to use it. Fix with: chmod 600 {path}"
                )
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read signing key file {path}: {exc}") from exc
    try:
        signer = Signer.from_key_string(text.strip())
    except SignatureError as exc:
        raise KeyFileError(f"signing key file {path} is not a valid signer key: {exc}") from exc
    if signer.name != name:
        raise KeyFileError(f"signing key file {path} holds the key for {signer.name!r}, expected {name!r}")
    return signer
