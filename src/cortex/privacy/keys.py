"""Envelope encryption keys: a master key wraps per-tenant and per-subject data keys.

The master key only ever wraps and unwraps 32-byte data keys (the KMS interface: a cloud
KMS implements the same two calls). Data keys live in a *keystore* kept apart from the
memories (by default ``<db>.keys`` beside the SQLite file), so a backup of the database
holds ciphertext but no key: destroying a subject's data key (crypto-shredding) makes
every copy of that subject's memories unreadable, backups included.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cortex.core.errors import KeyDestroyed, MasterKeyError

KEY_BYTES = 32
KEY_ID_BYTES = 16
TENANT_KEY = ""  # the subject slot of a tenant's own data key


class MasterKey(Protocol):
    """A KMS-style key-encryption key: wraps data keys, never sees data."""

    key_id: str

    def wrap(self, data_key: bytes, context: bytes) -> bytes: ...
    def unwrap(self, wrapped: bytes, context: bytes) -> bytes: ...


class LocalMasterKey:
    """AES-256-GCM key wrapping with a 32-byte key held by this process."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise MasterKeyError(f"a master key is {KEY_BYTES} bytes; got {len(key)}")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"cortex master key\x00" + key).hexdigest()[:16]

    @classmethod
    def from_base64(cls, value: str) -> LocalMasterKey:
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except binascii.Error:
            raise MasterKeyError("CORTEX_MASTER_KEY is not valid base64 of 32 bytes (make one with "
                                 "`openssl rand -base64 32`)") from None
        return cls(raw)

    @classmethod
    def from_file(cls, path: Path, *, create: bool = True) -> LocalMasterKey:
        """Read the key file (base64, one line); create it 0600 when missing and allowed."""
        if not path.exists():
            if not create:
                raise MasterKeyError(f"master key file {path} does not exist")
            write_key_file(path, secrets.token_bytes(KEY_BYTES))
        return cls.from_base64(path.read_text(encoding="ascii"))

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:12], wrapped[12:], context)
        except InvalidTag:
            raise MasterKeyError(f"master key {self.key_id} cannot unwrap a data key: "
                                    "wrong CORTEX_MASTER_KEY / key file for this keystore?") from None


def write_key_file(path: Path, key: bytes) -> None:
    """Write a base64 key file readable by its owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(key).decode("ascii") + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class DataKey:
    key_id: bytes
    tenant: str
    subject: str
    aead: AESGCM
    material: bytes


_SCHEMA = """
CREATE TABLE IF NOT EXISTS data_keys (
    key_id     BLOB PRIMARY KEY,
    tenant     TEXT NOT NULL,
    subject    TEXT NOT NULL,      -- '' for the tenant's own key
    master_id  TEXT NOT NULL,      -- which master key wraps it (rotation, mismatch errors)
    wrapped    BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS data_keys_current ON data_keys (tenant, subject);
"""


class KeyStore:
    """Data keys in their own SQLite file: created on first use, destroyed on erasure.

    The file uses a rollback journal (not WAL) and ``secure_delete`` so a destroyed key's
    bytes are overwritten in the file itself, not left behind in a log or a free page.
    """

    def __init__(self, path: Path, master: MasterKey) -> None:
        self.path = path
        self.master = master
        self._lock = threading.RLock()
        self._cache: dict[bytes, DataKey] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode = DELETE")
        self._conn.execute("PRAGMA secure_delete = ON")
        self._conn.executescript(_SCHEMA)
        _restrict(path)
        self._check_master()

    def _check_master(self) -> None:
        row = self._conn.execute("SELECT master_id FROM data_keys WHERE master_id <> ? LIMIT 1",
                                 (self.master.key_id,)).fetchone()
        if row is not None:
            raise MasterKeyError(
                f"the keystore {self.path} is wrapped by master key {row[0]}, but the configured "
                f"master key is {self.master.key_id}: set CORTEX_MASTER_KEY / CORTEX_MASTER_KEY_FILE "
                "to the key in use (or finish a rotation with `cortex keys rotate-master`)")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def current(self, tenant: str, subject: str = TENANT_KEY) -> DataKey:
        """The data key that seals new values of this tenant (and subject), made on first use."""
        with self._lock:
            row = self._conn.execute("SELECT key_id, wrapped FROM data_keys WHERE tenant = ? AND subject = ?",
                                     (tenant, subject)).fetchone()
            if row is None:
                with self._write() as conn:
                    row = conn.execute("SELECT key_id, wrapped FROM data_keys"
                                       " WHERE tenant = ? AND subject = ?", (tenant, subject)).fetchone()
                    if row is None:  # another process may have made it meanwhile
                        key_id, material = secrets.token_bytes(KEY_ID_BYTES), secrets.token_bytes(KEY_BYTES)
                        wrapped = self.master.wrap(material, _context(key_id, tenant, subject))
                        conn.execute("INSERT INTO data_keys (key_id, tenant, subject, master_id, wrapped,"
                                     " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                                     (key_id, tenant, subject, self.master.key_id, wrapped, int(time.time())))
                        row = (key_id, wrapped)
            return self._material(bytes(row[0]), tenant, subject, bytes(row[1]))

    def by_id(self, key_id: bytes) -> DataKey:
        """The key that sealed a value; ``KeyDestroyed`` once its subject was erased."""
        cached = self._cache.get(key_id)
        if cached is not None:
            return cached
        with self._lock:
            row = self._conn.execute("SELECT tenant, subject, wrapped FROM data_keys WHERE key_id = ?",
                                     (key_id,)).fetchone()
        if row is None:
            raise KeyDestroyed("this value's data key was destroyed: its subject was erased")
        return self._material(key_id, row[0], row[1], bytes(row[2]))

    def _material(self, key_id: bytes, tenant: str, subject: str, wrapped: bytes) -> DataKey:
        cached = self._cache.get(key_id)
        if cached is None:
            material = self.master.unwrap(wrapped, _context(key_id, tenant, subject))
            cached = DataKey(key_id, tenant, subject, AESGCM(material), material)
            self._cache[key_id] = cached
        return cached

    def has_subject_key(self, tenant: str, subject: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM data_keys WHERE tenant = ? AND subject = ?",
                                      (tenant, subject)).fetchone() is not None

    def destroy(self, tenant: str, subject: str) -> int:
        """Crypto-shred: delete the subject's data key, its bytes overwritten in the file."""
        if subject == TENANT_KEY:
            raise ValueError("a tenant key is not destroyed through subject erasure")
        with self._write() as conn:
            ids = [bytes(r[0]) for r in conn.execute(
                "SELECT key_id FROM data_keys WHERE tenant = ? AND subject = ?", (tenant, subject))]
            conn.execute("DELETE FROM data_keys WHERE tenant = ? AND subject = ?", (tenant, subject))
        for key_id in ids:
            self._cache.pop(key_id, None)
        return len(ids)

    def rotate_master(self, new: MasterKey) -> int:
        """Re-wrap every data key under ``new`` in one transaction; no data is re-encrypted."""
        with self._write() as conn:
            rows = conn.execute("SELECT key_id, tenant, subject, wrapped, master_id"
                                " FROM data_keys").fetchall()
            for key_id, tenant, subject, wrapped, master_id in rows:
                if master_id == new.key_id:
                    continue
                context = _context(bytes(key_id), tenant, subject)
                material = self.master.unwrap(bytes(wrapped), context)
                conn.execute("UPDATE data_keys SET wrapped = ?, master_id = ? WHERE key_id = ?",
                             (new.wrap(material, context), new.key_id, key_id))
        self.master = new
        return len(rows)

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM data_keys").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._cache.clear()


def _context(key_id: bytes, tenant: str, subject: str) -> bytes:
    """What a wrapped key is bound to: moving it to another tenant or subject fails."""
    return b"cortex data key\x00" + key_id + b"\x00" + tenant.encode() + b"\x00" + subject.encode()


def _restrict(path: Path) -> None:
    try:
        os.chmod(path, 0o600)
    except OSError:  # e.g. a filesystem without modes; the key material is wrapped anyway
        pass


def open_master_key(env_value: str | None, key_file: Path) -> LocalMasterKey:
    """``CORTEX_MASTER_KEY`` when set, else the key file (created on first use)."""
    if env_value:
        return LocalMasterKey.from_base64(env_value)
    return LocalMasterKey.from_file(key_file)


__all__ = [
    "TENANT_KEY",
    "DataKey",
    "KeyDestroyed",
    "KeyStore",
    "LocalMasterKey",
    "MasterKey",
    "MasterKeyError",
    "open_master_key",
    "write_key_file",
]
