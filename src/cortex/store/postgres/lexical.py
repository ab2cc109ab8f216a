"""What PostgreSQL's text search sees: the words SQLite's FTS5 sees, stemmed.

The engine's lexical contract is FTS5's ``unicode61 remove_diacritics 2`` tokenizer: a
word is a run of letters and digits, Latin accents fold ("cafe" finds "café"), and
stopwords are words like any other (``query_terms`` drops them from a query unless
nothing else is left). PostgreSQL's own parser reads ``ann.lee@example.com`` or
``notes.txt`` as one token, keeps accents, and its ``english`` configuration drops
stopwords. So documents and queries alike are first turned into those words here
(``words``: Latin letters with diacritics to their base letter, accents typed as
combining marks dropped, lower case, split on anything that is not a letter or digit —
the underscore too — as FTS5 does, checked against FTS5 itself in
tests/store/test_postgres_lexical.py) and only then handed to ``to_tsvector`` /
``phraseto_tsquery`` with ``CONFIG``, a text search configuration (migration 0007) that
stems with snowball and has no stopword list. The parser then sees nothing but words and
spaces. Stemming differs a little from SQLite's
porter (snowball's english), as it always has.

``SEARCH_VECTOR`` and ``document`` are the one definition of a memory's search vector:
every writer of the ``search`` column passes ``document(body, context)`` to it.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from cortex.store.sqlite.fts import query_terms

CONFIG = "cortex_english"

# weight A: the memory's own index text; weight B: the turns before it in its session.
SEARCH_VECTOR = (f"setweight(to_tsvector('{CONFIG}', %s), 'A')"
                 f" || setweight(to_tsvector('{CONFIG}', %s), 'B')")

_WORD = re.compile(r"[^\W_]+")  # ``query_terms``'s ``\w+`` without the underscore
# The combining marks FTS5 removes (accents typed as marks: "e" + U+0301 is "e")
_DIACRITICS = re.compile("[\u0300-\u0304\u0306-\u030c\u030f\u0311\u031b\u0323-\u0328\u032d\u032e"
                         "\u0330\u0331]+")
# Latin letters with diacritics (Latin-1 Supplement, Extended-A/B, Extended Additional, -C, -D)
_LATIN = (range(0xC0, 0x250), range(0x1E00, 0x1F00), range(0x2C60, 0x2C80), range(0xA720, 0xA800))


@functools.cache
def _folds() -> dict[int, str]:
    """Each precomposed Latin letter whose decomposition is an ASCII letter and combining
    marks, to that letter: "é" → "e", "Ł" stays (no decomposition), as FTS5 folds them; and
    the letters FTS5's case folding maps further than ``str.lower``."""
    table: dict[int, str] = {0xB5: "\u03bc", 0x17F: "s", 0x1E9B: "s"}  # µ → μ, ſ and ẛ → s
    for block in _LATIN:
        for code in block:
            decomposed = unicodedata.normalize("NFD", chr(code))
            base, marks = decomposed[0], decomposed[1:]
            if marks and base.isascii() and base.isalpha() and all(
                    unicodedata.category(m) == "Mn" for m in marks):
                table[code] = base
    return table


def words(text: str) -> str:
    """The text's words, as FTS5's tokenizer sees them, joined by spaces."""
    if not text.isascii():  # (ASCII has nothing to fold)
        text = _DIACRITICS.sub("", text.translate(_folds()))
    return " ".join(_WORD.findall(text.lower()))


def document(body: str, context: str) -> tuple[str, str]:
    """The two parameters of ``SEARCH_VECTOR`` for a memory's index text and context."""
    return words(body), words(context)


def query_words(query: str) -> list[str]:
    """The query's terms (``query_terms``: stopwords only when nothing else is left) as
    ``phraseto_tsquery`` inputs, distinct, none empty. A term may hold several words
    ("snake_case"): it matches them as a phrase, as in FTS5. The diacritics FTS5 removes go
    first, so an accent typed as a combining mark ("e" + U+0301) does not split its word."""
    terms = query_terms(_DIACRITICS.sub("", query))
    return list(dict.fromkeys(w for w in map(words, terms) if w))


__all__ = ["CONFIG", "SEARCH_VECTOR", "document", "query_words", "words"]
