"""Every working-memory backend behaves the same: the same calls, the same answers.

Local (in-process), SQLite (the store's file) and Redis run through the same cases, and
a property test runs random append sequences through all three and a textbook model.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cortex.store import open_store
from cortex.working import LocalWorkingMemory, WorkingMemory, WorkingMessage, estimate_tokens
from cortex.working.redis import RedisWorkingMemory
from cortex.working.sqlite import SQLiteWorkingMemory
from tests.working.conftest import REDIS_URL

BACKENDS = ["local", "sqlite", "redis"]
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def message(session: str, n: int, text: str | None = None, *, tokens: int | None = None,
            speaker: str | None = "user") -> WorkingMessage:
    text = text if text is not None else f"message {n}"
    return WorkingMessage(id=f"m{n:04d}", session=session, role="user", text=text, speaker=speaker,
                          at=T0 + timedelta(seconds=n, microseconds=n),
                          tokens=estimate_tokens(text) if tokens is None else tokens)


def make(kind: str, tmp_path: Path, request: pytest.FixtureRequest,
         max_messages: int = 50, max_tokens: int = 4_000) -> WorkingMemory:
    if kind == "local":
        return LocalWorkingMemory(max_messages=max_messages, max_tokens=max_tokens)
    if kind == "sqlite":
        path = tmp_path / f"{uuid.uuid4().hex}.db"
        open_store(f"sqlite:///{path}", dim=8).close()  # the store migrates the file
        return SQLiteWorkingMemory(path, max_messages=max_messages, max_tokens=max_tokens)
    return RedisWorkingMemory(REDIS_URL, max_messages=max_messages, max_tokens=max_tokens,
                              prefix=request.getfixturevalue("prefix"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def opened() -> Iterator[list[WorkingMemory]]:
    made: list[WorkingMemory] = []
    yield made
    for wm in made:
        getattr(wm, "close", lambda: None)()


@pytest.fixture
def wm_factory(backend: str, tmp_path: Path, request: pytest.FixtureRequest,
               opened: list[WorkingMemory]):
    def factory(max_messages: int = 50, max_tokens: int = 4_000) -> WorkingMemory:
        made = make(backend, tmp_path, request, max_messages, max_tokens)
        opened.append(made)
        return made
    return factory


def test_messages_come_back_oldest_first_and_unchanged(wm_factory) -> None:
    wm = wm_factory()
    sent = [message("s", 1), message("s", 2, speaker=None), message("s", 3, "the last one")]
    assert [wm.append("t", m) for m in sent] == [[], [], []]
    assert wm.messages("t", "s") == sent
    assert wm.messages("t", "other") == [] and wm.messages("other", "s") == []


def test_message_budget_evicts_the_oldest_first(wm_factory) -> None:
    wm = wm_factory(max_messages=3)
    assert [wm.append("t", message("s", n)) for n in range(3)] == [[], [], []]
    assert wm.append("t", message("s", 3)) == [message("s", 0)]
    assert [m.id for m in wm.messages("t", "s")] == ["m0001", "m0002", "m0003"]


def test_token_budget_evicts_as_many_as_needed_oldest_first(wm_factory) -> None:
    wm = wm_factory(max_tokens=10)
    for n, tokens in enumerate((3, 3, 3)):
        assert wm.append("t", message("s", n, tokens=tokens)) == []
    evicted = wm.append("t", message("s", 3, tokens=7))  # 3+3+3+7 > 10: drop two
    assert evicted == [message("s", 0, tokens=3), message("s", 1, tokens=3)]
    assert [m.tokens for m in wm.messages("t", "s")] == [3, 7]


def test_the_newest_message_stays_even_over_budget(wm_factory) -> None:
    wm = wm_factory(max_tokens=10)
    wm.append("t", message("s", 0, tokens=2))
    assert wm.append("t", message("s", 1, tokens=50)) == [message("s", 0, tokens=2)]
    assert [m.tokens for m in wm.messages("t", "s")] == [50]
    assert wm.append("t", message("s", 2, tokens=1)) == [message("s", 1, tokens=50)]


def test_clear_returns_the_count_and_touches_only_that_session(wm_factory) -> None:
    wm = wm_factory()
    for n in range(3):
        wm.append("t", message("s", n))
    wm.append("t", message("kept", 9))
    assert wm.clear("t", "s") == 3
    assert wm.messages("t", "s") == [] and wm.clear("t", "s") == 0
    assert [m.id for m in wm.messages("t", "kept")] == ["m0009"]


def test_tenants_never_see_each_others_sessions(wm_factory) -> None:
    wm = wm_factory()
    wm.append("acme", message("chat", 1, "acme's secret"))
    wm.append("globex", message("chat", 2, "globex's secret"))
    # Names with the separator must not alias: ("a:b", "c") vs ("a", "b:c").
    wm.append("a:b", message("c", 3))
    wm.append("a", message("b:c", 4))
    assert [m.text for m in wm.messages("acme", "chat")] == ["acme's secret"]
    assert [m.text for m in wm.messages("globex", "chat")] == ["globex's secret"]
    assert [m.id for m in wm.messages("a:b", "c")] == ["m0003"]
    assert [m.id for m in wm.messages("a", "b:c")] == ["m0004"]
    assert wm.clear("acme", "chat") == 1 and len(wm.messages("globex", "chat")) == 1


def test_unicode_round_trips(wm_factory) -> None:
    wm = wm_factory()
    texts = ["Grüße aus Köln 🌧️", "東京で会いましょう", "مرحبا بالعالم", "tab\tnew\nline | pipe \x00 nul",
             "\U0001d518 astral plane ☃"]
    sent = [message("sessión 🧠", n, text) for n, text in enumerate(texts)]
    for m in sent:
        wm.append("tenánt ü", m)
    assert wm.messages("tenánt ü", "sessión 🧠") == sent


def budget_model(tokens: list[int], max_messages: int, max_tokens: int) -> tuple[int, list[list[int]]]:
    """Textbook: after each append keep the longest suffix within both budgets (at least one).
    Returns the final kept count and, per append, the indices evicted."""
    kept: list[int] = []
    evictions = []
    for i in range(len(tokens)):
        kept.append(i)
        gone = []
        while len(kept) > 1 and (len(kept) > max_messages or sum(tokens[j] for j in kept) > max_tokens):
            gone.append(kept.pop(0))
        evictions.append(gone)
    return len(kept), evictions


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=25),
       max_messages=st.integers(min_value=1, max_value=8), max_tokens=st.integers(min_value=1, max_value=80))
def test_every_backend_evicts_like_the_model(tmp_path: Path, request: pytest.FixtureRequest,
                                              opened: list[WorkingMemory], tokens: list[int],
                                              max_messages: int, max_tokens: int) -> None:
    session = uuid.uuid4().hex  # one fresh session per example: the backends outlive examples
    if not opened:
        opened.extend(make(kind, tmp_path, request) for kind in BACKENDS)
    kept, evictions = budget_model(tokens, max_messages, max_tokens)
    sent = [message(session, n, tokens=t) for n, t in enumerate(tokens)]
    for wm in opened:
        wm.max_messages, wm.max_tokens = max_messages, max_tokens  # type: ignore[attr-defined]
        got = [[m.id for m in wm.append("t", m)] for m in sent]
        assert got == [[sent[j].id for j in gone] for gone in evictions], type(wm).__name__
        assert wm.messages("t", session) == sent[len(sent) - kept:], type(wm).__name__
