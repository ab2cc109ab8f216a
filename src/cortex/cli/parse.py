"""Turning command-line strings into the values the engine takes."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from cortex.core.errors import InvalidInput, InvalidMetadata, InvalidText

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def meta_pairs(pairs: list[str] | None) -> dict[str, Any]:
    """``["year=2023", "who=Ann"]`` to ``{"year": 2023, "who": "Ann"}`` (JSON values, else text)."""
    result: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidMetadata(f"--meta {pair!r} must look like KEY=VALUE", field="metadata")
        result[key.strip()] = _json_or_text(raw)
    return result


def _json_or_text(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def json_object(raw: str | None, option: str) -> dict[str, Any]:
    """A JSON object given on the command line, e.g. ``--metadata-json '{"a": 1}'``."""
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidMetadata(f"{option} is not valid JSON: {exc}", field=option) from None
    if not isinstance(value, dict):
        raise InvalidMetadata(f"{option} must be a JSON object", field=option)
    return value


def text_arg(value: str) -> str:
    """A TEXT argument; ``-`` reads it from standard input."""
    if value != "-":
        return value
    data = sys.stdin.read()
    if not data.strip():
        raise InvalidText("text from standard input is empty", field="text")
    return data.rstrip("\n")


def duration(value: str | None) -> float | None:
    """``--ttl``: seconds, or a number with a unit: 90, 30m, 12h, 7d, 2w."""
    if value is None:
        return None
    match = _DURATION.match(value)
    if match is None or float(match.group(1)) <= 0:
        raise InvalidInput(f"--ttl {value!r} must be a positive duration such as 3600, 30m, "
                           "12h, 7d or 2w", field="ttl")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def source(speaker: str | None, session: str | None, raw: str | None) -> dict[str, Any] | None:
    """``--source-json`` with ``--speaker``/``--session`` laid over it."""
    result = json_object(raw, "--source-json")
    if speaker is not None:
        result["speaker"] = speaker
    if session is not None:
        result["session"] = session
    return result or None
