"""Envelope encryption: master key, keystore, sealing, rotation, crypto-shredding."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from cortex.core.errors import KeyDestroyed, MasterKeyError, StoreCorrupt
from cortex.privacy.keys import KeyStore, LocalMasterKey, open_master_key
from cortex.privacy.sealing import Sealer


def test_key_file_is_created_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "m.key"
    first = LocalMasterKey.from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert LocalMasterKey.from_file(path).key_id == first.key_id


def test_env_key_wins_and_bad_values_are_one_line_errors(tmp_path: Path) -> None:
    raw = base64.b64encode(os.urandom(32)).decode()
    assert open_master_key(raw, tmp_path / "unused").key_id == LocalMasterKey(base64.b64decode(raw)).key_id
    assert not (tmp_path / "unused").exists()
    with pytest.raises(MasterKeyError, match="base64"):
        open_master_key("not base64!!", tmp_path / "x")
    with pytest.raises(MasterKeyError, match="32 bytes"):
        open_master_key(base64.b64encode(b"short").decode(), tmp_path / "x")


def test_seal_round_trip_and_binding(tmp_path: Path) -> None:
    sealer = Sealer(KeyStore(tmp_path / "k.db", LocalMasterKey(os.urandom(32))))
    key = sealer.key("acme", None)
    blob = Sealer.seal(key, "M1", "text", b"Ann's phone is 555-0100")
    assert b"555-0100" not in blob
    assert sealer.open_text("acme", "M1", "text", blob) == "Ann's phone is 555-0100"
    with pytest.raises(StoreCorrupt, match="fails authentication"):
        sealer.open("acme", "M2", "text", blob)  # moved to another row
    with pytest.raises(StoreCorrupt, match="another tenant"):
        sealer.open("globex", "M1", "text", blob)
    tampered = bytearray(blob)
    tampered[40] ^= 1
    with pytest.raises(StoreCorrupt):
        sealer.open("acme", "M1", "text", bytes(tampered))


def test_subject_keys_are_separate_and_destroyed_keys_stay_gone(tmp_path: Path) -> None:
    keystore = KeyStore(tmp_path / "k.db", LocalMasterKey(os.urandom(32)))
    sealer = Sealer(keystore)
    tenant_blob = Sealer.seal(sealer.key("acme", None), "M1", "text", b"tenant data")
    ann_blob = Sealer.seal(sealer.key("acme", "user:ann"), "M2", "text", b"ann data")
    assert sealer.key("acme", "user:ann").key_id != sealer.key("acme", None).key_id
    assert keystore.destroy("acme", "user:ann") == 1
    with pytest.raises(KeyDestroyed):
        sealer.open("acme", "M2", "text", ann_blob)
    assert sealer.open("acme", "M1", "text", tenant_blob) == b"tenant data"
    # a later memory about the same subject gets a fresh key, never the destroyed one
    assert sealer.key("acme", "user:ann").key_id != ann_blob[1:17]
    keystore.close()
    raw = (tmp_path / "k.db").read_bytes()
    assert ann_blob[1:17] not in raw  # the destroyed key's id is gone from the file's pages


def test_rotation_rewraps_without_touching_data(tmp_path: Path) -> None:
    old, new = LocalMasterKey(os.urandom(32)), LocalMasterKey(os.urandom(32))
    keystore = KeyStore(tmp_path / "k.db", old)
    blob = Sealer.seal(Sealer(keystore).key("acme", "s"), "M1", "text", b"kept")
    assert keystore.rotate_master(new) == 1
    keystore.close()
    with pytest.raises(MasterKeyError, match="wrapped by master key"):
        KeyStore(tmp_path / "k.db", old)
    reopened = KeyStore(tmp_path / "k.db", new)
    assert Sealer(reopened).open("acme", "M1", "text", blob) == b"kept"
