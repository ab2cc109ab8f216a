"""remember → recall → show → list → update → history → forget, human and --json output."""

from __future__ import annotations

from collections.abc import Callable

from .conftest import Run
from .helpers import payload


def remember_id(at: Run, *args: str) -> str:
    result = at("remember", *args, "--json")
    assert result.exit_code == 0, result.output
    data = payload(result)
    assert data["created"] is True
    return str(data["memory"]["id"])


def test_round_trip(at: Run, count: Callable[[], int]) -> None:
    first = remember_id(at, "Ann prefers window seats on long flights", "-n", "user:ann",
                        "--kind", "preference", "--tag", "travel", "--meta", "year=2024",
                        "--speaker", "Ann", "--occurred-at", "2024-05-07")
    remember_id(at, "The quarterly report is due on Friday", "-n", "work")
    assert count() == 2

    hits = payload(at("recall", "where does Ann like to sit on a plane?", "--json"))["hits"]
    assert hits[0]["memory"]["id"] == first
    assert hits[0]["memory"]["metadata"] == {"year": 2024}
    assert hits[0]["memory"]["source"]["speaker"] == "Ann"
    assert set(hits[0]["explain"]) >= {"score", "relevance"}

    shown = payload(at("show", first, "--json"))["memory"]
    assert shown["tags"] == ["travel"] and shown["kind"] == "preference"

    listed = payload(at("list", "-n", "user:ann", "--json"))
    assert [m["id"] for m in listed["memories"]] == [first]

    updated = payload(at("update", first, "--text", "Ann now prefers aisle seats",
                         "--meta", "verified=true", "--json"))["memory"]
    assert updated["supersedes"] == first
    assert updated["metadata"] == {"year": 2024, "verified": True}
    assert updated["tags"] == ["travel"]

    history = payload(at("show", updated["id"], "--history", "--json"))["history"]
    assert [v["id"] for v in history] == [first, updated["id"]]
    assert history[0]["superseded_by"] == updated["id"]

    current = payload(at("list", "-n", "user:ann", "--json"))["memories"]
    assert [m["id"] for m in current] == [updated["id"]]
    every = payload(at("list", "-n", "user:ann", "--all-versions", "--json"))["memories"]
    assert {m["id"] for m in every} == {first, updated["id"]}

    assert payload(at("forget", updated["id"], "--json")) == {"deleted": 2}  # both versions
    assert count() == 1
    assert at("show", first).exit_code == 1
    gone = at("show", updated["id"])
    assert gone.exit_code == 1 and gone.stderr.startswith("error: no memory")


def test_human_output(at: Run) -> None:
    memory_id = remember_id(at, "Standup moved to 10:00 [team core]", "--tag", "work")
    assert at("remember", "Standup moved to 10:00 [team core]").stdout.startswith(
        f"already remembered as {memory_id}")
    recall = at("recall", "when is standup?", "--explain")
    assert recall.exit_code == 0, recall.output
    assert "[team core]" in recall.stdout  # user text is not read as rich markup
    assert "why these ranks" in recall.stdout and "relevance" in recall.stdout
    shown = at("show", memory_id, "--history")
    assert memory_id in shown.stdout and "1 version(s)" in shown.stdout
    assert "no memories matched" in at("recall", "x", "--tag", "missing").stdout


def test_duplicate_is_reported_not_stored(at: Run, count: Callable[[], int]) -> None:
    first = remember_id(at, "Same words twice")
    again = payload(at("remember", "Same words twice", "--json"))
    assert again["created"] is False and again["duplicate_of"] == first
    assert count() == 1


def test_stdin_text_and_source_options(at: Run) -> None:
    result = at("remember", "-", "--session", "s1", "--source-json", '{"agent": "planner"}',
                "--metadata-json", '{"a": 1, "b": 2}', "--meta", "b=3", "--ttl", "2h",
                "--json", input="typed on stdin\n")
    memory = payload(result)["memory"]
    assert memory["text"] == "typed on stdin"
    assert memory["source"]["session"] == "s1" and memory["source"]["agent"] == "planner"
    assert memory["metadata"] == {"a": 1, "b": 3}
    assert memory["expires_at"] is not None


def test_recall_filters(at: Run) -> None:
    remember_id(at, "Paris trip in spring", "--tag", "travel", "--occurred-at", "2023-04-01")
    later = remember_id(at, "Rome trip in autumn", "--tag", "travel", "--occurred-at",
                        "2024-10-01")
    remember_id(at, "Dentist appointment", "--kind", "fact")
    hits = payload(at("recall", "trip", "--after", "2024-01-01", "--json"))["hits"]
    assert [h["memory"]["id"] for h in hits] == [later]
    kinds = payload(at("recall", "appointment", "--kind", "fact", "--json"))["hits"]
    assert {h["memory"]["kind"] for h in kinds} == {"fact"}
    tagged = payload(at("recall", "trip", "--tag", "travel", "-k", "1", "--json"))["hits"]
    assert len(tagged) == 1


def test_list_pages_with_after_hint(at: Run) -> None:
    ids = [remember_id(at, f"note number {n}") for n in range(5)]
    page = payload(at("list", "--limit", "2", "--json"))
    assert [m["id"] for m in page["memories"]] == ids[::-1][:2]
    human = at("list", "--limit", "2")
    assert f"next page: --after {page['next_after']}" in human.stdout
    rest = payload(at("list", "--limit", "10", "--after", page["next_after"], "--json"))
    assert [m["id"] for m in rest["memories"]] == ids[::-1][2:]
    assert rest["next_after"] is None
    exact = at("list", "--limit", "5")
    assert exact.exit_code == 0 and "next page" not in exact.stdout  # exactly one full page


def test_forget_by_filter_needs_confirmation(at: Run, count: Callable[[], int]) -> None:
    for n in range(3):
        remember_id(at, f"scratch note {n}", "-n", "scratch", "--tag", "draft")
    remember_id(at, "keep me", "-n", "keep")
    declined = at("forget", "-n", "scratch", input="n\n")
    assert declined.exit_code == 1 and count() == 4
    in_json = at("forget", "-n", "scratch", "--json")
    assert in_json.exit_code == 1 and "--yes" in in_json.stderr and count() == 4
    accepted = at("forget", "-n", "scratch", "--tag", "draft", input="y\n")
    assert accepted.exit_code == 0 and "deleted 3 stored versions" in accepted.stdout
    assert count() == 1
    remember_id(at, "old", "-n", "old", "--occurred-at", "2020-01-01")
    assert payload(at("forget", "--before", "2021-01-01", "--yes", "--json")) == {"deleted": 1}


def test_forget_usage_errors_exit_2(at: Run) -> None:
    assert at("forget").exit_code == 2
    both = at("forget", "01HZX3J8Q2V5K7M9N0P1R2S3T4", "--namespace", "x")
    assert both.exit_code == 2


def test_update_needs_something_to_change(at: Run) -> None:
    memory_id = remember_id(at, "unchanged")
    result = at("update", memory_id)
    assert result.exit_code == 1 and result.stderr.startswith("error: nothing to update")
