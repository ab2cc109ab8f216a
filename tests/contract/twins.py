"""Two engines, one scenario: every call runs on SQLite and on PostgreSQL, results compared.

The engine gives each memory a fresh ULID, so the two backends never hand out the same
ids for the same write. ``Pair`` names them instead: the n-th memory either backend
creates in a scenario is ``m<n>`` on both sides, bound position by position as the
results come back (``Pair.write``). A backend that returns an existing memory where the
other creates a new one, or a different existing one, fails at that point. Results are
then compared in *canonical* form (``Pair.canon``): ids replaced by names and times set by
each backend's own clock (``created_at``, ``valid_from``, ``valid_to``, ``expires_at``,
audit ``at``) reduced to whether they are set; everything else must be equal.

ULIDs from one process are monotonic (python-ulid's default generator), so the same
writes in the same order give ids in the same order on both sides: ``list`` (newest
first, by id) and ties in recall (broken by id) must come out in the same order too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from cortex import Cortex
from cortex.core.config import Settings
from cortex.core.models import ApiKey, Hit, Memory, Receipt, RememberResult
from cortex.embed import CachingEmbedder
from cortex.tenancy.keys import IssuedKey
from cortex.wiring import open_engine
from cortex.working import WorkingMessage

BACKENDS = ("sqlite", "postgres")
T = TypeVar("T")
Ids = Callable[[str], str]  # a name → this backend's id
Call = Callable[[Cortex, Ids], T]
_CLOCK = ("created_at", "valid_from", "valid_to", "expires_at")


class Pair:
    """A SQLite engine and a PostgreSQL engine over the same embedder and signing key."""

    def __init__(self, sqlite: Cortex, postgres: Cortex) -> None:
        self.sqlite, self.postgres = sqlite, postgres
        self.engines = (sqlite, postgres)
        self._names: tuple[dict[str, str], dict[str, str]] = ({}, {})  # id → name
        self._ids: tuple[dict[str, str], dict[str, str]] = ({}, {})  # name → id

    # ---- running a call on both --------------------------------------------------
    def each(self, call: Call[T]) -> tuple[T, T]:
        """``call(engine, ids)`` on SQLite, then on PostgreSQL; ``ids(name)`` is that side's id."""
        first = call(self.sqlite, lambda name: self.id(0, name))
        second = call(self.postgres, lambda name: self.id(1, name))
        return first, second

    def same(self, call: Call[T]) -> T:
        """Run ``call`` on both; the canonical results must be equal. Returns SQLite's."""
        first, second = self.each(call)
        self.assert_same(first, second)
        return first

    def write(self, call: Call[T], prefix: str = "m") -> T:
        """``same`` for a call that creates memories or keys: their ids are named first."""
        return self.write_each(call, prefix)[0]

    def write_each(self, call: Call[T], prefix: str = "m") -> tuple[T, T]:
        """``write``, returning both sides' results (e.g. API keys: each side's secret)."""
        first, second = self.each(call)
        self.bind(_ids_in(first), _ids_in(second), prefix)
        self.assert_same(first, second)
        return first, second

    def fails(self, call: Call[Any]) -> type[BaseException]:
        """Both sides raise, the same error class; returns it."""
        raised: list[type[BaseException] | None] = []
        for side, engine in enumerate(self.engines):
            try:
                call(engine, lambda name, side=side: self.id(side, name))
            except Exception as exc:
                raised.append(type(exc))
            else:
                raised.append(None)
        assert raised[0] is not None and raised[0] == raised[1], (
            f"errors differ: sqlite raised {raised[0]}, postgres raised {raised[1]}")
        return raised[0]

    # ---- names -------------------------------------------------------------------
    def bind(self, first: Sequence[str], second: Sequence[str], prefix: str = "m") -> list[str]:
        """Pair ids position by position: both new (a fresh name) or both the same name."""
        assert len(first) == len(second), f"{len(first)} ids from sqlite, {len(second)} from postgres"
        names = []
        for position, (a, b) in enumerate(zip(first, second, strict=True)):
            known = self._names[0].get(a), self._names[1].get(b)
            if known == (None, None):
                name = f"{prefix}{sum(n.startswith(prefix) for n in self._ids[0])}"
                for side, value in enumerate((a, b)):
                    self._names[side][value] = name
                    self._ids[side][name] = value
                known = (name, name)
            assert known[0] == known[1], (
                f"position {position}: sqlite gave {known[0] or 'a new id'}, "
                f"postgres gave {known[1] or 'a new id'}")
            names.append(str(known[0]))
        return names

    def id(self, side: int, name: str) -> str:
        return self._ids[side][name]

    def name(self, side: int, value: str | None) -> str | None:
        if not value:  # None, or "" (an audit receipt about no memory)
            return value
        return self._names[side].get(value, f"unknown:{value}")

    def names(self, side: int, hits: Sequence[Hit | Memory]) -> list[str | None]:
        """The names of recall hits or listed memories, in order."""
        return [self.name(side, h.memory.id if isinstance(h, Hit) else h.id) for h in hits]

    def found(self, results: tuple[Sequence[Hit | Memory], Sequence[Hit | Memory]], *,
              ordered: bool = True) -> dict[str, list[str | None]]:
        """Both sides' hits or memories by name, keyed by backend (sorted unless ``ordered``):
        compare with ``both(expected)`` so a failure shows which side is off."""
        out = {}
        for side, backend in enumerate(BACKENDS):
            names = self.names(side, results[side])
            out[backend] = names if ordered else sorted(names, key=natural)
        return out

    # ---- canonical form ----------------------------------------------------------
    def assert_same(self, first: Any, second: Any) -> None:
        a, b = self.canon(0, first), self.canon(1, second)
        if a != b:
            raise AssertionError("sqlite and postgres differ:\n" + _diff(a, b))

    def canon(self, side: int, value: Any) -> Any:
        if isinstance(value, Memory):
            return self._memory(side, value)
        if isinstance(value, Hit):
            return {"memory": self._memory(side, value.memory), "origin": value.origin}
        if isinstance(value, RememberResult):
            return {"memory": self._memory(side, value.memory), "created": value.created,
                    "duplicate_of": self.name(side, value.duplicate_of),
                    "receipt": self.canon(side, value.receipt)}
        if isinstance(value, Receipt):
            return {"tenant": value.tenant, "memory_id": self.name(side, value.memory_id),
                    "leaf_index": value.leaf_index, "event": self.event(side, value.event),
                    "checkpoint": value.checkpoint is not None,
                    "proof": None if value.proof is None else len(value.proof)}
        if isinstance(value, ApiKey):
            dumped = value.model_dump()
            return {**dumped, "id": self.name(side, value.id), "created_at": True,
                    "revoked_at": value.revoked_at is not None}
        if isinstance(value, IssuedKey):  # the secret differs, its form does not
            return {"record": self.canon(side, value.record), "key": value.key.split("_")[:1]}
        if isinstance(value, WorkingMessage):
            return value.model_dump(exclude={"id", "at"})
        if isinstance(value, BaseModel):
            return self.canon(side, value.model_dump())
        if isinstance(value, dict):
            return {self._names[side].get(k, k) if isinstance(k, str) else k: self.canon(side, v)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.canon(side, v) for v in value]
        return value

    def _memory(self, side: int, memory: Memory) -> dict[str, Any]:
        dumped = memory.model_dump(mode="json")
        for field in ("id", "supersedes", "superseded_by"):
            dumped[field] = self.name(side, dumped[field])
        for field in _CLOCK:
            dumped[field] = dumped[field] is not None
        return dumped

    def event(self, side: int, leaf: str) -> dict[str, Any]:
        """An audit leaf's event without its time, ids named (the rest is byte-for-byte)."""
        event = json.loads(leaf)
        event.pop("at")
        for field in ("memory_id",):
            if field in event:
                event[field] = self.name(side, event[field])
        detail = event.get("detail") or {}
        for field in ("supersedes", "key_id"):
            if field in detail:
                detail[field] = self.name(side, detail[field])
        return event


def _ids_in(value: Any) -> list[str]:
    if isinstance(value, RememberResult):
        return [value.memory.id]
    if isinstance(value, Memory | ApiKey):
        return [value.id]
    if isinstance(value, IssuedKey):
        return [value.record.id]
    if isinstance(value, WorkingMessage):
        return [value.id]
    if isinstance(value, list | tuple):
        return [i for item in value for i in _ids_in(item)]
    return []


def _diff(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        return "\n".join(_diff(a.get(k), b.get(k), f"{path}.{k}") for k in sorted({*a, *b}, key=str)
                         if a.get(k) != b.get(k))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return "\n".join(_diff(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=True))
                         if x != y)
    return f"  {path or '(value)'}:\n    sqlite:   {a!r}\n    postgres: {b!r}"


@contextmanager
def open_pair(folder: Path, postgres_url: str, embedder: CachingEmbedder) -> Iterator[Pair]:
    """Fresh engines as a deployment builds them (``cortex.wiring.open_engine``): the store,
    its sealer, and the working memory the wiring picks for the URL (the SQLite file's
    table; in-process for PostgreSQL). Every key file is in ``folder`` (PostgreSQL's
    default is a per-user folder); one audit signing key for both, so checkpoints name
    the same key."""
    folder.mkdir(parents=True, exist_ok=True)
    engines: list[Cortex] = []
    try:
        for backend, url in zip(BACKENDS, (f"sqlite:///{folder / 'memories.db'}", postgres_url),
                                strict=True):
            settings = Settings(store_url=url, audit_key_file=str(folder / "audit.key"),
                                keystore=str(folder / f"{backend}.keys"),
                                master_key_file=str(folder / f"{backend}.master-key"),
                                master_key=None, redis_url=None)
            engines.append(open_engine(settings, embedder))
        yield Pair(engines[0], engines[1])
    finally:
        for engine in engines:
            engine.close()


def both(value: T) -> dict[str, T]:
    """What ``Pair.found`` gives when both backends answer ``value``."""
    return dict.fromkeys(BACKENDS, value)


def natural(name: str | None) -> tuple[str, int]:
    """``m2`` before ``m10``."""
    text = name or ""
    digits = text.lstrip("abcdefghijklmnopqrstuvwxyz")
    return text[:len(text) - len(digits)], int(digits) if digits.isdigit() else -1


__all__ = ["BACKENDS", "Pair", "both", "natural", "open_pair"]
