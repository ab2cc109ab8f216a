"""Turning a free-text query into a safe FTS5 MATCH expression."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)

# Function words that carry no topic: dropping them keeps BM25 from rewarding "the".
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves
""".split())


def query_terms(query: str) -> list[str]:
    """Distinct lower-cased words of the query, stopwords dropped unless nothing else is left."""
    words = [w.lower() for w in _WORD.findall(query)]
    kept = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(kept))


def quote(term: str) -> str:
    """An FTS5 string literal: the term can't be read as syntax."""
    return '"' + term.replace('"', '""') + '"'


def match_expression(words: list[str], scopes: list[str] | None) -> str:
    """``scope:(…) AND {body prev1 prev2}:("w1" OR "w2" …)``: the words in any ranked column;
    with ``scopes``, only in rows carrying one of those scope tokens."""
    body = " OR ".join(quote(w) for w in words)
    match = f"{{body prev1 prev2}} : ({body})"
    if not scopes:
        return match
    return f"scope : ({' OR '.join(quote(s) for s in scopes)}) AND {match}"
