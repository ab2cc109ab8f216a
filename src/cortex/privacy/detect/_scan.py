"""``scan``: run the detectors a request needs, then keep one finding per stretch of text."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from cortex.privacy.detect import _context, _network, _numbers, _tokens
from cortex.privacy.detect._doc import Doc
from cortex.privacy.detect._model import Finding
from cortex.privacy.detect._types import TYPES, expand

Gate = Callable[[Doc], bool]


@dataclass(frozen=True)
class _Detector:
    types: frozenset[str]
    run: Callable[[Doc, frozenset[str]], Iterable[Finding]]
    gate: Gate  # a cheap test: without it the detector cannot find anything


def _one(type_: str, run: Callable[[Doc], Iterable[Finding]], gate: Gate) -> _Detector:
    return _Detector(frozenset((type_,)), lambda doc, _: run(doc), gate)


def _digits(doc: Doc) -> bool:
    return doc.has_digit


def _runs(doc: Doc) -> bool:
    return doc.has_digit and bool(doc.numbers)


def _contains(*needles: str) -> Gate:
    return lambda doc: any(needle in doc.text for needle in needles)


def _says(*needles: str) -> Gate:
    """Digits, and one of the context words (lower case) somewhere."""
    return lambda doc: doc.has_digit and any(needle in doc.lower for needle in needles)


def _always(doc: Doc) -> bool:
    return True


_DETECTORS: tuple[_Detector, ...] = (
    _Detector(frozenset(rule.type for rule in _tokens.RULES), _tokens.tokens, _always),
    _one("private_key", _tokens.private_keys, _contains("PRIVATE KEY")),
    _one("email", _network.emails, _contains("@")),
    _one("url_credentials", _network.url_credentials, _contains("://")),
    _one("ipv6", _network.ipv6s, _contains(":")),
    _one("mac_address", _network.macs, _always),
    _one("crypto_wallet", _network.crypto_wallets, _digits),
    _one("credit_card", _numbers.credit_cards, _runs),
    _one("iban", _numbers.ibans, _digits),
    _one("us_ssn", _numbers.ssns, _runs),
    _one("uk_nhs", _numbers.nhs_numbers, _runs),
    _one("in_aadhaar", _numbers.aadhaar_numbers, _runs),
    _one("aba_routing", _numbers.routing_numbers, _says("routing", "aba", "rtn", "transit")),
    _one("ipv4", _numbers.ipv4s, _runs),
    _one("phone", _numbers.phones, _runs),
    _one("date_of_birth", _context.dates_of_birth, _says("born", "dob", "d.o.b", "birth")),
    _one("passport", _context.passports, _says("passport")),
    _one("drivers_license", _context.drivers_licenses, _says("licen", "dl")),
    _one("password", _context.passwords, lambda doc: "pass" in doc.lower or "pwd" in doc.lower),
    _one("high_entropy_secret", _context.high_entropy, _digits),
    _one("aws_access_key", _context.aws_secret_keys, _says("aws", "secret")),
)
_ALL = frozenset(TYPES)


def _wanted(types: Collection[str] | None) -> frozenset[str]:
    if types is None:
        return _ALL
    if isinstance(types, str):
        types = (types,)
    return frozenset().union(*(expand(name) for name in types))


def scan(text: str, types: Collection[str] | None = None) -> list[Finding]:
    """Every entity of ``types`` (type or group names; default all) in ``text``, by start.

    Where findings overlap, the more confident one is kept, then the longer one (a URL
    with credentials over the e-mail inside it, a card number over a phone reading).
    Raises ``UnknownEntityType`` (a ``ValueError``) for a name that is no type or group.
    """
    wanted = _wanted(types)
    if not text or not wanted:
        return []
    doc = Doc(text)
    found = [finding
             for detector in _DETECTORS if detector.types & wanted and detector.gate(doc)
             for finding in detector.run(doc, wanted) if finding.type in wanted]
    return resolve(found)


def resolve(findings: Iterable[Finding]) -> list[Finding]:
    """Non-overlapping findings: most confident first, then longest, then earliest."""
    ranked = sorted(findings, key=lambda f: (-f.confidence, f.start - f.end, f.start))
    starts: list[int] = []
    kept: list[Finding] = []
    for finding in ranked:
        i = bisect.bisect_left(starts, finding.end)
        if i and kept[i - 1].end > finding.start:
            continue  # overlaps the kept finding that starts just before its end
        starts.insert(i, finding.start)
        kept.insert(i, finding)
    return kept
