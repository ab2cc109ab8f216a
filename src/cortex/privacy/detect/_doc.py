"""One text being scanned, with the cheap passes every detector shares, each done once.

Detectors do not run their full patterns over the whole text: they look only where a
prefilter found something, so text without candidates costs a few fast passes.

- ``numbers``: runs of digits with the separators numbers are written with;
- ``keywords``: context words (password, born, passport, routing, ...), by class;
- ``separators``: places where hex groups meet ``:``, ``-`` or ``.`` (MAC, IPv6);
- ``lower``: a lower-cased copy whose offsets match the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

_DIGIT = re.compile(r"\d")
_NUMBERS = re.compile(r"\d[\d \t().\-/]{3,}\d")
_SEPARATORS = re.compile(r":[0-9A-Fa-f]{0,4}:|-[0-9A-Fa-f]{2}-|\.[0-9A-Fa-f]{4}\.")

# Context words, lower case, as whole words; each maps to the class detectors ask for.
_KEYWORD_CLASSES = {
    "password": ("password", "passwords", "passwd", "passcode", "passphrase", "pwd"),
    "secret": ("secret", "secrets", "token", "tokens", "key", "keys", "apikey", "api",
               "credential", "credentials", "auth", "bearer"),
    "aws": ("aws",),
    "birth": ("born", "dob", "d.o.b", "birth", "birthdate", "birthday"),
    "passport": ("passport",),
    "license": ("license", "licence", "dl"),
    "routing": ("routing", "aba", "rtn", "transit"),
    "ssn": ("ssn", "social security"),
    "nhs": ("nhs",),
    "aadhaar": ("aadhaar", "aadhar", "uidai", "uid"),
}
_CLASS_OF = {word: cls for cls, words in _KEYWORD_CLASSES.items() for word in words}


def alternation(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, written as a trie (``a(?:ba|pi(?:key)?)``).

    ``re`` tries the branches of a flat alternation one by one at every position whose
    first character could start one; a trie needs one comparison per character, which
    makes this pass several times faster on prose.
    """
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _branches(tree)


def _branches(node: dict[str, Any]) -> str:
    branches = [re.escape(char) + _branches(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


_KEYWORDS = re.compile(alternation(_CLASS_OF) + r"(?![a-z])")
_WORD_CHAR = re.compile(r"[a-z0-9]")

Span = tuple[int, int]


class Doc:
    """The text and its shared prefilter passes, each computed on first use.

    (Cached by hand: ``functools.cached_property`` takes a lock on every access in 3.11,
    which costs more than the work for a short message.)
    """

    def __init__(self, text: str) -> None:
        self.text = text
        # Most detectors need a digit: cards, IDs, addresses, dates, and (by their own
        # rules) high-entropy strings and wallet addresses. Prose without one is cheap.
        self.has_digit = _DIGIT.search(text) is not None
        self._lower: str | None = None
        self._numbers: list[Span] | None = None
        self._separators: list[Span] | None = None
        self._keywords: dict[str, list[Span]] | None = None

    @property
    def lower(self) -> str:
        if self._lower is None:
            lowered = self.text.lower()
            # A few characters lower-case to two (İ → i̇): then lower ASCII only, keeping offsets.
            self._lower = lowered if len(lowered) == len(self.text) else self.text.translate(_ASCII_LOWER)
        return self._lower

    @property
    def numbers(self) -> list[Span]:
        if self._numbers is None:
            self._numbers = [m.span() for m in _NUMBERS.finditer(self.text)] if self.has_digit else []
        return self._numbers

    @property
    def separators(self) -> list[Span]:
        if self._separators is None:
            self._separators = _merge([(max(0, m.start() - 45), m.end() + 45)
                                       for m in _SEPARATORS.finditer(self.text)], len(self.text))
        return self._separators

    @property
    def keywords(self) -> dict[str, list[Span]]:
        if self._keywords is None:
            found: dict[str, list[Span]] = {}
            lower = self.lower
            for m in _KEYWORDS.finditer(lower):
                start = m.start()
                if not (start and _WORD_CHAR.match(lower, start - 1)):  # a word of its own
                    found.setdefault(_CLASS_OF[m.group()], []).append(m.span())
            self._keywords = found
        return self._keywords

    def windows(self, cls: str, before: int, after: int) -> list[Span]:
        """Merged spans around every keyword of class ``cls``."""
        return _merge([(max(0, s - before), e + after) for s, e in self.keywords.get(cls, ())],
                      len(self.text))

    def owner(self, pos: int, classes: tuple[str, ...]) -> str | None:
        """Which of ``classes`` has the keyword closest before ``pos`` (the one a value belongs to)."""
        best, best_end = None, -1
        for cls in classes:
            for _, end in self.keywords.get(cls, ()):
                if best_end < end <= pos:
                    best, best_end = cls, end
        return best

    def near(self, cls: str, start: int, end: int, before: int = 60, after: int = 30) -> bool:
        """Whether a keyword of ``cls`` lies within ``before`` chars before / ``after`` after."""
        return any(e >= start - before and s <= end + after for s, e in self.keywords.get(cls, ()))


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _merge(spans: list[Span], limit: int) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        end = min(end, limit)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def finditer(pattern: re.Pattern[str], text: str, spans: list[Span], margin: int = 3,
             reach: int = 200) -> Iterator[re.Match[str]]:
    """Matches of ``pattern`` that start inside a span (widened by ``margin``), each once.

    A match may run ``reach`` characters past its span, so a value is never cut short.
    """
    last = -1
    for start, end in spans:
        end = min(len(text), end + margin)
        for m in pattern.finditer(text, max(0, start - margin), min(len(text), end + reach)):
            if m.start() > end:
                break
            if m.start() >= last:
                last = m.end()
                yield m
