"""The entity types and groups a privacy policy can name, and ``expand`` to resolve them."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cortex.privacy.detect._model import TypeInfo, UnknownEntityType


def _pii(description: str, validator: str) -> TypeInfo:
    return TypeInfo(description, "pii", validator)


def _secret(description: str, validator: str) -> TypeInfo:
    return TypeInfo(description, "secret", validator)


TYPES: Mapping[str, TypeInfo] = MappingProxyType({
    "email": _pii("E-mail address (local part, domain labels, alphabetic TLD)", "pattern"),
    "phone": _pii("Phone number valid for its region (phonenumbers, default region US)",
                  "phonenumbers"),
    "credit_card": _pii("Payment card number: network IIN range and length, Luhn", "luhn"),
    "iban": _pii("IBAN: registered country BBAN format and length, mod 97", "mod97"),
    "us_ssn": _pii("US Social Security number outside the never-issued ranges", "ssn-ranges"),
    "ipv4": _pii("IPv4 address (not a version number)", "ipaddress"),
    "ipv6": _pii("IPv6 address", "ipaddress"),
    "mac_address": _pii("MAC address (six hex pairs, or Cisco dotted)", "pattern"),
    "url_credentials": _pii("URL carrying user:password@ (basic auth)", "pattern"),
    "date_of_birth": _pii("Calendar date next to 'born', 'DOB', 'date of birth'", "context"),
    "passport": _pii("Passport number next to the word 'passport'", "context"),
    "drivers_license": _pii("Driver's licence number next to 'driver's license', 'DL'",
                            "context"),
    "crypto_wallet": _pii("Bitcoin address (Base58Check, bech32/bech32m) or Ethereum "
                          "address (EIP-55 when mixed case)", "base58check/bech32/eip55"),
    "uk_nhs": _pii("UK NHS number, mod 11 check digit", "mod11"),
    "aba_routing": _pii("US ABA routing number next to 'routing'/'ABA'/'RTN', 3-7-1 checksum",
                        "aba-371"),
    "in_aadhaar": _pii("Indian Aadhaar number: 12 digits, not starting 0/1, Verhoeff",
                       "verhoeff"),
    "aws_access_key": _secret("AWS access key id (AKIA/ASIA...), or a secret access key "
                              "next to its name", "pattern"),
    "github_token": _secret("GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)", "crc32"),
    "gitlab_token": _secret("GitLab token (glpat-, gldt-, glrt-, ...)", "pattern"),
    "slack_token": _secret("Slack token (xoxb-, xoxp-, ...) or incoming-webhook URL", "pattern"),
    "stripe_key": _secret("Stripe secret or restricted key (sk_live_, rk_live_, sk_test_)",
                          "pattern"),
    "openai_key": _secret("OpenAI API key (sk-..., sk-proj-...)", "pattern"),
    "anthropic_key": _secret("Anthropic API key (sk-ant-api03-...)", "pattern"),
    "google_api_key": _secret("Google API key (AIza...)", "pattern"),
    "npm_token": _secret("npm access token (npm_...)", "crc32"),
    "pypi_token": _secret("PyPI API token (pypi-AgEIcHlwaS5vcmc...)", "macaroon"),
    "jwt": _secret("JSON Web Token: header and payload decode to JSON objects, header has alg",
                   "json-segments"),
    "private_key": _secret("PEM private key block (-----BEGIN ... PRIVATE KEY-----)", "pem"),
    "high_entropy_secret": _secret("High-entropy base64/hex string next to key, secret, token, "
                                   "password, api", "entropy"),
    "password": _secret("Value after 'password'/'passwd'/'pwd' and ':', '=' or 'is'", "context"),
})

_PROVIDER_TOKENS = ("aws_access_key", "github_token", "gitlab_token", "slack_token", "stripe_key",
                    "openai_key", "anthropic_key", "google_api_key", "npm_token", "pypi_token")

GROUPS: Mapping[str, frozenset[str]] = MappingProxyType({
    "api_key": frozenset((*_PROVIDER_TOKENS, "high_entropy_secret")),
    "secret": frozenset(name for name, info in TYPES.items() if info.category == "secret"),
    "pii": frozenset(name for name, info in TYPES.items() if info.category == "pii"),
})


def expand(name: str) -> frozenset[str]:
    """The entity types a type or group name stands for.

    Raises ``UnknownEntityType`` (a ``ValueError``) naming every known type and group.
    """
    if name in TYPES:
        return frozenset((name,))
    group = GROUPS.get(name)
    if group is not None:
        return group
    raise UnknownEntityType(
        f"unknown entity type or group {name!r}; types: {', '.join(sorted(TYPES))}; "
        f"groups: {', '.join(sorted(GROUPS))}", name=name)
