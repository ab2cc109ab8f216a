"""Write the labelled corpus of the PII and secrets detectors (cortex.privacy.detect).

    python benchmarks/make_privacy_corpus.py            # rewrites the shipped corpus
    python benchmarks/make_privacy_corpus.py --out /tmp/corpus.jsonl

Every value is made here from a fixed seed, never copied from real people: check digits
are computed by this script's own small implementations (Luhn, mod 97, Verhoeff, mod 11,
3-7-1, Base58Check, bech32/bech32m), independent of the detector's validators, so a bug
in one shows up as a miss against the other. For each type there are positives (a
realistic sentence, the value's span labelled) and near-miss negatives (a wrong check
digit, a never-issued range, a wrong length, a lookalike in an unrelated sense).

One JSON object per line: {"id", "target", "kind": "positive"|"negative", "text",
"labels": [{"type", "start", "end"}]}. Same seed, same bytes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import random
import string
import zlib
from collections.abc import Callable
from pathlib import Path

import phonenumbers

from cortex.privacy.detect.checksums import keccak256

OUT = Path(__file__).parents[1] / "src" / "cortex" / "privacy" / "corpus" / "corpus.jsonl"
SEED = 20240507
CHECKSUM_N = 50  # positives and negatives each, for the checksum-validated types
OTHER_N = 20

NAMES = [
    "Ana",
    "Bruno",
    "Chiara",
    "Dev",
    "Elif",
    "Farid",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Lars",
    "Mira",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tomas",
    "Uma",
    "Vik",
    "Wen",
    "Xenia",
    "Yusuf",
    "Zofia",
]
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
HEX = "0123456789abcdef"


class Corpus:
    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, target: str, kind: str, template: str, value: str = "", label: str | None = None) -> None:
        """``template`` holds ``{v}`` where the value goes; positives label its span.

        ``label`` names the value's type when it is not ``target``: a near miss of one type
        may still be a true value of another (a 39-character AWS "secret key" is still a
        high-entropy secret), and a negative for ``target`` then carries that label.
        """
        before, _, after = template.partition("{v}")
        text = before + value + after if "{v}" in template else template
        labels = []
        if kind == "positive" or label is not None:
            labels.append({"type": label or target, "start": len(before), "end": len(before) + len(value)})
        n = self.counts.get((target, kind), 0) + 1
        self.counts[(target, kind)] = n
        self.rows.append(
            {
                "id": f"{target}-{kind[:3]}-{n:03d}",
                "target": target,
                "kind": kind,
                "text": text,
                "labels": labels,
            }
        )


# ---- independent check-digit arithmetic ----------------------------------------------------
def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these get doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


def mod97(text: str) -> int:
    return int("".join(str(int(c, 36)) for c in text)) % 97


def _verhoeff_tables() -> tuple[list[list[int]], list[list[int]], list[int]]:
    # d: the dihedral group D5 multiplication table; p: permutations; inv: inverses.
    d = [[0] * 10 for _ in range(10)]
    for i in range(10):
        for j in range(10):
            if i < 5 and j < 5:
                d[i][j] = (i + j) % 5
            elif i < 5:
                d[i][j] = 5 + (i + j - 5) % 5
            elif j < 5:
                d[i][j] = 5 + (i - 5 - j) % 5
            else:
                d[i][j] = (i - j) % 5
    base = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4]
    p = [list(range(10))]
    for _ in range(7):
        p.append([base[x] for x in p[-1]])
    inv = [next(j for j in range(10) if d[i][j] == 0) for i in range(10)]
    return d, p, inv


VD, VP, VINV = _verhoeff_tables()


def verhoeff_digit(body: str) -> str:
    c = 0
    for i, ch in enumerate(reversed(body)):
        c = VD[c][VP[(i + 1) % 8][int(ch)]]
    return str(VINV[c])


def nhs_digit(body: str) -> int:
    check = 11 - sum(int(ch) * w for ch, w in zip(body, range(10, 1, -1), strict=True)) % 11
    return 0 if check == 11 else check  # 10: no valid number with this body


def aba_digit(body: str) -> str:
    weights = (3, 7, 1, 3, 7, 1, 3, 7)
    return str(-sum(int(ch) * w for ch, w in zip(body, weights, strict=True)) % 10)


def b58check(payload: bytes) -> str:
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n, out = int.from_bytes(raw, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def bech32_encode(hrp: str, version: int, program: bytes, m: bool) -> str:
    acc = bits = 0
    data = [version]
    for byte in program:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + data + [0] * 6
    chk = 1
    for v in values:
        top, chk = chk >> 25, (chk & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            chk ^= g if (top >> i) & 1 else 0
    polymod = chk ^ (0x2BC830A3 if m else 1)
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH[d] for d in data + checksum)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def crc_b62(body: str) -> str:
    value, out = zlib.crc32(body.encode()), ""
    for _ in range(6):
        value, r = divmod(value, 62)
        out = B62[r] + out
    return out


class Gen:
    """Value makers, all drawing from one seeded ``random.Random``."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def digits(self, n: int, first: str = "0123456789") -> str:
        return self.r.choice(first) + "".join(self.r.choice(string.digits) for _ in range(n - 1))

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def name(self) -> str:
        return self.r.choice(NAMES)

    def group(self, number: str, sizes: list[int], sep: str) -> str:
        out, i = [], 0
        for size in sizes:
            out.append(number[i : i + size])
            i += size
        return sep.join(part for part in out if part)

    def pick(self, *options: str) -> str:
        return self.r.choice(options)

    def bump(self, digit: str) -> str:
        return str((int(digit) + self.r.randint(1, 9)) % 10)


CARD_NETWORKS = [
    ("4", 16),
    ("4", 16),
    ("4", 19),
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("2720", 16),
    ("34", 15),
    ("37", 15),
    ("6011", 16),
    ("65", 16),
    ("3530", 16),
    ("36", 14),
    ("62", 16),
    ("62", 19),
]


def card(g: Gen, valid: bool = True, prefix: str | None = None, length: int | None = None) -> str:
    if prefix is None or length is None:
        prefix, length = g.r.choice(CARD_NETWORKS)
    body = prefix + g.digits(length - len(prefix) - 1)
    check = luhn_digit(body)
    return body + (check if valid else g.bump(check))


def format_card(g: Gen, number: str) -> str:
    sep = g.pick(" ", " ", "-", "")
    if len(number) == 15:
        return g.group(number, [4, 6, 5], sep)
    if len(number) == 14:
        return g.group(number, [4, 6, 4], sep)
    return g.group(number, [4] * 5, sep)


IBAN_FORMATS = {  # country: BBAN as (kind, length) runs, n digits, a capitals, c either
    "DE": "n18",
    "GB": "a4n14",
    "FR": "n10c11n2",
    "ES": "n20",
    "IT": "a1n10c12",
    "NL": "a4n10",
    "BE": "n12",
    "CH": "n5c12",
    "AT": "n16",
    "PL": "n24",
    "SE": "n20",
    "DK": "n14",
    "IE": "a4n14",
    "PT": "n21",
    "NO": "n11",
    "FI": "n14",
    "LU": "n3c13",
    "CZ": "n20",
}


def bban(g: Gen, spec: str) -> str:
    out, i = "", 0
    while i < len(spec):
        kind, j = spec[i], i + 1
        while j < len(spec) and spec[j].isdigit():
            j += 1
        n = int(spec[i + 1 : j])
        alphabet = {
            "n": string.digits,
            "a": string.ascii_uppercase,
            "c": string.digits + string.ascii_uppercase,
        }[kind]
        out += g.chars(alphabet, n)
        i = j
    return out


def iban(g: Gen, country: str | None = None, body: str | None = None) -> str:
    country = country or g.r.choice(sorted(IBAN_FORMATS))
    body = body if body is not None else bban(g, IBAN_FORMATS[country])
    check = 98 - mod97(body + country + "00")
    return f"{country}{check:02d}{body}"


def format_iban(g: Gen, value: str) -> str:
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4)) if g.r.random() < 0.6 else value


Make = Callable[[Corpus, Gen, int], None]


# ---- checksum-validated types ------------------------------------------------------------------
def make_credit_card(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "Please charge the deposit to my card {v}, expiry 09/27.",
        "{name} read out the card number {v} over the phone.",
        "Card: {v} (personal), billing zip 94110",
        "I updated the payment method to {v} yesterday.",
        "Use {v} for the hotel booking, the CVC is on the back.",
        "her corporate card {v} was declined at checkout",
        "card {v} 09/27 cvc 123",
        "Card number:{v}",
    ]
    for _ in range(n):
        c.add("credit_card", "positive", g.r.choice(pos).replace("{name}", g.name()), format_card(g, card(g)))
    neg = [
        "Please charge the deposit to my card {v}, expiry 09/27.",
        "The tracking number is {v}.",
        "Order reference {v} has shipped.",
        "Card: {v} (personal), billing zip 94110",
        "Invoice {v} is due on the 30th.",
    ]
    for i in range(n):
        kind = i % 4
        if kind == 0:  # Luhn broken: one check digit off
            value = format_card(g, card(g, valid=False))
        elif kind == 1:  # Luhn valid, but no network issues this prefix
            value = format_card(g, card(g, prefix=g.pick("1", "8", "90", "70"), length=16))
        elif kind == 2:  # Luhn valid, network prefix, wrong length (Amex with 16 digits)
            value = card(g, prefix=g.pick("34", "37"), length=16)
        else:  # a long reference number that fails Luhn
            value = g.digits(16, "123456789")
            value = value[:-1] + g.bump(luhn_digit(value[:-1]))
        c.add("credit_card", "negative", g.r.choice(neg), value)


def make_iban(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "Please wire the rent to IBAN {v} by Friday.",
        "My bank details: {v} (BIC on request).",
        "{name}'s account {v} receives the refund.",
        "IBAN: {v}",
        "Transfer the deposit to {v}, reference FLAT-12.",
        "Beneficiary: {name} Example, IBAN {v}. Thanks!",
    ]
    for _ in range(n):
        c.add("iban", "positive", g.r.choice(pos).replace("{name}", g.name()), format_iban(g, iban(g)))
    for i in range(n):
        kind = i % 4
        value = iban(g)
        if kind == 0:  # wrong check digits
            check = int(value[2:4])
            value = f"{value[:2]}{(check + g.r.randint(1, 40)) % 97 + 2:02d}{value[4:]}"
            value = value if mod97(value[4:] + value[:4]) != 1 else value[:2] + "00" + value[4:]
        elif kind == 1:  # mod 97 fine, but one character short for its country
            country = value[:2]
            value = iban(g, country, bban(g, IBAN_FORMATS[country])[:-1])
        elif kind == 2:  # mod 97 fine, no such country
            value = iban(g, g.pick("XK", "QQ", "ZZ"), g.digits(18))
        else:  # a transposition of two digits
            body = value[4:]
            j = g.r.randrange(len(body) - 1)
            swapped = body[:j] + body[j + 1] + body[j] + body[j + 2 :]
            value = value[:4] + swapped if mod97(swapped + value[:4]) != 1 else value[:2] + "01" + body
        c.add("iban", "negative", g.r.choice(pos).replace("{name}", g.name()), format_iban(g, value))


def ssn(g: Gen) -> str:
    while True:
        area = g.r.randint(1, 899)
        if area != 666:
            return f"{area:03d}-{g.r.randint(1, 99):02d}-{g.r.randint(1, 9999):04d}"


def make_us_ssn(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "My SSN is {v}.",
        "Social Security number: {v}",
        "{name} wrote her SSN ({v}) on the form.",
        "The applicant's social security number is {v}.",
        "SSN {v}, DOB on file.",
        "ssn:{v}",
    ]
    for i in range(n):
        value = ssn(g)
        if i % 5 == 3:
            value = value.replace("-", " ")
        elif i % 5 == 4:
            value = value.replace("-", "")
        c.add("us_ssn", "positive", g.r.choice(pos).replace("{name}", g.name()), value)
    for i in range(n):
        area, group, serial = ssn(g).split("-")
        kind = i % 5
        if kind == 0:
            area = "666"
        elif kind == 1:
            area = f"9{g.digits(2)}"
        elif kind == 2:
            area = "000"
        elif kind == 3:
            group = "00"
        else:
            serial = "0000"
        c.add("us_ssn", "negative", g.r.choice(pos).replace("{name}", g.name()), f"{area}-{group}-{serial}")


def nhs(g: Gen, valid: bool = True) -> str:
    while True:
        body = g.digits(9, "4567")
        check = nhs_digit(body)
        if check == 10:
            continue
        return body + (str(check) if valid else str((check + g.r.randint(1, 9)) % 10))


def make_uk_nhs(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "My NHS number is {v}.",
        "NHS no. {v} - please bring it to the appointment.",
        "{name}'s NHS number: {v}",
        "Patient NHS number {v}, GP surgery in Leeds.",
        "Quote your NHS number ({v}) when you call.",
    ]
    for i in range(n):
        value = nhs(g)
        value = g.group(value, [3, 3, 4], " ") if i % 3 else value
        c.add("uk_nhs", "positive", g.r.choice(pos).replace("{name}", g.name()), value)
    for i in range(n):
        value = nhs(g, valid=False)
        while nhs_digit(value[:9]) == int(value[9]):  # (check 10 bodies can collide)
            value = nhs(g, valid=False)
        value = g.group(value, [3, 3, 4], " ") if i % 3 else value
        c.add("uk_nhs", "negative", g.r.choice(pos).replace("{name}", g.name()), value)


def aadhaar(g: Gen, valid: bool = True, first: str = "23456789") -> str:
    body = g.digits(11, first)
    check = verhoeff_digit(body)
    return body + (check if valid else g.bump(check))


def make_in_aadhaar(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "My Aadhaar number is {v}.",
        "Aadhaar: {v}",
        "{name} linked Aadhaar {v} to the bank account.",
        "Please verify the Aadhaar card no. {v} before onboarding.",
        "UID {v} (Aadhaar) on the KYC form",
    ]
    for i in range(n):
        value = aadhaar(g)
        value = g.group(value, [4, 4, 4], g.pick(" ", " ", "-")) if i % 4 else value
        c.add("in_aadhaar", "positive", g.r.choice(pos).replace("{name}", g.name()), value)
    for i in range(n):
        value = aadhaar(g, valid=False) if i % 3 else aadhaar(g, first="01")
        value = g.group(value, [4, 4, 4], " ") if i % 4 else value
        c.add("in_aadhaar", "negative", g.r.choice(pos).replace("{name}", g.name()), value)


ABA_PREFIXES = [f"{i:02d}" for i in (*range(1, 13), *range(21, 33), *range(61, 73), 80)]


def aba(g: Gen, valid: bool = True) -> str:
    body = g.r.choice(ABA_PREFIXES) + g.digits(6)
    check = aba_digit(body)
    return body + (check if valid else g.bump(check))


def make_aba_routing(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "Routing number {v}, account ending 4431.",
        "ABA {v} for domestic wires.",
        "Our bank's routing number is {v}.",
        "RTN: {v}",
        "Direct deposit: routing {v}, checking account.",
    ]
    for _ in range(n):
        c.add("aba_routing", "positive", g.r.choice(pos), aba(g))
    neg_unrelated = [
        "Order {v} has been dispatched.",
        "Employee ID {v} badge renewal",
        "Case number {v} was closed.",
    ]
    for i in range(n):
        if i % 3 == 2:  # a valid-checksum number, but nothing says it is a routing number
            c.add("aba_routing", "negative", g.r.choice(neg_unrelated), aba(g))
        elif i % 3 == 1:  # checksum fine, prefix no Federal Reserve district uses
            body = g.pick("13", "19", "40", "55", "90") + g.digits(6)
            c.add("aba_routing", "negative", g.r.choice(pos), body + aba_digit(body))
        else:
            c.add("aba_routing", "negative", g.r.choice(pos), aba(g, valid=False))


def eth(g: Gen) -> str:
    body = g.chars("0123456789abcdef", 40)
    digest = keccak256(body.encode()).hex()
    return "0x" + "".join(
        ch.upper() if int(h, 16) >= 8 else ch for ch, h in zip(body, digest[:40], strict=True)
    )


def wallet(g: Gen, i: int) -> str:
    kind = i % 6
    if kind in (0, 1):
        return b58check(bytes([0 if kind == 0 else 5]) + g.r.randbytes(20))
    if kind == 2:
        return bech32_encode("bc", 0, g.r.randbytes(20), m=False)
    if kind == 3:
        return bech32_encode("bc", 0, g.r.randbytes(32), m=False)
    if kind == 4:
        return bech32_encode("bc", 1, g.r.randbytes(32), m=True)
    return eth(g)


def corrupt(g: Gen, value: str, alphabet: str) -> str:
    j = g.r.randrange(len(value) - 8, len(value))
    return value[:j] + g.r.choice(alphabet.replace(value[j], "")) + value[j + 1 :]


def make_crypto_wallet(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "Send the BTC to {v} please.",
        "My wallet address is {v}",
        "{name} tipped me at {v}.",
        "Donations: {v}",
        "withdraw to {v} (cold storage)",
    ]
    for i in range(n):
        c.add("crypto_wallet", "positive", g.r.choice(pos).replace("{name}", g.name()), wallet(g, i))
    for i in range(n):
        kind = i % 5
        value = wallet(g, i)
        if kind == 0 and value.startswith(("1", "3")):
            value = corrupt(g, value, B58)
        elif kind == 1 or value.startswith("bc1"):
            value = corrupt(g, value, BECH) if value.startswith("bc1") else corrupt(g, value, B58)
        elif kind == 2:  # a segwit v1 program with the v0 (bech32) checksum: BIP-350 invalid
            value = bech32_encode("bc", 1, g.r.randbytes(32), m=False)
        elif kind == 3 and value.startswith("0x"):  # EIP-55 with one letter's case flipped
            letters = [j for j, ch in enumerate(value) if ch.isalpha() and j > 1]
            j = g.r.choice(letters)
            value = value[:j] + value[j].swapcase() + value[j + 1 :]
        else:  # random Base58 of an address's length
            value = "1" + g.chars(B58, 33)
        c.add("crypto_wallet", "negative", g.r.choice(pos).replace("{name}", g.name()), value)


def jwt(g: Gen) -> str:
    alg = g.pick("HS256", "RS256", "ES256")
    header = {"alg": alg, "typ": "JWT"} if alg == "HS256" else {"alg": alg, "kid": g.chars(B62, 8)}
    payload = {"sub": g.digits(8), "name": g.name(), "iat": 1700000000 + g.r.randint(0, 10**7)}
    if g.r.random() < 0.5:
        payload["exp"] = int(payload["iat"]) + 3600
    signing = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(payload, separators=(",", ":")).encode())
    )
    if alg == "HS256":
        signature = hmac.new(g.r.randbytes(32), signing.encode(), hashlib.sha256).digest()
    else:
        signature = g.r.randbytes(256 if alg == "RS256" else 64)
    return signing + "." + b64url(signature)


def make_jwt(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "Authorization: Bearer {v}",
        "the session cookie was {v}",
        "token={v}",
        "Here is the JWT from the login response: {v}",
        "curl -H 'Authorization: Bearer {v}' ...",
    ]
    for _ in range(n):
        c.add("jwt", "positive", g.r.choice(pos), jwt(g))
    neg = [
        "the build artifact is {v}",
        "see the cache entry {v} for details",
        "id: {v}",
        "{v} is the name of the uploaded blob",
    ]
    for i in range(n):
        kind = i % 4
        if kind == 0:  # three base64url segments that are not JSON
            value = ".".join(b64url(g.r.randbytes(g.r.randint(12, 40))) for _ in range(3))
        elif kind == 1:  # JSON header without "alg"
            value = ".".join((b64url(b'{"typ":"JWT"}'), b64url(b'{"sub":"1"}'), b64url(g.r.randbytes(32))))
        elif kind == 2:  # header fine, payload not JSON
            value = ".".join(
                (b64url(b'{"alg":"HS256"}'), "eyJ" + b64url(g.r.randbytes(24)), b64url(g.r.randbytes(32)))
            )
        else:  # only two segments
            value = jwt(g).rsplit(".", 1)[0]
        c.add("jwt", "negative", g.r.choice(neg), value)


# ---- other PII --------------------------------------------------------------------------------
DOMAINS = ["example.org", "example.com", "mail.example.net", "example.co.uk", "uni-example.edu"]


def make_email(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "Email me at {v} when you land.",
        "{name}'s address is {v}.",
        "cc: {v}",
        "Contact <{v}> for the keys.",
        "sent from {v} at 9:14",
        "(mailto:{v})",
        "EMAIL: {v}.",
    ]
    for _ in range(n):
        name = g.name().lower()
        local = g.pick(
            name,
            f"{name}.{g.name().lower()}",
            f"{name}{g.digits(2)}",
            f"{name}+news",
            f"{name}_{g.chars(string.ascii_lowercase, 3)}",
        )
        c.add(
            "email", "positive", g.r.choice(pos).replace("{name}", g.name()), f"{local}@{g.r.choice(DOMAINS)}"
        )
    neg = [
        "Ping me on Slack, I'm {v} there.",
        "The retina image is {v}.",
        "ssh into {v} and restart it.",
        "email me at ana at example dot org",
        "The @channel mention woke everyone up.",
        "She tweeted at {v} about it.",
        "Reply to {v} won't work.",
    ]
    values = [
        "@ana.lopez",
        "logo@2x.png",
        "admin@localhost",
        "",
        "",
        "@chiara_dev",
        "noreply@",
        "a..b@example.org",
    ]
    for i in range(n):
        template, value = neg[i % len(neg)], values[i % len(values)]
        c.add("email", "negative", template, value)


US_AREAS = ["212", "415", "312", "617", "206", "303", "512", "718", "404", "305", "713", "602"]


def phone(g: Gen) -> tuple[str, str]:
    """(written form, region) of a number phonenumbers calls valid."""
    while True:
        kind = g.r.randrange(5)
        if kind <= 1:
            area, ex, line = g.r.choice(US_AREAS), g.digits(3, "23456789"), g.digits(4)
            written = g.pick(
                f"({area}) {ex}-{line}",
                f"{area}-{ex}-{line}",
                f"{area}.{ex}.{line}",
                f"+1 {area} {ex} {line}",
                f"1-{area}-{ex}-{line}",
            )
            region = "US"
        elif kind == 2:
            written, region = g.pick(f"+44 20 7946 0{g.digits(3)}", f"+44 7700 900{g.digits(3)}"), "GB"
        elif kind == 3:
            written, region = f"+49 30 {g.digits(8, '123456789')}", "DE"
        else:
            written, region = f"+91 98{g.digits(3)} {g.digits(5)}", "IN"
        parsed = phonenumbers.parse(written, "US")
        if phonenumbers.is_valid_number(parsed):
            return written, region


def make_phone(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "Call me at {v} after six.",
        "{name}'s mobile is {v}.",
        "Phone: {v}",
        "You can reach the front desk on {v}.",
        "text {v} if the door is locked",
        "tel:{v}",
        "My number: {v}, call after 5pm",
    ]
    for _ in range(n):
        c.add("phone", "positive", g.r.choice(pos).replace("{name}", g.name()), phone(g)[0])
    neg = [
        "The meeting is at 10:30 in room 4512.",
        "We sold {v} units last quarter.",
        "Call me at {v} after six.",
        "Flight {v} departs at 14:05.",
        "The ISBN is {v}.",
        "It happened between 1998-2004 mostly.",
        "Order #{v} confirmed.",
    ]
    for i in range(n):
        value = g.pick(
            f"(123) 456-{g.digits(4)}",
            g.digits(5),
            f"555-{g.digits(4)}",
            f"978-{g.digits(1)}-{g.digits(3)}-{g.digits(5)}-{g.digits(1)}",
            f"LH{g.digits(4)}",
            f"{g.digits(3)}-{g.digits(2)}",
            f"{g.digits(4)}",
        )
        c.add("phone", "negative", neg[i % len(neg)], value)


def make_ipv4(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "The server lives at {v}.",
        "Blocked {v} after the brute-force attempts.",
        "ssh admin@{v}",
        "{name} connected from {v} last night.",
        "Set the DNS to {v} please.",
    ]
    for _ in range(n):
        value = g.pick(
            f"203.0.113.{g.r.randint(1, 254)}",
            f"10.{g.r.randint(0, 255)}.{g.r.randint(0, 255)}.{g.r.randint(1, 254)}",
            f"192.168.{g.r.randint(0, 255)}.{g.r.randint(1, 254)}",
            f"{g.r.randint(11, 223)}.{g.r.randint(0, 255)}.{g.r.randint(0, 255)}.{g.r.randint(1, 254)}",
        )
        c.add("ipv4", "positive", g.r.choice(pos).replace("{name}", g.name()), value)
    neg = [
        "Upgrade to version {v} first.",
        "We are on Python {v} now.",
        "Released v{v} today.",
        "The address {v} is not valid.",
        "See section {v} of the manual.",
        "Build {v} fixed the crash.",
    ]
    for i in range(n):
        value = g.pick(
            f"{g.r.randint(1, 9)}.{g.r.randint(0, 20)}.{g.r.randint(0, 9)}",
            f"{g.r.randint(256, 999)}.{g.r.randint(0, 255)}.{g.r.randint(0, 255)}.{g.r.randint(0, 255)}",
            f"{g.r.randint(1, 9)}.{g.r.randint(0, 9)}.{g.r.randint(0, 9)}.{g.r.randint(0, 9)}",
            f"{g.r.randint(1, 30)}.{g.r.randint(1, 12)}.{g.r.randint(2000, 2024)}",
        )
        template = neg[i % len(neg)]
        if "address" in template and value.count(".") != 3:
            value = f"192.168.{g.r.randint(256, 400)}.1"
        c.add("ipv4", "negative", template, value)


def make_ipv6(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "The host resolves to {v}.",
        "Allow {v} in the firewall.",
        "Client IP: {v}",
        "{name}'s router hands out {v}.",
    ]
    hexes = "0123456789abcdef"
    for _ in range(n):
        groups = [g.chars(hexes, g.r.randint(1, 4)).lstrip("0") or "0" for _ in range(8)]
        value = g.pick(
            "2001:db8:" + ":".join(groups[2:]),
            "fe80::" + ":".join(groups[4:]),
            "2001:db8::" + groups[7],
            ":".join(groups).upper(),
        )
        c.add("ipv6", "positive", g.r.choice(pos).replace("{name}", g.name()), value)
    neg = [
        "The race finished at {v} on the clock.",
        "Use std::vector here.",
        "Mix it {v} by volume.",
        "The address {v} looks broken.",
        "Ratio of {v} for the aspect.",
    ]
    for i in range(n):
        value = g.pick(
            f"{g.r.randint(0, 23):02d}:{g.r.randint(0, 59):02d}:{g.r.randint(0, 59):02d}",
            f"{g.r.randint(1, 5)}:{g.r.randint(1, 5)}:{g.r.randint(1, 5)}",
            f"2001:db8::{g.chars(hexes, 4)}::{g.chars(hexes, 3)}",
            f"2001:db8:{g.chars(hexes, 5)}:1:2:3:4:5",
        )
        c.add("ipv6", "negative", neg[i % len(neg)], value)


def make_mac_address(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "The laptop's MAC address is {v}.",
        "Whitelist {v} on the guest network.",
        "HWaddr {v}",
        "{name}'s phone shows up as {v} in the router log.",
    ]
    for _ in range(n):
        octets = [g.chars("0123456789abcdef", 2) for _ in range(6)]
        value = g.pick(
            ":".join(octets),
            "-".join(octets).upper(),
            ":".join(octets).upper(),
            ".".join("".join(octets[i : i + 2]) for i in (0, 2, 4)),
        )
        if not any(ch in "abcdef" for ch in value.lower()) and "." in value:
            value = ":".join(octets)
        c.add("mac_address", "positive", g.r.choice(pos).replace("{name}", g.name()), value)
    neg = [
        "The race finished at {v}.",
        "Serial number {v} is printed on the box.",
        "Coordinates {v} are off by a bit.",
        "The MAC column was empty: {v}",
    ]
    for i in range(n):
        value = g.pick(
            f"{g.r.randint(0, 23):02d}:{g.r.randint(0, 59):02d}:{g.r.randint(0, 59):02d}",
            "-".join(g.digits(2) for _ in range(6)),
            "00:00:00:00:00:00",
            ":".join(g.chars("0123456789abcdef", 2) for _ in range(5)),
        )
        c.add("mac_address", "negative", neg[i % len(neg)], value)


def make_url_credentials(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "The staging DB is {v}/app, don't share it.",
        "Clone from {v}/team/repo.git",
        "DATABASE_URL={v}/prod",
        "Use {v} for the broker.",
        "feed URL: {v}/feed.xml",
    ]
    for _ in range(n):
        scheme = g.pick("https", "postgres", "ftp", "redis", "amqp", "mysql")
        user = "" if scheme == "redis" and g.r.random() < 0.5 else g.name().lower()
        password = g.chars(string.ascii_letters + string.digits + "!*", g.r.randint(8, 16))
        host = g.pick("db.internal", "files.example.org", "10.0.3.7", "cache.example.com")
        port = g.pick("", ":5432", ":6379", ":21")
        c.add("url_credentials", "positive", g.r.choice(pos), f"{scheme}://{user}:{password}@{host}{port}")
    neg = ["Clone from {v} instead.", "The docs live at {v}.", "DATABASE_URL={v}", "Mail {v} with questions."]
    for i in range(n):
        name = g.name().lower()
        value = g.pick(
            f"git@github.com:{name}/repo.git",
            f"https://{name}@example.org/repo",
            f"https://example.org/profile/@{name}",
            f"postgres://{name}:${{DB_PASSWORD}}@db/app",
            "https://example.org/search?q=a:b@c",
            f"mailto:{name}@example.org",
        )
        if value.startswith("mailto"):
            c.add("url_credentials", "negative", "Mail us, no address given.")
            continue
        c.add("url_credentials", "negative", neg[i % len(neg)], value)


MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def make_date_of_birth(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "I was born on {v} in Porto.",
        "DOB: {v}",
        "Date of birth: {v}",
        "{name} (born {v}) joined us.",
        "Her date of birth is {v}, please double-check.",
        "d.o.b. {v}",
        "birthdate {v}",
        "Born: {v}",
        "{name}, DOB {v}, allergic to penicillin",
    ]
    for _ in range(n):
        y, m, d = g.r.randint(1930, 2010), g.r.randint(1, 12), g.r.randint(1, 28)
        value = g.pick(
            f"{d} {MONTHS[m - 1]} {y}",
            f"{MONTHS[m - 1]} {d}, {y}",
            f"{y}-{m:02d}-{d:02d}",
            f"{d:02d}/{m:02d}/{y}",
            f"{m}/{d}/{y}",
            f"{d}.{m}.{y}",
        )
        c.add("date_of_birth", "positive", g.r.choice(pos).replace("{name}", g.name()), value)
    neg = [
        "I was born in {v}.",
        "The meeting on {v} was moved.",
        "DOB: {v}",
        "born {v} weeks early",
        "Date of birth: unknown, born abroad.",
        "Invoice date {v}, born of necessity.",
    ]
    for i in range(n):
        template = neg[i % len(neg)]
        if template.startswith("I was born in"):
            value = str(g.r.randint(1940, 2005))
        elif template.startswith("DOB"):
            value = g.pick(
                f"31/02/{g.r.randint(1950, 2000)}",
                f"{g.r.randint(2090, 2099)}-01-0{g.r.randint(1, 9)}",
                "13/13/1990",
            )
        elif template.startswith("born"):
            value = str(g.r.randint(2, 6))
        else:
            value = f"{g.r.randint(1, 28)}/{g.r.randint(1, 12)}/2023"
        c.add("date_of_birth", "negative", template, value)


def make_passport(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "My passport number is {v}.",
        "Passport No: {v}",
        "{name}'s passport ({v}) expires in 2031.",
        "passport: {v}, issued in Lisbon",
        "Please send a scan; passport no. {v}.",
    ]
    for _ in range(n):
        value = g.pick(
            g.digits(9),
            g.chars(string.ascii_uppercase, 1) + g.digits(8),
            "C" + g.chars("0123456789CFGHJKLMNPRTVWXYZ", 8),
            g.digits(2) + g.chars("ABCDEF", 2) + g.digits(5),
            g.chars("JKLMNP", 1) + g.digits(7),
        )
        c.add("passport", "positive", g.r.choice(pos).replace("{name}", g.name()), value)
    neg = [
        "My passport expired in {v}.",
        "Passport photos must be 35x45 mm.",
        "The passport office opens at 9.",
        "I renewed my passport last week.",
        "Bring your passport and {v} euros.",
        "passport: lost",
    ]
    for i in range(n):
        c.add(
            "passport",
            "negative",
            neg[i % len(neg)],
            str(g.r.randint(2015, 2024)) if i % 6 == 0 else str(g.r.randint(20, 90)),
        )


def make_drivers_license(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "My driver's license number is {v}.",
        "Driving licence: {v}",
        "DL# {v}",
        "{name}'s driver license ({v}) was scanned at the desk.",
        "drivers license no. {v}",
    ]
    for _ in range(n):
        value = g.pick(
            g.chars(string.ascii_uppercase, 1) + g.digits(7),
            f"{g.chars(string.ascii_uppercase, 1)}{g.digits(3)}-{g.digits(4)}-{g.digits(4)}",
            g.digits(9),
            g.chars(string.ascii_uppercase, 5)
            + g.digits(6)
            + g.chars(string.ascii_uppercase, 2)
            + g.digits(1)
            + g.chars(string.ascii_uppercase, 2),
            g.chars(string.ascii_uppercase, 2) + g.digits(6),
        )
        c.add("drivers_license", "positive", g.r.choice(pos).replace("{name}", g.name()), value)
    neg = [
        "My driver's license expired in {v}.",
        "The driving licence test is on 12 June.",
        "Software license key: ABCD-{v}",
        "Our license number {v} covers the whole office.",
        "I lost my driver's license at the gym.",
        "DL the file again, it was corrupt.",
    ]
    for i in range(n):
        c.add(
            "drivers_license",
            "negative",
            neg[i % len(neg)],
            str(g.r.randint(2015, 2024)) if i % 6 == 0 else g.digits(8),
        )


# ---- secrets ----------------------------------------------------------------------------------
SECRET_PLACES = [
    "export {key}={v}",
    "{key}: {v}",
    "my {what} is {v} - rotate it after the demo",
    "Found this in the logs: {v}",
    "config.set('{key}', '{v}')",
    "{what}={v}",
]


def secret_text(g: Gen, key: str, what: str) -> str:
    return g.r.choice(SECRET_PLACES).replace("{key}", key).replace("{what}", what)


def make_token_type(
    target: str, key: str, what: str, good: Callable[[Gen], str], bad: Callable[[Gen, int], str]
) -> Make:
    def make(c: Corpus, g: Gen, n: int) -> None:
        for _ in range(n):
            c.add(target, "positive", secret_text(g, key, what), good(g))
        neutral = [
            "the string {v} appeared in the diff",
            "ticket {v} was closed",
            "{v}",
            "is {v} a valid id?",
        ]
        for i in range(n):
            c.add(target, "negative", g.r.choice(neutral), bad(g, i))

    return make


AWS_B32 = string.ascii_uppercase + "234567"


def aws_bad(g: Gen, i: int) -> str:
    return [
        f"AKIA{g.chars(AWS_B32, 15)}",
        f"AKIA{g.chars(AWS_B32, 17)}",
        f"akia{g.chars(AWS_B32, 16).lower()}",
        f"AKIB{g.chars(AWS_B32, 16)}",
        "ASIAN-MARKETS-2024",
    ][i % 5]


def make_aws_access_key(c: Corpus, g: Gen, n: int) -> None:
    make_token_type(
        "aws_access_key",
        "AWS_ACCESS_KEY_ID",
        "access key id",
        lambda g: g.pick("AKIA", "ASIA") + g.chars(AWS_B32, 16),
        aws_bad,
    )(c, g, n // 2)
    pos = ["aws_secret_access_key = {v}", "AWS secret access key: {v}", "export AWS_SECRET_ACCESS_KEY={v}"]
    for _ in range(n - n // 2):
        c.add(
            "aws_access_key",
            "positive",
            g.r.choice(pos),
            g.chars(string.ascii_letters + string.digits + "/+", 40),
        )
    neg = ["aws_secret_access_key = {v}", "AWS secret access key: {v}"]
    for i in range(n - n // 2):
        value = [
            g.chars(string.ascii_letters + string.digits, 39),
            "<your-secret-key>",
            "${AWS_SECRET_ACCESS_KEY}",
            "wJalrXUtnFEMI/K7MDENG",
        ][i % 4]
        secret = "high_entropy_secret" if i % 4 in (0, 3) else None  # wrong length, still a secret
        c.add("aws_access_key", "negative", g.r.choice(neg), value, label=secret)


def gh_token(g: Gen) -> str:
    if g.r.random() < 0.2:
        return f"github_pat_{g.chars(B62, 22)}_{g.chars(B62, 59)}"
    body = g.chars(B62, 30)
    return f"{g.pick('ghp', 'gho', 'ghu', 'ghs', 'ghr')}_{body}{crc_b62(body)}"


def gh_bad(g: Gen, i: int) -> str:
    return [
        f"ghp_{g.chars(B62, 35)}",
        f"ghx_{g.chars(B62, 36)}",
        "ghp_" + "x" * 36,
        f"gh_{g.chars(B62, 36)}",
        f"github_pat_{g.chars(B62, 20)}",
    ][i % 5]


def npm_token(g: Gen) -> str:
    body = g.chars(B62, 30)
    return f"npm_{body}{crc_b62(body)}"


def npm_bad(g: Gen, i: int) -> str:
    return [f"npm_{g.chars(B62, 20)}", "npm_config_registry", "npm_" + "0" * 36, f"npm-{g.chars(B62, 36)}"][
        i % 4
    ]


def slack_token(g: Gen) -> str:
    if g.r.random() < 0.3:
        team, bot, secret = g.chars(AWS_B32, 8), g.chars(AWS_B32, 10), g.chars(B62, 24)
        return f"https://hooks.slack.com/services/T{team}/B{bot}/{secret}"
    return f"{g.pick('xoxb', 'xoxp')}-{g.digits(12)}-{g.digits(13)}-{g.chars(B62, 24)}"


def slack_bad(g: Gen, i: int) -> str:
    return [
        "xoxb-123",
        f"xoxz-{g.digits(12)}-{g.chars(B62, 24)}",
        "https://hooks.slack.com/services/",
        "https://slack.com/intl/en-gb/",
        f"oxb-{g.digits(12)}-{g.chars(B62, 24)}",
    ][i % 5]


def make_private_key(c: Corpus, g: Gen, n: int) -> None:
    def pem(label: str, der: bytes) -> str:
        body = base64.b64encode(der).decode()
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----"

    pos = [
        "Here is the deploy key, keep it safe:\n{v}\n",
        "{v}",
        "cat id.pem\n{v}\nthat's all of it",
        "The old key was\n{v}",
    ]
    for i in range(n):
        kind = i % 4
        if kind == 0:  # PKCS#8 Ed25519: a real key, made from seeded bytes
            value = pem("PRIVATE KEY", bytes.fromhex("302e020100300506032b657004220420") + g.r.randbytes(32))
        elif kind == 1:  # SEC1 P-256 without the optional public key
            value = pem(
                "EC PRIVATE KEY",
                bytes.fromhex("30310201010420")
                + g.r.randbytes(32)
                + bytes.fromhex("a00a06082a8648ce3d030107"),
            )
        elif kind == 2:
            value = pem("OPENSSH PRIVATE KEY", b"openssh-key-v1\0" + g.r.randbytes(220))
        else:
            value = pem("ENCRYPTED PRIVATE KEY", bytes.fromhex("30820150") + g.r.randbytes(330))
        c.add("private_key", "positive", g.r.choice(pos), value)
    for i in range(n):
        kind = i % 4
        if kind == 0:
            value = pem("PUBLIC KEY", bytes.fromhex("302a300506032b6570032100") + g.r.randbytes(32))
        elif kind == 1:
            value = pem("CERTIFICATE", g.r.randbytes(300))
        elif kind == 2:
            value = "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----"
        else:
            value = "keep your private key somewhere safe, never in the repo"
        c.add("private_key", "negative", "{v}", value)


def make_high_entropy_secret(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "api_key = '{v}'",
        "client secret: {v}",
        "X-Api-Token: {v}",
        "secret_key={v}",
        "the signing key is {v}",
        "token: {v}",
    ]
    for _ in range(n):
        value = g.pick(
            g.chars(string.ascii_letters + string.digits, g.r.randint(24, 48)),
            g.chars("0123456789abcdef", g.r.choice((32, 40, 64))),
            b64url(g.r.randbytes(g.r.randint(18, 36))),
        )
        while not (any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value)):
            value = g.chars(string.ascii_letters + string.digits, 32)
        c.add("high_entropy_secret", "positive", g.r.choice(pos), value)
    neg = [
        "api_key = '{v}'",
        "The key to success is {v}.",
        "token: {v}",
        "secret_key={v}",
        "The key is in the drawer, next to {v}.",
    ]
    for i in range(n):
        value = [
            "YOUR_API_KEY_HERE",
            "consistency and twelve hours of sleep",
            "-".join(
                (g.chars(HEX, 8), g.chars(HEX, 4), "4" + g.chars(HEX, 3), "a" + g.chars(HEX, 3),
                 g.chars(HEX, 12))
            ),
            "my_super_secret_value_name",
            "/usr/local/share/keys/file2",
        ][i % 5]
        c.add("high_entropy_secret", "negative", neg[i % len(neg)], value)


def make_password(c: Corpus, g: Gen, n: int) -> None:
    pos = [
        "my password is {v}",
        "password: {v}",
        "PASSWORD={v}",
        "The wifi password is '{v}'.",
        "pwd: {v}",
        "The password for the admin panel is {v}",
        "passwd={v}",
    ]
    words = ["Blue", "horse", "Tr0ub4dor", "sunflower", "Kestrel", "maple", "Orbit", "quartz"]
    for _ in range(n):
        value = g.pick(
            g.r.choice(words) + g.digits(2) + g.pick("!", "#", "", "&"),
            g.chars(string.ascii_letters + string.digits + "!@#%&*", g.r.randint(8, 14)),
            g.r.choice(words).lower() + g.r.choice(words).lower() + g.digits(1),
        )
        c.add("password", "positive", g.r.choice(pos), value)
    neg = [
        "I forgot my password again.",
        "Password is required.",
        "Password: please use the reset link.",
        "I use a password manager now.",
        "Passwords must be 12 characters long.",
        "The password is incorrect.",
        "password: ********",
        "Show me your passport, not your password.",
        "My password is too weak, they said.",
        "password = ${DB_PASSWORD}",
    ]
    for i in range(n):
        c.add("password", "negative", neg[i % len(neg)])


def pypi_token(g: Gen) -> str:
    identifier = g.r.randbytes(16).hex().encode()
    raw = b"\x02\x01\x08pypi.org\x02\x01\x20" + identifier + b"\x00\x02" + g.r.randbytes(g.r.randint(60, 120))
    return "pypi-" + b64url(raw)


def openai_key(g: Gen) -> str:
    if g.r.random() < 0.5:
        return f"sk-{g.chars(B62, 20)}T3BlbkFJ{g.chars(B62, 20)}"
    return f"sk-proj-{g.chars(B62 + '_-', 74)}T3BlbkFJ{g.chars(B62 + '_-', 74)}"


MAKERS: dict[str, Make] = {
    "credit_card": make_credit_card,
    "iban": make_iban,
    "us_ssn": make_us_ssn,
    "uk_nhs": make_uk_nhs,
    "aba_routing": make_aba_routing,
    "in_aadhaar": make_in_aadhaar,
    "crypto_wallet": make_crypto_wallet,
    "jwt": make_jwt,
    "email": make_email,
    "phone": make_phone,
    "ipv4": make_ipv4,
    "ipv6": make_ipv6,
    "mac_address": make_mac_address,
    "url_credentials": make_url_credentials,
    "date_of_birth": make_date_of_birth,
    "passport": make_passport,
    "drivers_license": make_drivers_license,
    "aws_access_key": make_aws_access_key,
    "github_token": make_token_type("github_token", "GITHUB_TOKEN", "token", gh_token, gh_bad),
    "gitlab_token": make_token_type(
        "gitlab_token",
        "GITLAB_TOKEN",
        "token",
        lambda g: "glpat-" + g.chars(B62 + "_-", 20),
        lambda g, i: [
            "glpat-" + g.chars(B62, 10),
            "glpat-" + "x" * 20,
            "glpat",
            "gl-pat-" + g.chars(B62, 20),
        ][i % 4],
    ),
    "slack_token": make_token_type("slack_token", "SLACK_BOT_TOKEN", "bot token", slack_token, slack_bad),
    "stripe_key": make_token_type(
        "stripe_key",
        "STRIPE_SECRET_KEY",
        "stripe key",
        lambda g: g.pick("sk_live_", "rk_live_", "sk_test_") + g.chars(B62, g.pick(24, 99)),
        lambda g, i: [
            f"pk_live_{g.chars(B62, 24)}",
            f"sk_live_{g.chars(B62, 5)}",
            f"sk_prod_{g.chars(B62, 24)}",
            "sk_live_" + "0" * 24,
        ][i % 4],
    ),
    "openai_key": make_token_type(
        "openai_key",
        "OPENAI_API_KEY",
        "openai key",
        openai_key,
        lambda g, i: [
            f"sk-{g.chars(B62, 10)}",
            "sk-learn",
            "task-list-for-the-week",
            "risk-free-returns",
            "sk-" + "x" * 48,
        ][i % 5],
    ),
    "anthropic_key": make_token_type(
        "anthropic_key",
        "ANTHROPIC_API_KEY",
        "anthropic key",
        lambda g: f"sk-ant-api03-{g.chars(B62 + '_-', 93)}AA",
        lambda g, i: [f"sk-ant-{g.chars(B62, 10)}", "sk-ant-api03-", f"sk-ant-xyz-{g.chars(B62, 40)}"][i % 3],
    ),
    "google_api_key": make_token_type(
        "google_api_key",
        "GOOGLE_API_KEY",
        "maps key",
        lambda g: "AIza" + g.chars(B62 + "_-", 35),
        lambda g, i: ["AIza" + g.chars(B62, 20), "AIzaSyExample", "AIza" + g.chars(B62, 40)][i % 3],
    ),
    "npm_token": make_token_type("npm_token", "NPM_TOKEN", "npm token", npm_token, npm_bad),
    "pypi_token": make_token_type(
        "pypi_token",
        "TWINE_PASSWORD",
        "pypi token",
        pypi_token,
        lambda g, i: [
            "pypi-" + b64url(g.r.randbytes(80)),
            "pypi-token",
            "pypi-AgE" + "A" * 10,
            "pypi-AgEI" + b64url(g.r.randbytes(70)),
        ][i % 4],
    ),
    "private_key": make_private_key,
    "high_entropy_secret": make_high_entropy_secret,
    "password": make_password,
}
CHECKSUM_TYPES = (
    "credit_card",
    "iban",
    "us_ssn",
    "uk_nhs",
    "aba_routing",
    "in_aadhaar",
    "crypto_wallet",
    "jwt",
)


def build(seed: int = SEED) -> list[dict[str, object]]:
    corpus = Corpus()
    for offset, (target, make) in enumerate(MAKERS.items()):
        make(corpus, Gen(seed + offset), CHECKSUM_N if target in CHECKSUM_TYPES else OTHER_N)
    return corpus.rows


def write(rows: list[dict[str, object]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT})")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    rows = build(args.seed)
    write(rows, args.out)
    print(f"wrote {len(rows)} records to {args.out}")


if __name__ == "__main__":
    main()
