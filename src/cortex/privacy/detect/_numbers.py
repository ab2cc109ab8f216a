"""Numbers with a check digit or a numbering plan: cards, IBAN, SSN, NHS, Aadhaar, ABA,
IPv4 and phone numbers. Each pattern runs only inside the digit runs ``Doc`` found.

Confidence says how specific the evidence is: a check digit alone (one chance in ten or
eleven for a random number) scores lower than a check digit with its context word.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from cortex.privacy.detect import checksums
from cortex.privacy.detect._doc import Doc, finditer
from cortex.privacy.detect._model import Finding

_BEFORE = r"(?<![\w.\-/])"  # not glued to a word, a decimal point, a dash or a slash
_AFTER = r"(?![\w]|[.\-/]\d)"

# ... nor one group of a longer run of digit groups (a piece of an account number)
_ALONE_BEFORE, _ALONE_AFTER = _BEFORE + r"(?<!\d[ \-])", r"(?![ \-]\d)" + _AFTER

_CARD = re.compile(_BEFORE + r"\d(?:[ \-]?\d){11,18}" + _AFTER)
_SSN = re.compile(_ALONE_BEFORE + r"\d{3}([ \-])\d{2}\1\d{4}" + _ALONE_AFTER)
_NINE = re.compile(_ALONE_BEFORE + r"\d{9}" + _ALONE_AFTER)
_NHS = re.compile(_ALONE_BEFORE + r"\d{3}([ \-]?)\d{3}\1\d{4}" + _ALONE_AFTER)
_AADHAAR = re.compile(_ALONE_BEFORE + r"[2-9]\d{3}([ \-]?)\d{4}\1\d{4}" + _ALONE_AFTER)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_VERSION = re.compile(r"(?:\bversion|\bver\.?|\brelease|\bbuild|\bv|\bsection|\bchapter|\bclause|§)\s*$",
                      re.IGNORECASE)
_IBAN = re.compile(r"[A-Z]{2}\d\d(?:[ ]?[A-Z0-9]){11,30}")
_CARD_GROUPS = ([4, 6, 5], [4, 6, 4])
_ID_WORDS = ("nhs", "ssn", "aadhaar", "routing", "passport", "license")


def _f(type_: str, m: re.Match[str] | tuple[int, int], confidence: float, validator: str) -> Finding:
    start, end = m if isinstance(m, tuple) else m.span()
    return Finding(type=type_, start=start, end=end, confidence=confidence, validator=validator)


def _grouped(value: str) -> bool:
    """Card digits written plain or in one separator's usual groups (4-4-4-4, 4-6-5, ...)."""
    seps = {c for c in value if not c.isdigit()}
    if not seps:
        return True
    if len(seps) > 1:
        return False
    groups = [len(g) for g in value.split(seps.pop())]
    return groups in _CARD_GROUPS or (all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4)


def credit_cards(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_CARD, doc.text, doc.numbers):
        if _grouped(m.group()) and checksums.credit_card(m.group()):
            yield _f("credit_card", m, 0.95, "luhn")


def ssns(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_SSN, doc.text, doc.numbers):
        if checksums.us_ssn(m.group()):
            context = doc.near("ssn", m.start(), m.end())
            yield _f("us_ssn", m, 0.95 if context else 0.85 if "-" in m.group() else 0.6, "ssn-ranges")
    for m in finditer(_NINE, doc.text, doc.windows("ssn", 10, 60)):
        if checksums.us_ssn(m.group()):
            yield _f("us_ssn", m, 0.9, "ssn-ranges")


def nhs_numbers(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_NHS, doc.text, doc.numbers):
        if checksums.uk_nhs(m.group()):
            context = doc.near("nhs", m.start(), m.end())
            yield _f("uk_nhs", m, 0.95 if context else 0.55 if m.group(1) else 0.4, "mod11")


def aadhaar_numbers(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_AADHAAR, doc.text, doc.numbers):
        if checksums.in_aadhaar(m.group()):
            context = doc.near("aadhaar", m.start(), m.end())
            yield _f("in_aadhaar", m, 0.95 if context else 0.7 if m.group(1) else 0.5, "verhoeff")


def routing_numbers(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_NINE, doc.text, doc.windows("routing", 20, 60)):
        if checksums.aba_routing(m.group()):
            yield _f("aba_routing", m, 0.9, "aba-371")


def ipv4s(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_IPV4, doc.text, doc.numbers):
        if _VERSION.search(doc.text, max(0, m.start() - 12), m.start()):
            continue
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        yield _f("ipv4", m, 0.85, "ipaddress")


def ibans(doc: Doc) -> Iterator[Finding]:
    text = doc.text
    for m in _IBAN.finditer(text):
        start, end = m.span()
        if start and text[start - 1].isalnum():
            continue
        # Longest first: the IBAN may be followed by more capitals ("... 00 EUR").
        for cut in range(end, start + 14, -1):
            at_boundary = cut == end and (cut == len(text) or not text[cut].isalnum())
            if (at_boundary or text[cut] == " ") and checksums.iban(text[start:cut]):
                yield _f("iban", (start, cut), 0.95, "mod97")
                break


def phones(doc: Doc) -> Iterator[Finding]:
    runs = [(s, e) for s, e in doc.numbers if sum(c.isdigit() for c in doc.text[s:e]) >= 7]
    if not runs:
        return
    import phonenumbers

    # VALID (a number its region's plan allows) plus digit groups written the way that
    # region groups them: "753.4.254.180" is a valid US number, but not written as one.
    LENIENCY = phonenumbers.Leniency.STRICT_GROUPING
    text = doc.text
    for start, end in runs:
        low = max(0, start - 3)
        for match in phonenumbers.PhoneNumberMatcher(text[low:end], "US", leniency=LENIENCY):
            first, last = low + match.start, low + match.end
            if (first and text[first - 1].isalnum()) or (last < len(text) and text[last].isalnum()):
                continue  # part of a longer token (a UUID, a part number)
            if any(doc.near(cls, first, last, before=40, after=0) for cls in _ID_WORDS):
                continue  # "NHS number 943 476 5919": the context says what it is
            international = match.raw_string.startswith("+")
            yield _f("phone", (first, last), 0.85 if international else 0.75, "phonenumbers")
