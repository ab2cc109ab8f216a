"""Reading LoCoMo: session times, evidence ids, and what is kept out of the engine."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cortex.bench.locomo_data import (
    load_locomo,
    parse_session_time,
    split_evidence,
    turn_text,
)
from cortex.core.errors import ImportFileError


@pytest.mark.parametrize(("raw", "expected"), [
    ("1:56 pm on 8 May, 2023", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
    ("10:04 am on 19 December, 2023", datetime(2023, 12, 19, 10, 4, tzinfo=UTC)),
    ("12:05 am on 1 January, 2023", datetime(2023, 1, 1, 0, 5, tzinfo=UTC)),
    ("12:30 pm on 2 March, 2022", datetime(2022, 3, 2, 12, 30, tzinfo=UTC)),
])
def test_session_times(raw: str, expected: datetime) -> None:
    assert parse_session_time(raw) == expected


@pytest.mark.parametrize("raw", ["", "yesterday", "13:00 on 8 May, 2023", "1:56 pm on 8 Mai, 2023"])
def test_bad_session_time(raw: str) -> None:
    with pytest.raises(ImportFileError):
        parse_session_time(raw)


@given(st.integers(1, 12), st.integers(0, 59), st.sampled_from(["am", "pm"]),
       st.dates(min_value=datetime(1990, 1, 1).date(), max_value=datetime(2100, 1, 1).date()))
def test_session_time_round_trip(hour: int, minute: int, half: str, day: object) -> None:
    raw = f"{hour}:{minute:02d} {half} on {day.day} {day:%B}, {day.year}"  # type: ignore[attr-defined]
    parsed = parse_session_time(raw)
    assert parsed.strftime("%-I:%M %p on %-d %B, %Y").lower() == raw.lower()


def test_evidence_forms_found_in_the_data() -> None:
    assert split_evidence(["D8:6; D9:17"]) == ["D8:6", "D9:17"]
    assert split_evidence(["D9:1 D4:4 D4:6"]) == ["D9:1", "D4:4", "D4:6"]
    assert split_evidence(["D:11:26", "D30:05", "D"]) == ["D11:26", "D30:5"]
    assert split_evidence(["D1:3", "D1:3"]) == ["D1:3"]
    assert split_evidence(None) == []


def test_turn_text_appends_the_image_caption() -> None:
    raw = {"text": "Look at this.", "blip_caption": "a photo of a dog", "img_url": ["http://x"],
           "query": "dog", "dia_id": "D1:2", "speaker": "Ann"}
    assert turn_text(raw) == "Look at this. [shares an image: a photo of a dog]"
    assert turn_text({"text": " hi ", "dia_id": "D1:1"}) == "hi"


def test_the_real_file(locomo_path: Path) -> None:
    conversations = load_locomo(locomo_path)
    assert len(conversations) == 10
    assert sum(len(c.turns) for c in conversations) == 5882
    asked = [q for c in conversations for q in c.questions]
    assert {q.category for q in asked} == {1, 2, 3, 4}
    for conv in conversations:
        session_of = conv.session_of
        assert all(e in session_of for q in conv.questions for e in q.evidence)
        assert all(t.occurred_at is not None for t in conv.turns)
    # Nothing that identifies a dialogue turn or session is in the text the engine sees.
    leak = re.compile(r"\bD\d+:\d+\b|session_\d")
    assert not [t.text for c in conversations for t in c.turns if leak.search(t.text)]


def test_limit_and_bad_files(locomo_path: Path, tmp_path: Path) -> None:
    assert len(load_locomo(locomo_path, limit_conversations=2)) == 2
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ImportFileError):
        load_locomo(tmp_path / "bad.json")
    (tmp_path / "obj.json").write_text('{"a": 1}')
    with pytest.raises(ImportFileError):
        load_locomo(tmp_path / "obj.json")
    with pytest.raises(ImportFileError):
        load_locomo(tmp_path / "missing.json")
