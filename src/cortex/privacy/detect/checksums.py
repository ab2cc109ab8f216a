"""Check digits and address checksums that separate a real value from a lookalike.

The national-number checks come from python-stdnum (maintained, with the IBAN registry
of per-country BBAN formats and lengths); this module adds what it does not cover:
card IIN ranges, the ABA prefix ranges, Base58Check and BIP-173/BIP-350 segwit
addresses (stdnum knows only bech32, not bech32m), EIP-55 (with a small Keccak-256:
``hashlib.sha3_256`` pads differently) and the CRC32 of GitHub and npm tokens.

Each function takes the value as written (separators allowed where the format has
them) and returns a bool; none raises on malformed input.
"""

from __future__ import annotations

import hashlib
import re
import zlib

_NON_DIGIT = re.compile(r"[^0-9]")


def digits(value: str) -> str:
    return _NON_DIGIT.sub("", value)


# ---- cards -------------------------------------------------------------------------
def luhn(number: str) -> bool:
    """The Luhn (mod 10) check over the digits of ``number``."""
    from stdnum import luhn as _luhn

    value = digits(number)
    return bool(value) and _luhn.is_valid(value)


# (first digits low, high, allowed lengths): issuer ranges of the major networks.
_IIN: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (4, 4, (13, 16, 19)),                              # Visa
    (51, 55, (16,)), (2221, 2720, (16,)),              # Mastercard
    (34, 34, (15,)), (37, 37, (15,)),                  # American Express
    (6011, 6011, (16, 17, 18, 19)), (644, 649, (16, 17, 18, 19)), (65, 65, (16, 17, 18, 19)),
    (622126, 622925, (16, 17, 18, 19)),                # Discover
    (3528, 3589, (16, 17, 18, 19)),                    # JCB
    (300, 305, (14, 15, 16, 17, 18, 19)), (36, 36, (14, 15, 16, 17, 18, 19)),
    (38, 39, (16, 17, 18, 19)),                        # Diners Club
    (62, 62, (16, 17, 18, 19)),                        # UnionPay
    (2200, 2204, (16, 17, 18, 19)),                    # Mir
    (5018, 5018, (12, 13, 14, 15, 16, 17, 18, 19)), (5020, 5020, (12, 13, 14, 15, 16, 17, 18, 19)),
    (5038, 5038, (12, 13, 14, 15, 16, 17, 18, 19)), (5893, 5893, (12, 13, 14, 15, 16, 17, 18, 19)),
    (6304, 6304, (12, 13, 14, 15, 16, 17, 18, 19)), (6759, 6759, (12, 13, 14, 15, 16, 17, 18, 19)),
    (6761, 6763, (12, 13, 14, 15, 16, 17, 18, 19)),   # Maestro
)


def card_issuer_ok(number: str) -> bool:
    """Whether the card number's prefix and length belong to a known network."""
    value = digits(number)
    for low, high, lengths in _IIN:
        width = len(str(low))
        if len(value) in lengths and low <= int(value[:width] or 0) <= high:
            return True
    return False


def credit_card(number: str) -> bool:
    return card_issuer_ok(number) and luhn(number)


# ---- national numbers (python-stdnum) ------------------------------------------------
def iban(value: str) -> bool:
    """ISO 13616: mod 97 == 1, and the country's registered BBAN format and length."""
    from stdnum import iban as _iban

    return _iban.is_valid(value, check_country=False)


def us_ssn(value: str) -> bool:
    """Never-issued areas (000, 666, 9xx), group 00, serial 0000 and advertised numbers."""
    from stdnum.us import ssn

    number = digits(value)
    return len(number) == 9 and ssn.is_valid(f"{number[:3]}-{number[3:5]}-{number[5:]}")


def uk_nhs(value: str) -> bool:
    """NHS number: 10 digits, weighted mod 11 check digit."""
    from stdnum.gb import nhs

    return nhs.is_valid(value)


def in_aadhaar(value: str) -> bool:
    """Aadhaar: 12 digits, not starting 0/1, not a palindrome, Verhoeff check digit."""
    from stdnum.in_ import aadhaar

    return aadhaar.is_valid(value)


def verhoeff(value: str) -> bool:
    from stdnum import verhoeff as _verhoeff

    return _verhoeff.is_valid(digits(value))


_ABA_PREFIXES = (range(0, 13), range(21, 33), range(61, 73), range(80, 81))


def aba_routing(value: str) -> bool:
    """ABA routing number: 3-7-1 weighted checksum and a Federal Reserve prefix."""
    from stdnum.us import rtn

    number = digits(value)
    if len(number) != 9 or not any(int(number[:2]) in r for r in _ABA_PREFIXES):
        return False
    return rtn.is_valid(number)


# ---- Bitcoin: Base58Check and segwit (BIP-173, BIP-350) --------------------------------
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def base58check_decode(address: str) -> bytes | None:
    """The payload (version byte + data) of a Base58Check string, or None."""
    value = 0
    for char in address:
        index = _B58_INDEX.get(char)
        if index is None:
            return None
        value = value * 58 + index
    body = value.to_bytes((value.bit_length() + 7) // 8, "big")
    raw = b"\x00" * (len(address) - len(address.lstrip("1"))) + body
    if len(raw) < 5:
        return None
    payload, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != check:
        return None
    return payload


def bitcoin_base58(address: str) -> bool:
    """A mainnet P2PKH (version 0x00) or P2SH (0x05) address with a valid checksum."""
    payload = base58check_decode(address)
    return payload is not None and len(payload) == 21 and payload[0] in (0x00, 0x05)


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(_BECH32)}
BECH32_CONST, BECH32M_CONST = 1, 0x2BC830A3
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_GEN):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32_decode(text: str) -> tuple[str, list[int], int] | None:
    """(hrp, data without checksum, constant) of a bech32/bech32m string, or None."""
    if (text.lower() != text and text.upper() != text) or len(text) > 90:
        return None
    text = text.lower()
    sep = text.rfind("1")
    if sep < 1 or sep + 7 > len(text) or any(not 33 <= ord(c) <= 126 for c in text[:sep]):
        return None
    data = [_BECH32_INDEX.get(c, -1) for c in text[sep + 1:]]
    if -1 in data:
        return None
    hrp = text[:sep]
    const = _polymod(_hrp_expand(hrp) + data)
    if const not in (BECH32_CONST, BECH32M_CONST):
        return None
    return hrp, data[:-6], const


def _convert_bits(data: list[int], from_bits: int, to_bits: int) -> bytes | None:
    acc, bits, out = 0, 0, bytearray()
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & ((1 << to_bits) - 1))
    if bits >= from_bits or (acc << (to_bits - bits)) & ((1 << to_bits) - 1):
        return None  # more than 4 bits of padding, or non-zero padding
    return bytes(out)


def segwit_decode(address: str, hrps: tuple[str, ...] = ("bc", "tb")) -> tuple[int, bytes] | None:
    """(witness version, program) of a segwit address (BIP-173 v0, BIP-350 v1+), or None."""
    decoded = bech32_decode(address)
    if decoded is None or decoded[0] not in hrps or not decoded[1]:
        return None
    _, data, const = decoded
    version = data[0]
    program = _convert_bits(data[1:], 5, 8)
    if version > 16 or program is None or not 2 <= len(program) <= 40:
        return None
    if version == 0 and len(program) not in (20, 32):
        return None
    if const != (BECH32_CONST if version == 0 else BECH32M_CONST):
        return None
    return version, program


# ---- Ethereum: EIP-55 mixed-case checksum -----------------------------------------------
_RC = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)
# Rotation offsets r[x][y] of the rho step.
_ROT = ((0, 36, 3, 41, 18), (1, 44, 10, 45, 2), (62, 6, 43, 15, 61), (28, 55, 25, 21, 56),
        (27, 20, 39, 8, 14))
_MASK = (1 << 64) - 1


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK if shift else value


def _keccak_f(a: list[int]) -> None:
    for rc in _RC:
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rotl(c[(x + 1) % 5], 1) for x in range(5)]
        b = [0] * 25
        for x in range(5):
            for y in range(5):
                b[y + 5 * ((2 * x + 3 * y) % 5)] = _rotl(a[x + 5 * y] ^ d[x], _ROT[x][y])
        for y in range(0, 25, 5):
            row = b[y:y + 5]
            for x in range(5):
                a[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5])
        a[0] ^= rc


def keccak256(data: bytes, pad: int = 0x01) -> bytes:
    """Keccak-256 as Ethereum uses it (``pad=0x06`` gives SHA3-256, to test against hashlib)."""
    rate = 136
    message = bytearray(data) + bytes([pad])
    message += bytes(-len(message) % rate)
    message[-1] |= 0x80
    state = [0] * 25
    for offset in range(0, len(message), rate):
        for i in range(rate // 8):
            state[i] ^= int.from_bytes(message[offset + 8 * i:offset + 8 * i + 8], "little")
        _keccak_f(state)
    return b"".join(lane.to_bytes(8, "little") for lane in state[:4])


def eip55(address: str) -> bool:
    """Whether a mixed-case ``0x`` address carries a valid EIP-55 checksum."""
    body = address[2:]
    digest = keccak256(body.lower().encode()).hex()
    return all(
        char.isdigit() or char.isupper() == (int(nibble, 16) >= 8)
        for char, nibble in zip(body, digest, strict=False)
    )


# ---- GitHub and npm tokens: CRC32 of the random part, base62 -------------------------------
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B62_INDEX = {c: i for i, c in enumerate(_B62)}


def base62_crc32(body: str) -> str:
    """The six-character base62 CRC32 that GitHub and npm append to a token's random part."""
    value, out = zlib.crc32(body.encode()), ""
    for _ in range(6):
        value, rem = divmod(value, 62)
        out = _B62[rem] + out
    return out


def token_crc32(token: str) -> bool:
    """``prefix_`` + 30 random characters + their base62 CRC32 (GitHub 2021, npm)."""
    body = token[token.index("_") + 1:] if "_" in token else ""
    return len(body) == 36 and base62_crc32(body[:30]) == body[30:]
