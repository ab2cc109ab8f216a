"""Sealing memory fields with AES-GCM under their tenant's or subject's data key.

A sealed value is ``0x01 ‖ key id (16) ‖ nonce (12) ‖ ciphertext+tag``; the associated
data binds it to its tenant, memory and field, so a sealed text copied onto another row
or tenant fails to open. Backend-neutral: the SQLite and PostgreSQL stores both store
the bytes this module returns.

Metadata stays filterable through a *blind index*: one HMAC token per scalar leaf
(``path=value``) and one per present path, keyed by the tenant. Equality filters compare
tokens; the store never holds the values in the clear (docs/security.md says what the
tokens still reveal).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cortex.core.errors import StoreCorrupt
from cortex.privacy.keys import KEY_ID_BYTES, TENANT_KEY, DataKey, KeyStore

VERSION = b"\x01"
_HEADER = 1 + KEY_ID_BYTES + 12


class Sealer:
    """Seals and opens field values; keys come from the keystore, by id when opening."""

    def __init__(self, keystore: KeyStore) -> None:
        self.keystore = keystore
        self._blind: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def key(self, tenant: str, subject: str | None) -> DataKey:
        """The key new values of this tenant/subject are sealed with (looked up per write,
        so a subject erased by another process gets a fresh key, never the destroyed one)."""
        return self.keystore.current(tenant, subject or TENANT_KEY)

    @staticmethod
    def seal(key: DataKey, memory_id: str, field: str, data: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        sealed = key.aead.encrypt(nonce, data, _aad(key.tenant, memory_id, field))
        return VERSION + key.key_id + nonce + sealed

    def open(self, tenant: str, memory_id: str, field: str, blob: bytes | str) -> bytes:
        """The plaintext of a sealed value (a legacy plaintext ``str`` passes through)."""
        if isinstance(blob, str):
            return blob.encode("utf-8")
        if len(blob) < _HEADER + 16 or blob[:1] != VERSION:
            raise StoreCorrupt(f"memory {memory_id}: {field} is not a sealed value")
        key = self.keystore.by_id(bytes(blob[1:1 + KEY_ID_BYTES]))
        if key.tenant != tenant:
            raise StoreCorrupt(f"memory {memory_id}: {field} is sealed for another tenant")
        try:
            return key.aead.decrypt(bytes(blob[1 + KEY_ID_BYTES:_HEADER]), bytes(blob[_HEADER:]),
                                    _aad(tenant, memory_id, field))
        except InvalidTag:
            raise StoreCorrupt(f"memory {memory_id}: {field} fails authentication "
                               "(tampered, or moved from another row)") from None

    def open_text(self, tenant: str, memory_id: str, field: str, blob: bytes | str) -> str:
        return self.open(tenant, memory_id, field, blob).decode("utf-8")

    # ---- the blind index for metadata filters ---------------------------------------------
    def _blind_key(self, tenant: str) -> bytes:
        with self._lock:
            found = self._blind.get(tenant)
            if found is None:
                material = self.keystore.current(tenant, TENANT_KEY).material
                found = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                             info=b"cortex metadata blind index").derive(material)
                self._blind[tenant] = found
            return found

    def value_token(self, tenant: str, path: str, value: Any) -> bytes:
        """The token of ``path == value`` (bools compare as 1/0, integral floats as ints)."""
        body = path.encode("utf-8") + b"\x00=" + _canonical_scalar(value)
        return hmac.new(self._blind_key(tenant), body, hashlib.sha256).digest()[:16]

    def present_token(self, tenant: str, path: str) -> bytes:
        """The token of ``path`` holding a non-null value."""
        return hmac.new(self._blind_key(tenant), path.encode("utf-8") + b"\x00?",
                        hashlib.sha256).digest()[:16]

    def metadata_tokens(self, tenant: str, metadata: Mapping[str, Any]) -> list[bytes]:
        """A value token per scalar leaf, a present token per non-null path (objects and
        lists included: ``path == None`` means missing or null, as json_extract has it)."""
        tokens: list[bytes] = []
        for path, value in scalar_leaves(metadata):
            if value is not None:
                tokens.append(self.value_token(tenant, path, value))
        tokens.extend(self.present_token(tenant, path) for path in present_paths(metadata))
        return tokens

    def forget_tenant_cache(self, tenant: str) -> None:
        with self._lock:
            self._blind.pop(tenant, None)


def scalar_leaves(value: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted paths of the scalar values of nested objects (what metadata filters address)."""
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, Mapping):
            yield from scalar_leaves(item, path + ".")
        elif item is None or isinstance(item, str | int | float | bool):
            yield path, item


def present_paths(value: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths holding anything but null: scalars, objects and lists."""
    for key, item in value.items():
        path = f"{prefix}{key}"
        if item is not None:
            yield path
        if isinstance(item, Mapping):
            yield from present_paths(item, path + ".")


def _canonical_scalar(value: Any) -> bytes:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _aad(tenant: str, memory_id: str, field: str) -> bytes:
    return b"cortex sealed\x00" + tenant.encode() + b"\x00" + memory_id.encode() + b"\x00" + field.encode()


__all__ = ["Sealer", "present_paths", "scalar_leaves"]
