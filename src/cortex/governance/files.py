"""Reading and writing constitutions as JSON or YAML (chosen by suffix: .json, .yaml, .yml).

Both formats load to the same plain JSON data, which is what gets signed. Duplicate keys
are refused (two parsers could pick different ones), YAML times stay strings (the
document validates them), and YAML anchors/aliases are refused (no alias bombs).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml

from cortex.governance.errors import ConstitutionError, ConstitutionFailure
from cortex.governance.signing import SignedConstitution

Format = Literal["json", "yaml"]
_SCALARS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"}


def load(path: str | os.PathLike[str]) -> SignedConstitution:
    """A signed envelope, or a bare document as an unsigned envelope (a draft to sign)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConstitutionError(ConstitutionFailure.UNREADABLE,
                                f"cannot read constitution {os.fspath(path)}: {exc}") from None
    return loads(text, format_of(path))


def loads(text: str, fmt: Format) -> SignedConstitution:
    data = _parse_yaml(text) if fmt == "yaml" else _parse_json(text)
    return SignedConstitution.from_data(data)


def dump(envelope: SignedConstitution, path: str | os.PathLike[str]) -> None:
    try:
        Path(path).write_text(dumps(envelope, format_of(path)), encoding="utf-8")
    except OSError as exc:
        raise ConstitutionError(ConstitutionFailure.UNREADABLE,
                                f"cannot write constitution {os.fspath(path)}: {exc.strerror}") from None


def dumps(envelope: SignedConstitution, fmt: Format) -> str:
    """Readable text; loading it back gives the same canonical bytes, so signatures hold."""
    data = envelope.to_data()
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    text = str(yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False))
    if loads(text, "yaml").payload() != envelope.payload():
        # PyYAML writes a few characters (e.g. U+0085 in a key) raw that it then reads as line breaks.
        text = str(yaml.safe_dump(data, sort_keys=True, allow_unicode=False, default_flow_style=False))
    return text


def format_of(path: str | os.PathLike[str]) -> Format:
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise ConstitutionError(ConstitutionFailure.UNREADABLE,
                            f"{os.fspath(path)}: use a .json, .yaml or .yml file")


def _parse_json(text: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        if len(set(keys)) != len(keys):
            duplicate = next(key for key in keys if keys.count(key) > 1)
            raise _invalid(f"key {duplicate!r} appears twice in one object")
        return dict(items)

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise _invalid(f"not valid JSON: {exc}") from None


def _parse_yaml(text: str) -> Any:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _invalid("not valid YAML: " + " ".join(str(exc).split())) from None
    return None if root is None else _node(root, set())


def _node(node: Any, seen: set[int]) -> Any:
    if id(node) in seen:
        raise _invalid(f"YAML anchors and aliases are not allowed (line {node.start_mark.line + 1})")
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _node(key_node, seen)
            if not isinstance(key, str):
                raise _invalid(f"YAML key {key!r} is not a string (line {key_node.start_mark.line + 1})")
            if key in out:
                raise _invalid(f"key {key!r} appears twice in one mapping "
                               f"(line {key_node.start_mark.line + 1})")
            out[key] = _node(value_node, seen)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_node(item, seen) for item in node.value]
    if node.tag == "tag:yaml.org,2002:timestamp":
        return str(node.value)  # the document validates times itself
    if node.tag not in _SCALARS:
        raise _invalid(f"YAML tag {node.tag} is not allowed (line {node.start_mark.line + 1})")
    return yaml.SafeLoader("").construct_object(node)


def _invalid(message: str) -> ConstitutionError:
    return ConstitutionError(ConstitutionFailure.INVALID, f"constitution is invalid: {message}")


__all__ = ["dump", "dumps", "format_of", "load", "loads"]
