"""PII and secrets detection: ``scan(text)`` returns typed, validated spans, never values.

    from cortex.privacy.detect import scan, expand
    for f in scan("card 4111 1111 1111 1111, mail ana@example.org"):
        print(f.type, f.start, f.end, f.confidence, f.validator)
    expand("api_key")        # the provider-token types + high_entropy_secret + aws_access_key

Each type separates a real value from a lookalike with the check its format has: Luhn
and issuer ranges for cards, mod 97 and the country's BBAN format for IBANs, the
never-issued ranges for SSNs, mod 11 (NHS), Verhoeff (Aadhaar), 3-7-1 (ABA),
Base58Check / bech32 / bech32m / EIP-55 for wallet addresses, phonenumbers' numbering
plans for phones, JSON segments for JWTs, CRC32 for GitHub and npm tokens, and a context
word for values that have no check (dates of birth, passports, licences, passwords).
``TYPES`` describes every type; ``GROUPS`` names sets of them (``pii``, ``secret``,
``api_key``) for policies. ``checksums`` holds the validators on their own.
"""

from cortex.privacy.detect._model import Category, Finding, TypeInfo, UnknownEntityType
from cortex.privacy.detect._scan import scan
from cortex.privacy.detect._types import GROUPS, TYPES, expand

__all__ = ["GROUPS", "TYPES", "Category", "Finding", "TypeInfo", "UnknownEntityType", "expand", "scan"]
