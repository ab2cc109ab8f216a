"""JSON and YAML load to the same signed bytes; canonical JSON is stable and strict."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cortex.governance import (
    ConstitutionError,
    ConstitutionFailure,
    SignedConstitution,
    canonical_json,
    dump,
    dumps,
    load,
    loads,
    verify_root,
)
from tests.governance.conftest import NOW, Signer, document, envelope


def test_canonical_json_is_sorted_compact_utf8() -> None:
    value = {"b": [1, 2.5, None, True], "a": {"é": "naïve ✓", "z": "", "A": 0}}
    assert canonical_json(value) == '{"a":{"A":0,"z":"","é":"naïve ✓"},"b":[1,2.5,null,true]}'.encode()


def test_canonical_json_ignores_key_order_and_whitespace() -> None:
    one = json.loads('{"x": 1, "y": {"b": 2, "a": [3, {"d": 4, "c": 5}]}}')
    two = json.loads('{ "y" : { "a" : [ 3 , { "c" : 5 , "d" : 4 } ] , "b" : 2 } , "x" : 1 }')
    assert canonical_json(one) == canonical_json(two)


@pytest.mark.parametrize("value", [{"x": math.nan}, {"x": math.inf}, {"x": {1, 2}}, {"x": b"bytes"}])
def test_canonical_json_refuses_what_json_cannot_say(value: dict[str, Any]) -> None:
    with pytest.raises(ConstitutionError) as caught:
        canonical_json(value)
    assert caught.value.reason is ConstitutionFailure.INVALID


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_canonical_json_is_a_fixed_point(value: Any) -> None:
    once = canonical_json(value)
    assert canonical_json(json.loads(once)) == once


@example({"\x85": None})  # PyYAML writes U+0085 raw in a key, then reads it as a line break
@given(JSON_VALUES)
def test_yaml_and_json_carry_any_json_value_to_the_same_bytes(value: Any) -> None:
    signed = SignedConstitution.from_data({"signed": {"any": value}, "signatures": []})
    assert loads(dumps(signed, "yaml"), "yaml").payload() == signed.payload()
    assert loads(dumps(signed, "json"), "json").payload() == signed.payload()


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_signatures_survive_a_round_trip_through_either_format(tmp_path: Path, signers: list[Signer],
                                                               fmt: str) -> None:
    root = envelope(document(1, signers[:2], 2), *signers[:2])
    path = tmp_path / f"constitution.{fmt}"
    dump(root, path)
    loaded = load(path)
    assert loaded.payload() == root.payload()
    assert verify_root(loaded, NOW).version == 1


def test_yaml_and_json_of_one_document_sign_the_same_bytes(tmp_path: Path, signers: list[Signer]) -> None:
    root = envelope(document(1, signers[:1], 1), signers[0])
    from_json = loads(dumps(root, "json"), "json")
    from_yaml = loads(dumps(root, "yaml"), "yaml")
    assert from_json.payload() == from_yaml.payload() == root.payload()
    assert from_yaml.signatures == root.signatures


def test_yml_suffix_and_an_unquoted_yaml_time(tmp_path: Path, signers: list[Signer]) -> None:
    data = document(1, signers[:1], 1)
    text = dumps(envelope(data, signers[0]), "yaml").replace("'2031-06-01T12:00:00Z'", "2031-06-01T12:00:00Z")
    assert "expires: 2031-06-01T12:00:00Z" in text
    path = tmp_path / "c.yml"
    path.write_text(text)
    loaded = load(path)
    assert loaded.signed["expires"] == "2031-06-01T12:00:00Z"  # a string, as signed
    assert verify_root(loaded, NOW).version == 1


@pytest.mark.parametrize(("fmt", "text", "expected"), [
    ("json", '{"version": 1, "version": 2}', "key 'version' appears twice"),
    ("yaml", "version: 1\nversion: 2\n", "key 'version' appears twice in one mapping (line 2)"),
    ("json", "{not json", "not valid JSON"),
    ("yaml", "a: [unclosed\n", "not valid YAML"),
    ("yaml", "base: &a {x: 1}\nother: *a\n", "anchors and aliases are not allowed"),
    ("yaml", "1: one\n", "YAML key 1 is not a string"),
    ("yaml", "x: !!binary aGk=\n", "YAML tag tag:yaml.org,2002:binary is not allowed"),
    ("json", '{"signed": {}, "signatures": [{"keyid": "a"}]}', "signatures.0.sig: Field required"),
    ("json", "[1, 2]", "signed envelope is invalid"),
    ("json", '{"version": NaN}', "not plain JSON data"),
])
def test_malformed_files_are_invalid_with_one_line(fmt: Any, text: str, expected: str) -> None:
    with pytest.raises(ConstitutionError) as caught:
        loads(text, fmt).document()
    assert caught.value.reason is ConstitutionFailure.INVALID
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_unreadable_files(tmp_path: Path, signers: list[Signer]) -> None:
    for path in (tmp_path / "missing.json", tmp_path / "c.toml"):
        with pytest.raises(ConstitutionError) as caught:
            load(path)
        assert caught.value.reason is ConstitutionFailure.UNREADABLE
    with pytest.raises(ConstitutionError) as caught:
        dump(envelope(document(1, signers[:1], 1)), tmp_path / "no" / "dir.json")
    assert caught.value.reason is ConstitutionFailure.UNREADABLE
