"""Path converters. ``{memory_id:ulid}`` only matches ULIDs, so ``/v1/memories/batch``
is never taken for a memory id (PATCH there is a 405, not a 422 about the id)."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class UlidConvertor(Convertor[str]):
    regex = "[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("ulid", UlidConvertor())
