"""Signed tree heads: C2SP signed-note and tlog-checkpoint formats, keys and the key file."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cortex.audit.checkpoint import (
    MAX_SIGNATURES,
    Checkpoint,
    CheckpointError,
    open_note,
    open_signed,
    sign,
    sign_note,
)
from cortex.audit.signing import (
    KeyFileError,
    SignatureError,
    Signer,
    Verifier,
    key_id,
    load_or_create_signer,
)

# The reference vector from golang.org/x/mod/sumdb/note (note_test.go, TestSign/TestOpen).
# Ed25519 is deterministic, so signing with the published private key must reproduce the
# published note byte for byte: that proves our key format, key IDs and note layout.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)
GO_NOTE = GO_TEXT + "\n" + PETER_SIG

ORIGIN = "cortex.example/tenant/acme"
ROOT = bytes(range(32))
SIGNER = Signer.generate(ORIGIN)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --- interop with the Go implementation -------------------------------------------------


def test_go_vector_keys_round_trip() -> None:
    assert Verifier.from_key_string(PETER_VKEY).key_string() == PETER_VKEY
    signer = Signer.from_key_string(PETER_SKEY)
    assert signer.key_string() == PETER_SKEY
    assert signer.verifier() == Verifier.from_key_string(PETER_VKEY)
    assert signer.key_id == 0xC74F20A3


def test_go_vector_signature_is_reproduced_and_verifies() -> None:
    assert sign_note(GO_TEXT, Signer.from_key_string(PETER_SKEY)) == GO_NOTE
    assert open_note(GO_NOTE, [Verifier.from_key_string(PETER_VKEY)]) == GO_TEXT


def test_go_vector_two_signers() -> None:
    peter, enoch = Verifier.from_key_string(PETER_VKEY), Verifier.from_key_string(ENOCH_VKEY)
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [peter]) == GO_TEXT  # Enoch's line is from an unknown key: ignored
    assert open_note(note, [enoch]) == GO_TEXT
    assert open_note(note, [peter, enoch]) == GO_TEXT
    with pytest.raises(SignatureError, match="no signature from a known key"):
        open_note(note, [])


def test_go_vector_corrupt_signature_from_known_key_rejects_the_note() -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(SignatureError, match="invalid signature for key PeterNeumann\\+c74f20a3"):
        open_note(GO_TEXT + "\n" + bad + ENOCH_SIG, [Verifier.from_key_string(PETER_VKEY)])


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_NOTE,
        "\ud800" + GO_NOTE,
        GO_TEXT.replace("\n", "\r\n") + "\r\n" + PETER_SIG,
        GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG.replace("— ", "- "),
        GO_TEXT + "\n" + PETER_SIG.replace("=\n", "\n"),  # unpadded base64
        GO_TEXT + "\n" + "— PeterNeumann AAAA\n",  # too short to hold a key ID and signature
        GO_TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1),
    ],
)
def test_malformed_notes_are_rejected(note: str) -> None:
    with pytest.raises(SignatureError, match="malformed"):
        open_note(note, [Verifier.from_key_string(PETER_VKEY)])


# --- keys ---------------------------------------------------------------------------------


def test_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    verifier = SIGNER.verifier()
    digest = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + verifier.public_key).digest()
    assert verifier.key_id == int.from_bytes(digest[:4], "big") == key_id(ORIGIN, verifier.public_key)
    name, hex_id, key = verifier.key_string().split("+", 2)
    assert (name, hex_id, base64.b64decode(key)) == (ORIGIN, digest[:4].hex(), b"\x01" + verifier.public_key)


def test_signer_key_string_round_trips_and_repr_hides_the_key() -> None:
    text = SIGNER.key_string()
    assert text.startswith(f"PRIVATE+KEY+{ORIGIN}+{SIGNER.key_id:08x}+")
    assert Signer.from_key_string(text).verifier() == SIGNER.verifier()
    assert text.split("+", 4)[4] not in repr(SIGNER)
    assert Verifier.from_key_string(SIGNER.verifier().key_string()) == SIGNER.verifier()


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key ID
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # 7 hex digits
        "PeterNeumann+0xf20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # other name
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # from Go
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
    ],
)
def test_bad_verifier_keys_are_rejected(vkey: str) -> None:
    with pytest.raises(SignatureError):
        Verifier.from_key_string(vkey)


@pytest.mark.parametrize("cut", [1, 12, 20, 30, len(PETER_SKEY) - 1])
def test_bad_signer_keys_are_rejected_without_echoing_the_key(cut: int) -> None:
    mangled = PETER_SKEY[:cut] + PETER_SKEY[cut + 1 :]
    with pytest.raises(SignatureError) as info:
        Signer.from_key_string(mangled)
    assert "AYEKFALV" not in str(info.value)


# --- checkpoints --------------------------------------------------------------------------


def test_round_trip_sign_then_open() -> None:
    checkpoint = Checkpoint(ORIGIN, 42, ROOT, ("ext one", "ext-two"))
    assert open_signed(sign(checkpoint, SIGNER), [SIGNER.verifier()]) == checkpoint


def test_exact_text_layout() -> None:
    note = sign(Checkpoint(ORIGIN, 7, ROOT), SIGNER)
    body, signature_line = note.split("\n\n")
    assert body == f"{ORIGIN}\n7\n{b64(ROOT)}"
    assert signature_line.startswith(f"\u2014 {ORIGIN} ") and signature_line.endswith("\n")
    raw = base64.b64decode(signature_line.removesuffix("\n").split(" ")[2])
    assert raw[:4] == SIGNER.key_id.to_bytes(4, "big") and len(raw) == 4 + 64
    assert note == f"{ORIGIN}\n7\n{b64(ROOT)}\n\n— {ORIGIN} {b64(raw)}\n"


def test_tampering_with_any_character_fails() -> None:
    note = sign(Checkpoint(ORIGIN, 12345, ROOT), SIGNER)
    for i, char in enumerate(note):
        tampered = note[:i] + chr(ord(char) ^ 1) + note[i + 1 :]
        with pytest.raises(SignatureError):
            open_signed(tampered, [SIGNER.verifier()])


def test_signature_from_an_unknown_key_is_ignored() -> None:
    checkpoint = Checkpoint(ORIGIN, 3, ROOT)
    witness = Signer.generate("witness.example/w1")
    rotated = Signer.generate(ORIGIN)  # same name, another key ID
    ours = [SIGNER.verifier()]
    assert open_signed(sign_note(checkpoint.body(), SIGNER, witness, rotated), ours) == checkpoint
    assert open_signed(sign_note(checkpoint.body(), witness, rotated, SIGNER), ours) == checkpoint


def test_wrong_key_name_with_the_right_key_id_fails() -> None:
    note = sign(Checkpoint(ORIGIN, 3, ROOT), SIGNER)
    renamed = note.replace(f"— {ORIGIN} ", "— cortex.example/other ")
    with pytest.raises(SignatureError, match="no signature from a known key"):
        open_signed(renamed, [SIGNER.verifier()])


def test_the_same_verifier_listed_twice_is_fine() -> None:
    note = sign(Checkpoint(ORIGIN, 3, ROOT), SIGNER)
    assert open_signed(note, [SIGNER.verifier(), SIGNER.verifier()]).size == 3


def test_open_signed_checks_the_origin() -> None:
    note = sign(Checkpoint("cortex.example/tenant/bob", 3, ROOT), SIGNER)
    assert open_signed(note, [SIGNER.verifier()], origin="cortex.example/tenant/bob").size == 3
    with pytest.raises(CheckpointError, match=re.escape("expected 'cortex.example/tenant/acme'")):
        open_signed(note, [SIGNER.verifier()], origin=ORIGIN)


def test_a_signed_note_that_is_not_a_checkpoint_is_rejected() -> None:
    with pytest.raises(CheckpointError):
        open_signed(GO_NOTE, [Verifier.from_key_string(PETER_VKEY)])


GOOD_ROOT = b64(ROOT)


@pytest.mark.parametrize(
    "body",
    [
        f"{ORIGIN}\n1\n",  # missing root line
        f"{ORIGIN}\n",
        "",
        f"{ORIGIN}\n1\n{GOOD_ROOT}",  # no final newline
        f"{ORIGIN}\n01\n{GOOD_ROOT}\n",  # leading zero
        f"{ORIGIN}\n00\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n-1\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n+1\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n 1\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n1_0\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n\u0661\n{GOOD_ROOT}\n",  # ARABIC-INDIC DIGIT ONE
        f"{ORIGIN}\n{2**64}\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n{'9' * 5000}\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n1\n{GOOD_ROOT[:-1]}\n",  # unpadded
        f"{ORIGIN}\n1\n{GOOD_ROOT[:-2]}B=\n",  # non-zero padding bits: non-canonical
        f"{ORIGIN}\n1\n{b64(ROOT).replace('A', '-')}\n",  # URL-safe alphabet
        f"{ORIGIN}\n1\n{b64(ROOT[:31])}\n",  # wrong root length
        f"{ORIGIN}\n1\n{b64(ROOT + b'x')}\n",
        f"{ORIGIN}\n1\n\n",
        f"cortex example\n1\n{GOOD_ROOT}\n",  # origin with a space
        f"cortex\texample\n1\n{GOOD_ROOT}\n",
        f"\n1\n{GOOD_ROOT}\n",  # empty origin
        f"{ORIGIN}\r\n1\r\n{GOOD_ROOT}\r\n",  # CR
        f"{ORIGIN}\n1\n{GOOD_ROOT}\r\n",
        f"{ORIGIN}\n1\n{GOOD_ROOT}\n\n",  # empty extension line
        f"{ORIGIN}\n1\n{GOOD_ROOT}\next\n\nmore\n",
    ],
)
def test_parse_rejects_malformed_bodies(body: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(body)


def test_parse_accepts_size_zero_and_extensions() -> None:
    parsed = Checkpoint.parse(f"{ORIGIN}\n0\n{GOOD_ROOT}\nfoo bar\n")
    assert parsed == Checkpoint(ORIGIN, 0, ROOT, ("foo bar",))


@pytest.mark.parametrize(
    "fields",
    [("", 1, ROOT), (ORIGIN, -1, ROOT), (ORIGIN, True, ROOT), (ORIGIN, 1, ROOT[:31]), (ORIGIN, 2**64, ROOT)],
)
def test_invalid_checkpoints_cannot_be_built(fields: tuple[str, int, bytes]) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(*fields)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 1, ROOT, ("ok", "two\nlines"))


_NAME_CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="+")


@given(
    origin=st.text(_NAME_CHARS, min_size=1, max_size=40).filter(lambda s: not any(c.isspace() for c in s)),
    size=st.integers(min_value=0, max_value=2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1), max_size=3),
)
def test_random_checkpoints_round_trip(origin: str, size: int, root: bytes, extensions: list[str]) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(checkpoint.body()) == checkpoint
    assert open_signed(sign(checkpoint, SIGNER), [SIGNER.verifier()], origin=origin) == checkpoint


# --- the key file -------------------------------------------------------------------------


def test_key_file_is_created_0600_and_reloads_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "memories.db.signing-key"
    signer = load_or_create_signer(path, ORIGIN)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == signer.key_string() + "\n"
    assert load_or_create_signer(path, ORIGIN).key_string() == signer.key_string()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary files left


def test_a_group_or_world_readable_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "memories.db.signing-key"
    load_or_create_signer(path, ORIGIN)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="0644") as info:
        load_or_create_signer(path, ORIGIN)
    assert str(path) in str(info.value) and f"chmod 600 {path}" in str(info.value)


def test_a_key_file_for_another_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    load_or_create_signer(path, ORIGIN)
    with pytest.raises(KeyFileError, match=re.escape("expected 'cortex.example/other'")):
        load_or_create_signer(path, "cortex.example/other")


def test_a_corrupt_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text(PETER_SKEY[:-3] + "\n")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="not a valid signer key"):
        load_or_create_signer(path, "PeterNeumann")


def test_a_key_file_in_a_missing_directory_is_a_key_file_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot create"):
        load_or_create_signer(tmp_path / "missing" / "k", ORIGIN)
