"""Values that only mean something next to a word: dates of birth, passport and licence
numbers, passwords, high-entropy secrets and AWS secret access keys.

Each detector looks only in windows around its context words (``Doc.windows``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date

from cortex.privacy.detect._doc import Doc, Span, finditer
from cortex.privacy.detect._model import Finding

_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
           r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_DATE = re.compile(
    r"(?<![\w/.\-])(?:"
    r"(?P<y1>\d{4})(?P<s1>[-/.])(?P<m1>\d{1,2})(?P=s1)(?P<d1>\d{1,2})"
    r"|(?P<a2>\d{1,2})(?P<s2>[-/.])(?P<b2>\d{1,2})(?P=s2)(?P<y2>\d{4}|\d{2})"
    rf"|(?P<d3>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m3>{_MONTHS})\.?,?\s+(?P<y3>\d{{4}})"
    rf"|(?P<m4>{_MONTHS})\.?\s+(?P<d4>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y4>\d{{4}})"
    r")(?![\w]|[/.\-]\d)", re.IGNORECASE)
_MONTH_NUMBER = {name: i for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}

_PASSPORT = re.compile(r"(?<![\w\-])[A-Z0-9]{6,9}(?![\w\-])")
_LICENSE = re.compile(
    r"(?<![\w\-])(?:[A-Z]{1,3}\d{4,14}|\d{6,14}|[A-Z]\d{3}-\d{3,4}-\d{2,4}(?:-\d{1,3}){0,2}"
    r"|[A-Z9]{5}\d{6}[A-Z9]{2}\d[A-Z]{2}(?:\d{2})?|[A-Z]\d{2,3}[A-Z0-9]{4,10})(?![\w\-])")

_PASSWORD = re.compile(
    r"(?:\s+(?:for|to|of|on)\s+[^\n:=.]{1,30}?)?\s*(?:[:=]|(?<=\s)(?:is|was)\s)\s*"
    r"(?P<q>[\"'`]?)(?P<v>[^\s\"'`]{3,128})")
_PLACEHOLDER = re.compile(r"^(?:\*+|x+|\.+|<.*|\$[{(].*|%.*%|\{\{.*|\[.*|\?+|null|none|n/a|"
                          r"redacted|hidden|changeme|empty|blank)$", re.IGNORECASE)
_PROSE = frozenset("""
a an the not too very so still now also just only really actually always never
required incorrect wrong correct invalid expired weak strong secure safe long short empty missing
needed set reset changed protected encrypted hashed stored saved same different easy hard simple
complex case sensitive please your my our their his her its this that it in on at for with by
from and or but if when what which who how why where secret private public shared forgotten lost
known unknown ok okay fine good bad great below above here there attached optional mandatory
locked updated valid visible will should must can be been being has have had no yes
""".split())

_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{20,}={0,2}(?![A-Za-z0-9+/=_\-])")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=])")
_SECRET_ACCESS = re.compile(r"secret[_ \-]?access[_ \-]?key")
_HEX = frozenset("0123456789abcdefABCDEF")


def _f(type_: str, span: Span, confidence: float, validator: str) -> Finding:
    return Finding(type=type_, start=span[0], end=span[1], confidence=confidence, validator=validator)


# ---- date of birth --------------------------------------------------------------------
def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 1900 if year > date.today().year % 100 else 2000
    return year


def _date_ok(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return 1900 <= born.year and born <= date.today()


def _is_date(m: re.Match[str]) -> bool:
    g = m.groupdict()
    if g["y1"]:
        return _date_ok(int(g["y1"]), int(g["m1"]), int(g["d1"]))
    if g["y2"]:
        year, a, b = _year(g["y2"]), int(g["a2"]), int(g["b2"])
        return _date_ok(year, b, a) or _date_ok(year, a, b)
    if g["y3"]:
        return _date_ok(int(g["y3"]), _MONTH_NUMBER[g["m3"][:3].lower()], int(g["d3"]))
    return _date_ok(int(g["y4"]), _MONTH_NUMBER[g["m4"][:3].lower()], int(g["d4"]))


def _birth_windows(doc: Doc) -> list[Span]:
    """After any birth word; also shortly before one, except "born" ("12/05/1990 (DOB)")."""
    spans = []
    for start, end in doc.keywords.get("birth", ()):
        before = 0 if doc.lower.startswith("born", start) else 16
        spans.append((max(0, start - before), end + 50))
    return sorted(spans)


def dates_of_birth(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_DATE, doc.text, _birth_windows(doc), margin=0):
        if _is_date(m):
            yield _f("date_of_birth", m.span(), 0.85, "context")


# ---- passport and driver's licence -------------------------------------------------------
# Context words of identity documents: a value belongs to the closest one before it.
_ID_WORDS = ("passport", "license", "ssn", "routing", "nhs", "aadhaar", "birth")


def passports(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_PASSPORT, doc.text, doc.windows("passport", 5, 45), margin=0):
        if doc.owner(m.start(), _ID_WORDS) in ("passport", None) and any(c.isdigit() for c in m.group()):
            yield _f("passport", m.span(), 0.85, "context")


def _license_windows(doc: Doc) -> list[Span]:
    spans = []
    for start, end in doc.keywords.get("license", ()):
        word = doc.text[start:end]
        if word == "DL" or (word.lower() != "dl" and "driv" in doc.lower[max(0, start - 16):start]):
            spans.append((start, end + 45))
    return spans


def drivers_licenses(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_LICENSE, doc.text, _license_windows(doc), margin=0):
        if doc.owner(m.start(), _ID_WORDS) in ("license", None) and sum(
                c.isdigit() for c in m.group()) >= 4:
            yield _f("drivers_license", m.span(), 0.8, "context")


# ---- passwords ----------------------------------------------------------------------------
def passwords(doc: Doc) -> Iterator[Finding]:
    text = doc.text
    for _, end in doc.keywords.get("password", ()):
        m = _PASSWORD.match(text, end, min(len(text), end + 200))
        if m is None:
            continue
        value = m.group("v")
        quoted = bool(m.group("q"))
        if not quoted:
            value = value.rstrip(".,;:)")  # sentence punctuation; "!" ends many passwords
        if len(value) < 3 or _PLACEHOLDER.match(value):
            continue
        confidence = 0.85
        if value.isalpha() and (value.islower() or value.istitle()) and not quoted:
            if value.lower() in _PROSE:
                continue
            confidence = 0.6
        start = m.start("v")
        yield _f("password", (start, start + len(value)), confidence, "context")


# ---- high-entropy strings and AWS secret keys --------------------------------------------------
def shannon(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _random_looking(token: str) -> bool:
    body = token.rstrip("=")
    if all(c in _HEX for c in body):
        if len(body) < 32 or body.isdigit() or body.isalpha():
            return False
        return shannon(body) >= 3.2
    if not (any(c.isdigit() for c in body) and any(c.isupper() for c in body)
            and any(c.islower() for c in body)):
        return False
    if body.count("/") >= 2 and all(p.isalpha() or p.isdigit() for p in body.split("/") if p):
        return False  # a path, not a key
    return shannon(body) >= 0.82 * math.log2(min(len(body), 64))


def _secret_windows(doc: Doc) -> list[Span]:
    spans = []
    for cls in ("secret", "password", "aws"):
        for start, end in doc.keywords.get(cls, ()):
            if not doc.lower.endswith("public ", 0, start):  # a public key is no secret
                spans.append((max(0, start - 5), end + 60))
    return sorted(spans)


def high_entropy(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_TOKEN, doc.text, _secret_windows(doc), margin=0):
        if _random_looking(m.group()):
            yield _f("high_entropy_secret", m.span(), 0.7, "entropy")


def aws_secret_keys(doc: Doc) -> Iterator[Finding]:
    spans = doc.windows("aws", 0, 90)
    spans += [(s, e + 90) for s, e in doc.keywords.get("secret", ())
              if _SECRET_ACCESS.match(doc.lower, s)]
    for m in finditer(_AWS_SECRET, doc.text, sorted(spans), margin=0):
        if _random_looking(m.group()):
            yield _f("aws_access_key", m.span(), 0.9, "context")
