"""The text/Markdown chunker: headings start chunks, size limit, never inside a word."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cortex.cli.chunking import chunk_text


def test_headings_start_new_chunks_and_paragraphs_pack() -> None:
    text = "# One\n\npara a\n\npara b\n## Two\ntext under two\n\n\n# Three\n"
    chunks = chunk_text(text)
    assert [c.text for c in chunks] == ["# One\n\npara a\n\npara b",
                                        "## Two\n\ntext under two", "# Three"]
    assert [c.line for c in chunks] == [1, 6, 10]


def test_paragraphs_split_when_over_limit() -> None:
    text = "\n\n".join(["x" * 40, "y" * 40, "z" * 40])
    assert [c.text for c in chunk_text(text, limit=90)] == ["x" * 40 + "\n\n" + "y" * 40,
                                                            "z" * 40]


def test_a_word_longer_than_the_limit_stays_whole() -> None:
    assert [c.text for c in chunk_text("short " + "w" * 50 + " tail", limit=20)] == [
        "short", "w" * 50, "tail"]


def test_empty_input() -> None:
    assert chunk_text("") == [] and chunk_text("\n \n\t\n") == []


words = st.text(alphabet="abcdefghij#", min_size=1, max_size=12)
lines = st.lists(words, min_size=0, max_size=30).map(" ".join)
documents = st.lists(lines, min_size=1, max_size=40).map("\n".join)


@given(documents, st.integers(min_value=12, max_value=200))
def test_no_word_is_cut_and_chunks_fit(text: str, limit: int) -> None:
    chunks = chunk_text(text, limit=limit)
    assert [w for c in chunks for w in c.text.split()] == text.split()
    assert all(len(c.text) <= limit for c in chunks)
    assert all(c.text.strip() for c in chunks)
