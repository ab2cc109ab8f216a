"""The PII and secrets detectors: checksums against published values, each type's
positives and near misses, overlap resolution, exact spans, and property tests."""

from __future__ import annotations

import hashlib
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cortex.privacy.detect as detect
from cortex.privacy.detect import GROUPS, TYPES, Finding, UnknownEntityType, expand, scan
from cortex.privacy.detect import checksums as cs
from cortex.privacy.detect._scan import resolve

# ---- checksum helpers against published values -----------------------------------------------------


@pytest.mark.parametrize("number", [
    "4111111111111111", "4012888888881881", "5555555555554444", "5105105105105100",  # Visa, MC
    "378282246310005", "6011111111111117",  # Amex, Discover
    "3530111333300000", "30569309025904",  # JCB, Diners
    "2221 0000 0000 0009",
])
def test_published_test_card_numbers_are_valid(number: str) -> None:
    assert cs.luhn(number) and cs.card_issuer_ok(number) and cs.credit_card(number)


def test_luhn_reference_example() -> None:
    assert cs.luhn("79927398713")  # the worked example of ISO/IEC 7812-1's Luhn
    assert not cs.luhn("79927398710")
    assert not cs.credit_card("4111111111111112")
    assert not cs.credit_card("1234567812345670")  # Luhn-valid, but no network issues 1...


@pytest.mark.parametrize("value", [
    "GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00", "FR14 2004 1010 0505 0001 3M02 606",
    "NL91 ABNA 0417 1643 00", "BE68 5390 0754 7034", "CH93 0076 2011 6238 5295 7",
])
def test_published_ibans(value: str) -> None:
    assert cs.iban(value)


@pytest.mark.parametrize("value", [
    "GB82 WEST 1234 5698 7654 33",  # check digits no longer match
    "GB82 WEST 1234 5698 7654",     # too short for GB
    "XX82 WEST 1234 5698 7654 32",  # no such country
])
def test_broken_ibans(value: str) -> None:
    assert not cs.iban(value)


def test_verhoeff_and_aadhaar() -> None:
    assert cs.verhoeff("2363") and not cs.verhoeff("2364")  # Verhoeff's own example: 236 → 3
    assert cs.in_aadhaar("2341 2341 2346") and not cs.in_aadhaar("2341 2341 2347")
    assert not cs.in_aadhaar("1341 2341 2345")  # never starts with 0 or 1


def test_nhs_mod11() -> None:
    assert cs.uk_nhs("943 476 5919")  # NHS Digital's example number
    assert not cs.uk_nhs("943 476 5910")


def test_aba_371_and_prefix() -> None:
    for number in ("111000025", "021000021", "011000015"):
        assert cs.aba_routing(number), number
    assert not cs.aba_routing("112000025")  # 3-7-1 fails
    assert not cs.aba_routing("400000008")  # 3-7-1 holds, but 40 is no Federal Reserve prefix


@pytest.mark.parametrize("value", ["000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567",
                                   "123-45-0000", "078-05-1120"])
def test_ssn_never_issued(value: str) -> None:
    assert not cs.us_ssn(value)


def test_ssn_separators() -> None:
    assert cs.us_ssn("123-45-6789") and cs.us_ssn("123 45 6789") and cs.us_ssn("123456789")


def test_base58check_known_addresses() -> None:
    assert cs.bitcoin_base58("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")  # the genesis block's
    assert cs.bitcoin_base58("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")  # BIP-13's P2SH example
    assert not cs.bitcoin_base58("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb")
    assert not cs.bitcoin_base58("1A1zP1eP5QGefi2DMPTfTL5SLmv7Div")


@pytest.mark.parametrize(("address", "version"), [  # BIP-173 and BIP-350 valid vectors
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", 0),
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", 0),
    ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", 1),
    ("BC1SW50QGDZ25J", 16),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", 2),
    ("tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", 1),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", 1),
])
def test_segwit_valid_vectors(address: str, version: int) -> None:
    decoded = cs.segwit_decode(address)
    assert decoded is not None and decoded[0] == version


@pytest.mark.parametrize("address", [  # BIP-350 invalid vectors: wrong checksum variant etc.
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # v1 with bech32
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",  # v16 with bech32
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",                      # v0 with bech32m
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",  # v0 with bech32m
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",                      # last character changed
    "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",                      # mixed case
])
def test_segwit_invalid_vectors(address: str) -> None:
    assert cs.segwit_decode(address) is None


def test_keccak256() -> None:
    assert cs.keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300))
def test_keccak_permutation_matches_hashlib_sha3(data: bytes) -> None:
    # SHA3-256 is Keccak-256 with another padding byte: the same permutation underneath.
    assert cs.keccak256(data, pad=0x06) == hashlib.sha3_256(data).digest()


@pytest.mark.parametrize("address", [  # EIP-55's own test vectors
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
])
def test_eip55_vectors(address: str) -> None:
    assert cs.eip55(address)
    assert not cs.eip55(address[:3] + address[3].swapcase() + address[4:]) or not address[3].isalpha()


def test_token_crc32() -> None:
    body = "abcdefghijklmnopqrstuvwxyz0123"
    token = f"ghp_{body}{cs.base62_crc32(body)}"
    assert cs.token_crc32(token) and cs.token_crc32("npm_" + token[4:])
    assert not cs.token_crc32(token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not cs.token_crc32(f"ghp_{body}")


# ---- every type: a positive and near misses --------------------------------------------------------
GH_BODY = "Zx8Kq2LmN4pR7sT1vW3yB5dF6gH9jK0a"[:30]
GH = f"ghp_{GH_BODY}{cs.base62_crc32(GH_BODY)}"
NPM = f"npm_{GH_BODY}{cs.base62_crc32(GH_BODY)}"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwia"
       "WF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")  # jwt.io's example
PEM = ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n"
       "-----END PRIVATE KEY-----")  # RFC 8410's Ed25519 example key
ANTHROPIC = "sk-ant-api03-" + "Xk9vQ2mL7pR4tW8y" * 6 + "AA"
GOOGLE = "AIza" + "SyXk9vQ2mL7pR4tW8yZ3bN-cD5fG6hJ8kL1mN2p"[:35]
PYPI = "pypi-AgEIcHlwaS5vcmcCJDQ5ZjM2MDM1LWQ5YWQtNDEzZC04MzNkLWM1ZjZjNWU3ZWI0NwACKlsz"

POSITIVES = [
    ("email", "Write to ana.lopez+news@mail.example.org today.", "ana.lopez+news@mail.example.org"),
    ("phone", "Call me at (415) 555-2671 after six.", "(415) 555-2671"),
    ("phone", "Our London office: +44 20 7946 0958.", "+44 20 7946 0958"),
    ("credit_card", "Card 4111 1111 1111 1111, expiry 09/27.", "4111 1111 1111 1111"),
    ("credit_card", "amex 3782-822463-10005 on file", "3782-822463-10005"),
    ("iban", "Pay to GB82 WEST 1234 5698 7654 32 EUR by Friday.", "GB82 WEST 1234 5698 7654 32"),
    ("iban", "IBAN:DE89370400440532013000.", "DE89370400440532013000"),
    ("us_ssn", "My SSN is 123-45-6789.", "123-45-6789"),
    ("us_ssn", "SSN: 123456789", "123456789"),
    ("ipv4", "The server is at 192.168.1.20:8080.", "192.168.1.20"),
    ("ipv6", "Allow 2001:db8::8a2e:370:7334 through.", "2001:db8::8a2e:370:7334"),
    ("mac_address", "HWaddr 00:1A:2B:3C:4D:5E up", "00:1A:2B:3C:4D:5E"),
    ("mac_address", "cisco shows 0025.96ff.fe12.", "0025.96ff.fe12"),
    ("url_credentials", "DB at postgres://app:s3cr3t@db.internal:5432/prod",
     "postgres://app:s3cr3t@db.internal:5432"),
    ("url_credentials", "redis://:hunter2pass@cache:6379", "redis://:hunter2pass@cache:6379"),
    ("date_of_birth", "I was born on 4 May 1987 in Porto.", "4 May 1987"),
    ("date_of_birth", "DOB: 12/31/1990", "12/31/1990"),
    ("passport", "Passport No: C01X00T47", "C01X00T47"),
    ("drivers_license", "driver's license D123-4567-8901", "D123-4567-8901"),
    ("crypto_wallet", "send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa now", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    ("crypto_wallet", "taproot bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0.",
     "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"),
    ("crypto_wallet", "eth 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
     "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
    ("uk_nhs", "NHS number 943 476 5919, GP in Leeds", "943 476 5919"),
    ("aba_routing", "routing number 021000021 for wires", "021000021"),
    ("in_aadhaar", "Aadhaar 2341 2341 2346 on the KYC form", "2341 2341 2346"),
    ("aws_access_key", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_access_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("github_token", f"GITHUB_TOKEN={GH}", GH),
    ("gitlab_token", "token glpat-Xk9vQ2mL7pR4tW8yZ3bN end", "glpat-Xk9vQ2mL7pR4tW8yZ3bN"),
    ("slack_token", "SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
     "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    ("slack_token", "hook https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFGHI/Xk9vQ2mL7pR4tW8yZ3bNcD5f",
     "https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFGHI/Xk9vQ2mL7pR4tW8yZ3bNcD5f"),
    ("stripe_key", "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("openai_key", "OPENAI_API_KEY=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",
     "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"),
    ("anthropic_key", f"key {ANTHROPIC}", ANTHROPIC),
    ("google_api_key", f"maps {GOOGLE} ok", GOOGLE),
    ("npm_token", f"//registry.npmjs.org/:_authToken={NPM}", NPM),
    ("pypi_token", f"TWINE_PASSWORD={PYPI}", PYPI),
    ("jwt", f"Authorization: Bearer {JWT}", JWT),
    ("private_key", f"key:\n{PEM}\n", PEM),
    ("high_entropy_secret", "api_key = 'q8Zr4Lk2Vx9PmN3sT7wYbC1dE5fG0hJ'", "q8Zr4Lk2Vx9PmN3sT7wYbC1dE5fG0hJ"),
    ("password", "my password is Tr0ub4dor&3.", "Tr0ub4dor&3"),
    ("password", "PASSWORD=s3cr3t!", "s3cr3t!"),
]


@pytest.mark.parametrize(("type_", "text", "value"), POSITIVES, ids=[p[0] for p in POSITIVES])
def test_positive(type_: str, text: str, value: str) -> None:
    findings = scan(text)
    spans = [(f.type, text[f.start:f.end]) for f in findings]
    assert (type_, value) in spans, spans
    assert all(f.validator for f in findings) and all(0 < f.confidence <= 1 for f in findings)


def test_every_type_has_a_positive_here() -> None:
    assert {p[0] for p in POSITIVES} == set(TYPES)


NEGATIVES = [
    ("credit_card", "Card 4111 1111 1111 1112, expiry 09/27."),  # Luhn broken
    ("credit_card", "Order 1234 5678 1234 5670 shipped."),  # Luhn fine, no such issuer
    ("iban", "Pay to GB82 WEST 1234 5698 7654 33 by Friday."),  # wrong check digits
    ("iban", "Pay to GB64 WEST 1234 5698 7654 3 by Friday."),  # mod 97 fine, one short for GB
    ("us_ssn", "My SSN is 666-45-6789."),
    ("us_ssn", "SSN 900-12-3456, group 00: 123-00-4567, serial 0000: 123-45-0000"),
    ("us_ssn", "Order 123456789 shipped."),  # nine plain digits and no SSN context
    ("uk_nhs", "NHS number 943 476 5910"),
    ("aba_routing", "routing number 112000025"),  # fails 3-7-1
    ("aba_routing", "Order 021000021 shipped."),  # passes 3-7-1, but nothing says routing
    ("in_aadhaar", "Aadhaar 2341 2341 2347"),
    ("in_aadhaar", "Aadhaar 1341 2341 2345"),
    ("crypto_wallet", "send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb now"),
    ("crypto_wallet", "v1 with bech32: bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd"),
    ("crypto_wallet", "eth 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),  # EIP-55 broken
    ("jwt", "id eyJub3QiOiJqc29u.eyJhbHNvIjoibm90.c2lnbmF0dXJl"),  # JSON, but no alg
    ("jwt", "blob eyJhbGciOiJIUzI1NiJ9.eyQ0aGlzIGlzIG5vdCBqc29u.c2ln"),  # payload is not JSON
    ("aws_access_key", "AKIAIOSFODNN7EXAMPL and AKIAIOSFODNN7EXAMPLEE"),  # 19 and 21 characters
    ("ipv4", "Upgrade to version 1.2.3.4, or 1.2.3 at least."),
    ("ipv4", "The address 256.1.1.1 is not an address."),
    ("ipv6", "The race finished at 12:30:45; use std::vector."),
    ("mac_address", "Serial 12-34-56-78-90-12 on the box."),
    ("email", "@ana on Slack, icon@2x.png, admin@localhost, ssh git@github.com:org/repo.git"),
    ("url_credentials", "Clone https://ana@example.org/repo or postgres://u:${DB_PASSWORD}@db/app"),
    ("phone", "We sold 12345 units; the ISBN is 978-0-306-40615-7."),
    ("phone", "Build 753.4.254.180 fixed it."),
    ("date_of_birth", "The meeting on 12/05/2023 moved. I was born in 1987."),
    ("date_of_birth", "DOB: 31/02/1990"),
    ("passport", "My passport expired in 2019."),
    ("drivers_license", "Our software license number 12345678 covers the office."),
    ("password", "I forgot my password. Password is required. Password: please use the reset link."),
    ("password", "password: ******** and password = ${DB_PASSWORD}"),
    ("github_token", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx and ghp_short"),
    ("stripe_key", "pk_live_4eC39HqLyjWDarjtT1zdp7dc is publishable"),
    ("openai_key", "I use sk-learn and risk-free-returns-for-everyone-here"),
    ("private_key", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----"),
    ("high_entropy_secret", "The key to success is consistency; token 123e4567-e89b-12d3-a456-426614174000"),
    ("high_entropy_secret", "-----BEGIN PUBLIC KEY-----\n"
     "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----"),
]


@pytest.mark.parametrize(("type_", "text"), NEGATIVES, ids=[n[0] for n in NEGATIVES])
def test_near_miss(type_: str, text: str) -> None:
    assert [text[f.start:f.end] for f in scan(text) if f.type == type_] == []


def test_plain_english_has_no_findings() -> None:
    text = ("Hey Mel! I went to the support group on Tuesday; it was 3 hours long and worth it. "
            "The key thing is to keep going. Born and raised in Ohio, I moved here in 2019. "
            "My password manager saved me twice. Version 3.11 is out, see section 4.2.1.")
    assert scan(text) == []


# ---- resolution, spans, filtering ---------------------------------------------------------------------
def test_url_credentials_win_over_the_email_inside() -> None:
    text = "see https://ana:pa55word@example.org/x"
    assert [f.type for f in scan(text)] == ["url_credentials"]
    assert [f.type for f in scan(text, ["email"])] == ["email"]  # alone, the e-mail reading stands


def test_context_beats_a_phone_reading() -> None:
    text = "NHS number 943 476 5919"
    assert [f.type for f in scan(text)] == ["uk_nhs"]


def test_resolve_prefers_confidence_then_length() -> None:
    card = Finding(type="credit_card", start=5, end=24, confidence=0.95, validator="luhn")
    phone = Finding(type="phone", start=10, end=24, confidence=0.75, validator="phonenumbers")
    email = Finding(type="email", start=30, end=45, confidence=0.95, validator="pattern")
    url = Finding(type="url_credentials", start=25, end=50, confidence=0.95, validator="pattern")
    assert resolve([phone, email, card, url]) == [card, url]
    assert resolve([phone, email]) == [phone, email]


def test_findings_are_sorted_and_disjoint() -> None:
    text = " ".join(p[1] for p in POSITIVES)
    findings = scan(text)
    assert len(findings) >= len(POSITIVES) - 2
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_types_filter_and_groups() -> None:
    text = "mail ana@example.org, card 4111111111111111, token " + GH
    assert [f.type for f in scan(text, ["email"])] == ["email"]
    assert [f.type for f in scan(text, ["pii"])] == ["email", "credit_card"]
    assert [f.type for f in scan(text, ["api_key"])] == ["github_token"]
    assert scan(text, []) == []


def test_expand() -> None:
    assert expand("email") == {"email"}
    assert GROUPS["pii"] | GROUPS["secret"] == set(TYPES) and not GROUPS["pii"] & GROUPS["secret"]
    api = expand("api_key")
    assert {"github_token", "aws_access_key", "high_entropy_secret", "openai_key"} <= api
    assert not api & {"jwt", "private_key", "password", "email"}
    assert api <= expand("secret")


def test_unknown_names_are_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown entity type or group 'e-mail'.*email.*groups: api_key"):
        expand("e-mail")
    with pytest.raises(UnknownEntityType):
        scan("text", ["emails"])


def test_type_names_and_info() -> None:
    assert len(TYPES) >= 25
    for name, info in TYPES.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name)
        assert info.category in ("pii", "secret") and info.description and info.validator
    assert set(GROUPS) == {"api_key", "secret", "pii"}


def test_a_finding_never_shows_its_value() -> None:
    text = "card 4111 1111 1111 1111 and password: hunter2!"
    for finding in scan(text):
        for shown in (repr(finding), str(finding), finding.model_dump_json()):
            assert "4111" not in shown and "hunter" not in shown


def test_offsets_survive_characters_that_lower_to_two() -> None:
    text = "İİİ DOB: 12/31/1990, mail ana@example.org"
    found = {f.type: text[f.start:f.end] for f in scan(text)}
    assert found == {"date_of_birth": "12/31/1990", "email": "ana@example.org"}


def test_public_names() -> None:
    assert detect.__all__ == ["GROUPS", "TYPES", "Category", "Finding", "TypeInfo", "UnknownEntityType",
                              "expand", "scan"]


# ---- properties -----------------------------------------------------------------------------------------
FILLER = st.text(alphabet=st.sampled_from("abcdefghij ,.!?"), max_size=40)


def _luhn_digit(body: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return -total % 10


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=11, max_size=18), st.integers(1, 9),
       st.sampled_from(["", " ", "-"]))
def test_a_broken_luhn_digit_never_reads_as_a_card(body: str, offset: int, sep: str) -> None:
    number = body + str((_luhn_digit(body) + offset) % 10)
    written = sep.join(number[i:i + 4] for i in range(0, len(number), 4))
    assert not [f for f in scan(f"card {written} ok") if f.type == "credit_card"]


@settings(max_examples=100, deadline=None)
@given(FILLER, FILLER, st.sampled_from(["4", "51", "37", "6011"]), st.text(alphabet="0123456789",
                                                                               min_size=14, max_size=14))
def test_a_valid_card_is_found_with_its_exact_span(before: str, after: str, prefix: str, digits: str) -> None:
    length = 15 if prefix == "37" else 16
    body = (prefix + digits)[:length - 1]
    number = body + str(_luhn_digit(body))
    text = f"{before} {number} {after}"
    cards = [f for f in scan(text) if f.type == "credit_card"]
    assert [(f.start, f.end) for f in cards] == [(len(before) + 1, len(before) + 1 + len(number))]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_scan_never_fails_and_spans_stay_inside(text: str) -> None:
    findings = scan(text)
    assert all(0 <= f.start < f.end <= len(text) for f in findings)
    assert findings == sorted(findings, key=lambda f: f.start)
