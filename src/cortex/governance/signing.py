"""Canonical JSON, Ed25519 keys and the TUF-style signed envelope.

    {"signed": <document>, "signatures": [{"keyid": "<hex sha256>", "sig": "<base64>"}]}

What is signed is the canonical JSON of ``signed`` exactly as loaded: keys sorted, no
whitespace, UTF-8, no NaN/Infinity. Any change to the body after signing breaks every
signature. A key id is the hex SHA-256 of the raw 32-byte public key; signatures are
counted by key bytes, so one key listed under two ids (or signing twice) counts once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, ValidationError

from cortex.governance.document import Constitution, one_line, parse_document
from cortex.governance.errors import ConstitutionError, ConstitutionFailure


def canonical_json(value: Any) -> bytes:
    """The bytes that get signed: sorted keys, no whitespace, UTF-8 (not \\u-escaped)."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConstitutionError(ConstitutionFailure.INVALID,
                                f"constitution is not plain JSON data: {exc}") from None
    return text.encode("utf-8")


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """Hex SHA-256 of the raw public key bytes."""
    return hashlib.sha256(raw_public_key(key)).hexdigest()


def public_key_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public_key(key)).decode("ascii")


class Signature(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    keyid: str
    sig: str


class SignedConstitution(BaseModel):
    """The envelope. ``signed`` is kept as loaded (plain JSON data) because it is what is signed."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    signed: dict[str, Any]
    signatures: tuple[Signature, ...] = ()

    @classmethod
    def from_data(cls, data: Any) -> SignedConstitution:
        """An envelope from loaded data; a bare document becomes an unsigned envelope."""
        if isinstance(data, Mapping) and "signed" not in data and "signatures" not in data:
            data = {"signed": data, "signatures": []}
        try:
            return cls.model_validate_json(canonical_json(data))
        except ValidationError as exc:
            raise ConstitutionError(ConstitutionFailure.INVALID,
                                    f"signed envelope is invalid: {one_line(exc)}") from None

    @classmethod
    def unsigned(cls, document: Constitution) -> SignedConstitution:
        return cls.from_data({"signed": document.model_dump(mode="json"), "signatures": []})

    def payload(self) -> bytes:
        return canonical_json(self.signed)

    def document(self) -> Constitution:
        return parse_document(self.payload())

    def to_data(self) -> dict[str, Any]:
        return {"signed": self.signed, "signatures": [s.model_dump() for s in self.signatures]}


def signers(envelope: SignedConstitution, keys: Mapping[str, str]) -> set[bytes]:
    """Raw bytes of the distinct ``keys`` with a valid signature on the envelope.

    Unknown key ids are ignored; a malformed or wrong signature fails only itself.
    """
    payload = envelope.payload()
    good: set[bytes] = set()
    for signature in envelope.signatures:
        encoded = keys.get(signature.keyid)
        if encoded is None:
            continue
        try:
            raw = base64.b64decode(encoded, validate=True)
            Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(signature.sig, validate=True),
                                                           payload)
        except (binascii.Error, ValueError, InvalidSignature):
            continue
        good.add(raw)
    return good


def sign(envelope: SignedConstitution, private_key_file: str | os.PathLike[str], *,
         keyid: str | None = None) -> SignedConstitution:
    """A new envelope with this key's signature added (replacing its earlier one, if any).

    ``keyid`` defaults to the key's hex SHA-256, the id ``init`` lists keys under.
    """
    key = load_private_key(private_key_file)
    keyid = keyid or key_id(key.public_key())
    sig = base64.b64encode(key.sign(envelope.payload())).decode("ascii")
    kept = tuple(s for s in envelope.signatures if s.keyid != keyid)
    return envelope.model_copy(update={"signatures": (*kept, Signature(keyid=keyid, sig=sig))})


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise ConstitutionError(ConstitutionFailure.KEY_FILE,
                                f"cannot read key file {os.fspath(path)}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise ConstitutionError(ConstitutionFailure.KEY_FILE,
                                f"{os.fspath(path)} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConstitutionError(ConstitutionFailure.KEY_FILE, f"{os.fspath(path)} is not an Ed25519 key")
    return key


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """PKCS#8 PEM, created 0600 and never over an existing file."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConstitutionError(ConstitutionFailure.KEY_FILE,
                                f"{path} already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise ConstitutionError(ConstitutionFailure.KEY_FILE,
                                f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


__all__ = [
    "Signature",
    "SignedConstitution",
    "canonical_json",
    "key_id",
    "load_private_key",
    "public_key_b64",
    "sign",
    "signers",
]
