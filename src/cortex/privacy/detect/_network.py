"""Addresses: e-mail, URLs with credentials, IPv6, MAC and cryptocurrency addresses."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from cortex.privacy.detect import checksums
from cortex.privacy.detect._doc import Doc, Span, finditer
from cortex.privacy.detect._model import Finding

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"(?<![A-Za-z0-9._%+\-])(?P<local>[A-Za-z0-9._%+\-]{{1,64}})@{_LABEL}"
                    rf"(?:\.{_LABEL})*\.(?P<tld>[A-Za-z]{{2,63}})(?![A-Za-z0-9\-]|\.[A-Za-z0-9])")
_SSH_PATH = re.compile(r":[\w~.\-]*/")
_NOT_TLDS = frozenset(("png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff"))

_URL_CREDENTIALS = re.compile(
    r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{1,15}://(?P<user>[^\s/?#@:\"'<>]*)"
    r":(?P<pw>[^\s/?#@\"'<>]+)@(?:[A-Za-z0-9.\-_~%]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
_PLACEHOLDER = re.compile(r"^(?:\*+|x+|<.*>|\$\{.*\}|\$\w+|%.*%|\{\{.*\}\})$", re.IGNORECASE)

_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?"
                   r"(?![\w:]|\.\w)")
_MAC = re.compile(r"(?<![\w:\-.])[0-9A-Fa-f]{2}(?P<s>[:\-])[0-9A-Fa-f]{2}(?:(?P=s)[0-9A-Fa-f]{2}){4}"
                  r"(?![\w:\-]|\.\w)|(?<![\w.])[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}(?![\w]|\.\w)")

_MAC_WORDS = re.compile(r"\bmac\b|hwaddr|ether|hardware address|bssid")

# Whole-text patterns start with a literal or a rare class (no lookbehind, which would make
# ``re`` try every position); the character before a match is checked by ``_alone``.
_BASE58 = re.compile(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![A-Za-z0-9])")
_BECH32 = re.compile(r"(?:bc|tb|BC|TB)1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87}(?![A-Za-z0-9])")
_ETH = re.compile(r"0x[0-9a-fA-F]{40}(?![0-9A-Za-z])")
_ALNUM = re.compile(r"[A-Za-z0-9]")


def _alone(text: str, m: re.Match[str]) -> bool:
    return not (m.start() and _ALNUM.match(text, m.start() - 1))


def _f(type_: str, span: Span, confidence: float, validator: str) -> Finding:
    return Finding(type=type_, start=span[0], end=span[1], confidence=confidence, validator=validator)


def _around(text: str, needle: str, before: int, after: int) -> list[Span]:
    spans: list[Span] = []
    at = text.find(needle)
    while at != -1:
        start = max(0, at - before)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], at + after)
        else:
            spans.append((start, at + after))
        at = text.find(needle, at + 1)
    return spans


def emails(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_EMAIL, doc.text, _around(doc.text, "@", 65, 1), margin=0, reach=260):
        local = m.group("local")
        if local.startswith(".") or local.endswith(".") or ".." in local:
            continue
        if m.group("tld").lower() in _NOT_TLDS:
            continue
        if doc.text.endswith("://", 0, m.start()) or _SSH_PATH.match(doc.text, m.end()):
            continue  # https://user@host/ and git@host:org/repo name a login, not a mailbox
        yield _f("email", m.span(), 0.95, "pattern")


def url_credentials(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_URL_CREDENTIALS, doc.text, _around(doc.text, "://", 17, 0), margin=0,
                      reach=400):
        if not _PLACEHOLDER.match(m.group("pw")):
            yield _f("url_credentials", m.span(), 0.95, "pattern")


def ipv6s(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_IPV6, doc.text, doc.separators, margin=0):
        value = m.group()
        if sum(1 for group in value.split(":") if group) < 2:
            continue
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            continue
        yield _f("ipv6", m.span(), 0.85, "ipaddress")


def macs(doc: Doc) -> Iterator[Finding]:
    for m in finditer(_MAC, doc.text, doc.separators, margin=0):
        value = m.group()
        hex_digits = re.sub(r"[^0-9A-Fa-f]", "", value).lower()
        if hex_digits in ("000000000000", "ffffffffffff"):
            continue
        if ":" not in value and not any(c in "abcdef" for c in hex_digits) and not _MAC_WORDS.search(
                doc.lower, max(0, m.start() - 40), m.start()):
            continue  # 12-34-56-78-90-12 is as likely any dashed number, unless called a MAC
        yield _f("mac_address", m.span(), 0.85, "pattern")


def crypto_wallets(doc: Doc) -> Iterator[Finding]:
    text = doc.text
    for m in _BASE58.finditer(text):
        if _alone(text, m) and checksums.bitcoin_base58(m.group()):
            yield _f("crypto_wallet", m.span(), 0.95, "base58check")
    if "bc1" in doc.lower or "tb1" in doc.lower:
        for m in _BECH32.finditer(text):
            decoded = checksums.segwit_decode(m.group()) if _alone(text, m) else None
            if decoded is not None:
                yield _f("crypto_wallet", m.span(), 0.97, "bech32" if decoded[0] == 0 else "bech32m")
    if "0x" in text:
        for m in _ETH.finditer(text):
            body = m.group()[2:]
            if not _alone(text, m):
                continue
            if body.islower() or body.isupper() or body.isdigit():
                yield _f("crypto_wallet", m.span(), 0.6, "pattern")
            elif checksums.eip55(m.group()):
                yield _f("crypto_wallet", m.span(), 0.95, "eip55")
