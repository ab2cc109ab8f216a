"""`cortex erase`, `cortex export` and `cortex keys rotate-master` on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from cortex.audit.verify import verifier_from, verify_receipt
from cortex.core.models import Receipt

from .conftest import Run
from .helpers import payload


def test_export_then_erase_a_subject(at: Run, tmp_path: Path) -> None:
    made = payload(at("remember", "Ann's flat is on Elm Street", "--subject", "user:ann", "--json"))
    assert made["memory"]["subject"] == "user:ann"
    at("remember", "Bob's flat is on Oak Road", "--subject", "user:bob")

    exported = tmp_path / "ann.json"
    assert at("export", "--subject", "user:ann", "-o", str(exported)).exit_code == 0
    found = json.loads(exported.read_text())
    assert [m["text"] for m in found["memories"]] == ["Ann's flat is on Elm Street"]

    refused = at("erase", "--subject", "user:ann")  # no terminal to confirm on: refused
    assert refused.exit_code == 1 and "--yes" in refused.stderr

    erased = payload(at("erase", "--subject", "user:ann", "--yes", "--json"))
    assert erased["memories"] == 1 and erased["keys_destroyed"] == 1
    key = payload(at("audit", "public-key", "--json"))["public_key"]
    verify_receipt(Receipt.model_validate(erased["receipt"]), verifier_from(key))
    assert payload(at("export", "--subject", "user:ann", "--json"))["memories"] == []
    assert [m["text"] for m in payload(at("export", "--subject", "user:bob", "--json"))["memories"]] == [
        "Bob's flat is on Oak Road"]
    assert at("erase", "--subject", "has space", "--yes").exit_code == 1


def test_rotate_master_rewraps_and_the_data_stays_readable(at: Run, store_url: str, tmp_path: Path) -> None:
    made = payload(at("remember", "a sealed memory", "--subject", "user:ann", "--json"))
    at("remember", "a tenant memory")
    db = Path(store_url.removeprefix("sqlite:///"))
    old_key = Path(f"{db}.master-key").read_text()

    rotated = payload(at("keys", "rotate-master", "--json"))
    assert rotated["rewrapped"] == 2  # the tenant's key and the subject's
    assert rotated["master_key_id"] != rotated["previous_master_key_id"]
    assert Path(f"{db}.master-key").read_text() != old_key
    assert not Path(f"{db}.master-key.new").exists()
    shown = payload(at("show", made["memory"]["id"], "--json"))
    assert shown["memory"]["text"] == "a sealed memory"  # the data was not re-encrypted, only re-wrapped

    # with the old key the keystore no longer opens: one line naming both key ids
    Path(f"{db}.master-key").write_text(old_key)
    wrong = at("stats")
    assert wrong.exit_code == 1 and "wrapped by master key" in wrong.stderr

    # a key given in a file (e.g. from a secret manager) takes over
    new_file = tmp_path / "next.key"
    Path(f"{db}.master-key").write_text(Path(f"{db}.master-key").read_text())  # still the old key
    failed = at("keys", "rotate-master", "--new-key-file", str(new_file))
    assert failed.exit_code == 1  # the current (old) key cannot unwrap the keystore
