"""TUF root-rotation rules on real Ed25519 signatures: every way a version can be refused."""

from __future__ import annotations

import base64
import hashlib
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cortex.governance import (
    ConstitutionError,
    ConstitutionFailure,
    Signature,
    SignedConstitution,
    diff,
    init,
    load,
    sign,
    verify_chain,
    verify_root,
    verify_updates,
)
from tests.governance.conftest import LATER, NOW, Signer, document, envelope

Failure = ConstitutionFailure


def refused(reason: ConstitutionFailure, call: Callable[[], object]) -> str:
    with pytest.raises(ConstitutionError) as caught:
        call()
    assert caught.value.reason is reason, str(caught.value)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def with_signature(signed: SignedConstitution, keyid: str, sig: str) -> SignedConstitution:
    return signed.model_copy(update={"signatures": (*signed.signatures, Signature(keyid=keyid, sig=sig))})


# --- version 1: trust on first use -------------------------------------------------------


def test_root_with_threshold_signatures_is_trusted(signers: list[Signer]) -> None:
    root = envelope(document(1, signers[:3], 2), *signers[:2])
    assert verify_root(root, NOW).version == 1


def test_root_one_signature_short_is_refused(signers: list[Signer]) -> None:
    root = envelope(document(1, signers[:3], 2), signers[0])
    message = refused(Failure.UNDER_SIGNED, lambda: verify_root(root, NOW))
    assert message == "version 1 has 1 valid signature(s) from its own keys; it needs 2"


def test_expired_root_is_refused(signers: list[Signer]) -> None:
    root = envelope(document(1, signers[:1], 1, expires=NOW), signers[0])
    assert "expired at 2030-06-01T12:00:00Z" in refused(Failure.EXPIRED, lambda: verify_root(root, NOW))
    assert verify_root(root, NOW - timedelta(seconds=1)).version == 1


def test_naive_now_is_a_programming_error(signers: list[Signer]) -> None:
    root = envelope(document(1, signers[:1], 1), signers[0])
    with pytest.raises(TypeError):
        verify_root(root, NOW.replace(tzinfo=None))


def test_invalid_document_is_refused_before_signatures(signers: list[Signer]) -> None:
    root = envelope(document(1, signers[:1], 0), signers[0])
    assert "threshold" in refused(Failure.INVALID, lambda: verify_root(root, NOW))


# --- version N+1 --------------------------------------------------------------------------


@pytest.fixture
def v1(signers: list[Signer]) -> SignedConstitution:
    """Version 1: keys 0, 1, 2; two of them must sign version 2."""
    return envelope(document(1, signers[:3], 2), *signers[:3])


def test_next_version_with_k_valid_signatures_passes(v1: SignedConstitution, signers: list[Signer]) -> None:
    v2 = envelope(document(2, signers[:3], 2), signers[0], signers[2])
    assert verify_chain(v1, v2, NOW).version == 2


def test_next_version_with_k_minus_one_signatures_fails(v1: SignedConstitution,
                                                        signers: list[Signer]) -> None:
    v2 = envelope(document(2, signers[:3], 2), signers[1])
    message = refused(Failure.UNDER_SIGNED, lambda: verify_chain(v1, v2, NOW))
    assert message == "version 2 has 1 valid signature(s) from version 1's keys; it needs 2"


def test_same_key_under_two_ids_counts_once(signers: list[Signer]) -> None:
    alias = "alias-of-signer-0"
    data = document(1, signers[:2], 2)
    data["keys"][alias] = signers[0].public  # one key, two ids: still 2 distinct keys
    v1 = envelope(data, *signers[:2])
    v2 = envelope(document(2, signers[:2], 2), signers[0])
    v2 = with_signature(v2, alias, v2.signatures[0].sig)  # the same signature again, under the alias
    refused(Failure.UNDER_SIGNED, lambda: verify_chain(v1, v2, NOW))
    assert verify_chain(v1, sign(v2, signers[1].path), NOW).version == 2


def test_one_key_signing_twice_counts_once(v1: SignedConstitution, signers: list[Signer]) -> None:
    v2 = envelope(document(2, signers[:3], 2), signers[0])
    v2 = with_signature(v2, signers[0].keyid, v2.signatures[0].sig)
    assert len(v2.signatures) == 2
    refused(Failure.UNDER_SIGNED, lambda: verify_chain(v1, v2, NOW))


def test_threshold_above_distinct_keys_is_invalid(signers: list[Signer]) -> None:
    data = document(1, signers[:1], 2)
    data["keys"]["alias"] = signers[0].public
    message = refused(Failure.INVALID, lambda: envelope(data).document())
    assert "threshold 2 exceeds the 1 distinct keys listed" in message


@pytest.mark.parametrize("version", [3, 7])
def test_skipping_a_version_is_refused(v1: SignedConstitution, signers: list[Signer], version: int) -> None:
    candidate = envelope(document(version, signers[:3], 2), *signers[:3])
    message = refused(Failure.VERSION_STEP, lambda: verify_chain(v1, candidate, NOW))
    assert message == f"version {version} skips ahead of trusted version 1; apply version 2 first"


def test_same_version_is_a_rollback(v1: SignedConstitution, signers: list[Signer]) -> None:
    again = envelope(document(1, signers[:3], 2, providers=["local", "openai"]), *signers[:3])
    refused(Failure.ROLLBACK, lambda: verify_chain(v1, again, NOW))


def test_older_version_is_a_rollback(v1: SignedConstitution, signers: list[Signer]) -> None:
    v2 = envelope(document(2, signers[:3], 2), *signers[:3])
    message = refused(Failure.ROLLBACK, lambda: verify_chain(v2, v1, NOW))
    assert message == "version 1 is not newer than trusted version 2 (rollback refused)"


def test_expired_candidate_is_refused(v1: SignedConstitution, signers: list[Signer]) -> None:
    v2 = envelope(document(2, signers[:3], 2, expires=NOW - timedelta(days=1)), *signers[:3])
    refused(Failure.EXPIRED, lambda: verify_chain(v1, v2, NOW))


def test_an_expired_trusted_version_can_still_be_rotated(signers: list[Signer]) -> None:
    old = envelope(document(1, signers[:1], 1, expires=NOW - timedelta(days=30)), signers[0])
    new = envelope(document(2, signers[:1], 1), signers[0])
    assert verify_chain(old, new, NOW).version == 2


@pytest.mark.parametrize("change", [
    lambda d: d["limits"].update(max_memories=10),
    lambda d: d["roles"]["reader"][0]["actions"].append("write"),
    lambda d: d.update(providers=["local", "openai"]),
    lambda d: d.update(expires="2099-01-01T00:00:00Z"),
], ids=["limits", "roles", "providers", "expires"])
def test_any_change_after_signing_breaks_the_signatures(v1: SignedConstitution, signers: list[Signer],
                                                        change: Callable[[dict[str, Any]], None]) -> None:
    v2 = envelope(document(2, signers[:3], 2), *signers[:3])
    change(v2.signed)
    refused(Failure.UNDER_SIGNED, lambda: verify_chain(v1, v2, NOW))


def test_signatures_under_unknown_key_ids_are_ignored(v1: SignedConstitution, signers: list[Signer]) -> None:
    stranger = signers[4]
    v2 = envelope(document(2, signers[:3], 2), stranger, signers[0])
    refused(Failure.UNDER_SIGNED, lambda: verify_chain(v1, v2, NOW))
    assert verify_chain(v1, sign(v2, signers[1].path), NOW).version == 2


@pytest.mark.parametrize("bad_sig", ["not base64!", "", base64.b64encode(b"short").decode(),
                                     base64.b64encode(bytes(64)).decode()])
def test_a_malformed_signature_fails_only_itself(v1: SignedConstitution, signers: list[Signer],
                                                 bad_sig: str) -> None:
    v2 = envelope(document(2, signers[:3], 2), signers[0])
    v2 = with_signature(v2, signers[1].keyid, bad_sig)
    refused(Failure.UNDER_SIGNED, lambda: verify_chain(v1, v2, NOW))
    assert verify_chain(v1, sign(v2, signers[2].path), NOW).version == 2


def test_rotation_to_new_keys_needs_both_thresholds(v1: SignedConstitution, signers: list[Signer]) -> None:
    old, new = signers[:3], signers[3:5]
    data = document(2, new, 2)  # keys 3 and 4 replace 0, 1, 2; both must sign
    only_old = envelope(data, *old)
    assert "from its own keys" in refused(Failure.UNDER_SIGNED, lambda: verify_chain(v1, only_old, NOW))
    only_new = envelope(data, *new)
    assert "from version 1's keys" in refused(Failure.UNDER_SIGNED, lambda: verify_chain(v1, only_new, NOW))
    one_new = envelope(data, old[0], old[1], new[0])
    refused(Failure.UNDER_SIGNED, lambda: verify_chain(v1, one_new, NOW))
    both = envelope(data, old[0], old[1], *new)
    v2 = verify_chain(v1, both, NOW)
    assert set(v2.keys) == {new[0].keyid, new[1].keyid}
    # From now on the old keys have no say.
    v3 = envelope(document(3, new, 2), *old)
    refused(Failure.UNDER_SIGNED, lambda: verify_chain(both, v3, NOW))
    assert verify_chain(both, sign(sign(v3, new[0].path), new[1].path), NOW).version == 3


def test_verify_updates_walks_the_chain_and_only_the_last_must_be_unexpired(signers: list[Signer]) -> None:
    v1 = envelope(document(1, signers[:1], 1, expires=NOW - timedelta(days=9)), signers[0])
    v2 = envelope(document(2, signers[1:2], 1, expires=NOW - timedelta(days=1)), signers[0], signers[1])
    v3 = envelope(document(3, signers[1:2], 1), signers[1])
    assert verify_updates(v1, [v2, v3], NOW).version == 3
    refused(Failure.EXPIRED, lambda: verify_updates(v1, [v2], NOW))
    refused(Failure.VERSION_STEP, lambda: verify_updates(v1, [v3], NOW))
    assert verify_updates(v3, [], NOW).version == 3


# --- init, sign, diff ----------------------------------------------------------------------


def test_init_writes_private_keys_0600_and_a_verifiable_version_1(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    root = init(keys_dir, 3, 2, now=NOW)
    files = sorted(keys_dir.iterdir())
    assert len(files) == 3
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    constitution = verify_root(root, NOW)
    assert (constitution.version, constitution.threshold, len(constitution.keys)) == (1, 2, 3)
    assert constitution.expires == NOW + timedelta(days=365)
    for kid, public in constitution.keys.items():
        assert kid == hashlib.sha256(base64.b64decode(public)).hexdigest()
        assert (keys_dir / f"{kid[:16]}.key").exists()
    assert constitution.providers == ("local",)
    assert {g.actions for g in constitution.roles.reader} == {("read",)}


@pytest.mark.parametrize(("n", "k"), [(3, 0), (2, 3)])
def test_init_refuses_an_unreachable_threshold(tmp_path: Path, n: int, k: int) -> None:
    refused(Failure.INVALID, lambda: init(tmp_path / "keys", n, k))
    assert not (tmp_path / "keys").exists()


def test_sign_replaces_its_own_earlier_signature(signers: list[Signer]) -> None:
    root = envelope(document(1, signers[:1], 1), signers[0], signers[0])
    assert [s.keyid for s in root.signatures] == [signers[0].keyid]


def test_sign_with_a_bad_key_file(tmp_path: Path, signers: list[Signer]) -> None:
    root = envelope(document(1, signers[:1], 1))
    refused(Failure.KEY_FILE, lambda: sign(root, tmp_path / "missing.key"))
    (tmp_path / "junk.key").write_text("not a key")
    refused(Failure.KEY_FILE, lambda: sign(root, tmp_path / "junk.key"))


def test_a_draft_loads_unsigned_and_is_signed_by_each_holder(tmp_path: Path, signers: list[Signer]) -> None:
    draft = tmp_path / "v1.yaml"
    draft.write_text(f"""
version: 1
expires: 2031-01-01T00:00:00Z
threshold: 1
keys: {{{signers[0].keyid}: "{signers[0].public}"}}
roles:
  admin: [{{actions: [read, write, admin]}}]
  writer: [{{actions: [read, write], namespaces: ["team/*"]}}]
  reader: []
limits: {{rate_limit_rps: 10, burst: 20, max_memories: 1000, max_bytes: 1000000}}
""")
    unsigned = load(draft)
    assert unsigned.signatures == ()
    refused(Failure.UNDER_SIGNED, lambda: verify_root(unsigned, NOW))
    constitution = verify_root(sign(unsigned, signers[0].path), NOW)
    assert constitution.roles.writer[0].namespaces == ("team/*",)
    assert constitution.roles.writer[0].kinds == ("*",)
    assert constitution.retention == {} and constitution.privacy == {}


def test_diff_lists_each_change_on_one_line(signers: list[Signer]) -> None:
    old = envelope(document(1, signers[:2], 1)).document()
    data = document(2, signers[1:3], 2, providers=["local", "openai"])
    data["limits"]["burst"] = 400
    data["retention"]["episode"] = 30
    data["privacy"]["email"] = "redact"
    data["roles"]["reader"].append({"actions": ["audit"], "kinds": ["fact"], "namespaces": ["audit/*"]})
    new = envelope(data).document()
    changes = diff(old, new)
    assert f"keys.{signers[0].keyid}: removed (was \"{signers[0].public}\")" in changes
    assert f"keys.{signers[2].keyid}: added \"{signers[2].public}\"" in changes
    for line in ["version: 1 → 2", "threshold: 1 → 2", "limits.burst: 200 → 400",
                 "retention.episode: null → 30", 'privacy.email: "tag" → "redact"',
                 'providers: ["local"] → ["local", "openai"]',
                 'roles.reader[1].actions: added ["audit"]',
                 'roles.reader[1].namespaces: added ["audit/*"]']:
        assert line in changes, changes
    assert len(changes) == 11, changes
    assert diff(new, new) == []


def test_diff_from_no_grants_to_some(signers: list[Signer]) -> None:
    empty = document(1, signers[:1], 1)
    empty["roles"]["reader"] = []
    old = envelope(empty).document()
    new = envelope(document(1, signers[:1], 1)).document()
    assert diff(old, new) == ['roles.reader[0].actions: added ["read"]', 'roles.reader[0].kinds: added ["*"]',
                              'roles.reader[0].namespaces: added ["*"]']


def test_expires_default_is_a_year(tmp_path: Path) -> None:
    assert verify_root(init(tmp_path / "k", 1, 1, now=NOW), NOW).expires == LATER
