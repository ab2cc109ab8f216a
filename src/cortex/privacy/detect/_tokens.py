"""Provider credentials with a recognisable shape: AWS key ids, GitHub, GitLab, Slack,
Stripe, OpenAI, Anthropic, Google, npm and PyPI tokens, JWTs and PEM private keys.

One regex pass finds the literal prefixes of every rule; a rule's pattern then runs
only at those places, and a match must not be glued to a preceding word character.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cortex.privacy.detect import checksums
from cortex.privacy.detect._context import shannon
from cortex.privacy.detect._doc import Doc, alternation
from cortex.privacy.detect._model import Finding

Verdict = tuple[float, str] | None  # (confidence, validator), or None to drop the match


@dataclass(frozen=True)
class TokenRule:
    type: str
    literals: tuple[str, ...]
    pattern: re.Pattern[str]
    judge: Callable[[str], Verdict]


def _fixed(confidence: float) -> Callable[[str], Verdict]:
    return lambda _: (confidence, "pattern")


def _crc(token: str) -> Verdict:
    return (0.99, "crc32") if checksums.token_crc32(token) else (0.85, "pattern")


def _github(token: str) -> Verdict:
    return (0.95, "pattern") if token.startswith("github_pat_") else _crc(token)


def _slack(token: str) -> Verdict:
    if token.startswith("https://"):
        return 0.97, "pattern"
    return (0.97, "pattern") if re.match(r"xox[bp]-\d{6,}-\d{6,}-", token) else (0.85, "pattern")


def _stripe(token: str) -> Verdict:
    return (0.95 if "_live_" in token else 0.9), "pattern"


def _openai(token: str) -> Verdict:
    if "T3BlbkFJ" in token:  # base64 of "openai", inside every legacy and project key
        return 0.99, "pattern"
    body = token[3:]
    if body.startswith(("proj-", "svcacct-", "admin-")) and len(body) >= 40:
        return 0.9, "pattern"
    if re.fullmatch(r"[A-Za-z0-9]{48}", body):
        return 0.9, "pattern"
    has_digit = any(c.isdigit() for c in body)
    return (0.6, "pattern") if len(body) >= 32 and has_digit and not body.isdigit() else None


def _b64url(segment: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


_MACAROON_LOCATIONS = (b"\x02\x01\x08pypi.org", b"\x02\x01\x0dtest.pypi.org")


def _pypi(token: str) -> Verdict:
    body = token[len("pypi-"):]
    raw = _b64url(body[:len(body) - len(body) % 4])
    return (0.99, "macaroon") if raw is not None and raw.startswith(_MACAROON_LOCATIONS) else None


def _jwt(token: str) -> Verdict:
    header, payload, *_ = token.split(".")
    decoded = [_b64url(header), _b64url(payload)]
    try:
        parts = [json.loads(raw) if raw is not None else None for raw in decoded]
    except ValueError:
        return None
    head, body = parts
    if isinstance(head, dict) and isinstance(head.get("alg"), str) and isinstance(body, dict):
        return 0.95, "json-segments"
    return None


_END = r"(?![A-Za-z0-9_\-])"
RULES: tuple[TokenRule, ...] = (
    # Access key ids: AKIA long-term, ASIA temporary (STS), ABIA/ACCA service bearer and
    # context keys. (AROA, AIDA, ... are unique ids of roles and users, not credentials.)
    TokenRule("aws_access_key", ("AKIA", "ASIA", "ABIA", "ACCA"),
              re.compile(r"A(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])"), _fixed(0.9)),
    TokenRule("github_token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
              re.compile(r"gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])"
                         r"|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9])"), _github),
    TokenRule("gitlab_token", ("glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glimt-", "glsoat-",
                               "glcbt-", "gloas-"),
              re.compile(r"(?:glpat|gldt|glrt|glptt|glft|glimt|glsoat|glcbt|gloas)-[A-Za-z0-9_\-]{20,}"
                         r"(?:\.[0-9a-z]{2}\.[0-9a-z]{7,12})?" + _END), _fixed(0.95)),
    TokenRule("slack_token", ("xox", "https://hooks.slack.com/"),
              re.compile(r"xox(?:e\.xox)?[abposre]-[A-Za-z0-9\-]{10,250}" + _END +
                         r"|https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/"
                         r"[A-Za-z0-9]{20,}" + _END), _slack),
    TokenRule("stripe_key", ("sk_live_", "rk_live_", "sk_test_", "rk_test_"),
              re.compile(r"[sr]k_(?:live|test)_[0-9A-Za-z]{16,247}(?![0-9A-Za-z])"), _stripe),
    TokenRule("anthropic_key", ("sk-ant-",),
              re.compile(r"sk-ant-(?:api|admin|oat|ort)\d\d-[A-Za-z0-9_\-]{32,}" + _END),
              _fixed(0.97)),
    TokenRule("openai_key", ("sk-",),
              re.compile(r"sk-(?!ant-)[A-Za-z0-9_\-]{20,300}" + _END), _openai),
    TokenRule("google_api_key", ("AIza",),
              re.compile(r"AIza[0-9A-Za-z_\-]{35}" + _END), _fixed(0.9)),
    TokenRule("npm_token", ("npm_",), re.compile(r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"), _crc),
    TokenRule("pypi_token", ("pypi-AgE",), re.compile(r"pypi-AgE[A-Za-z0-9_\-]{50,}" + _END), _pypi),
    TokenRule("jwt", ("eyJ", "eyA", "ewo", "ew0"),
              re.compile(r"e[wy][A-Za-z0-9_\-]{8,}\.e[wy][A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*" + _END),
              _jwt),
)
_GLUED = re.compile(r"[A-Za-z0-9_\-]")
_RULES_BY_LITERAL = {lit: [rule for rule in RULES if lit in rule.literals]
                     for lit in {lit for rule in RULES for lit in rule.literals}}
# One pass finds every literal prefix (a trie, so "sk-ant-" is tried before "sk-").
_PREFIXES = re.compile(alternation(_RULES_BY_LITERAL))


def _placeholder(body: str) -> bool:
    """``ghp_xxxx…``, ``sk_live_0000…``: documentation, not a credential."""
    return len(set(body)) < 6 or shannon(body) < 2.5


def tokens(doc: Doc, wanted: frozenset[str]) -> Iterator[Finding]:
    text = doc.text
    end = -1
    for hit in _PREFIXES.finditer(text):
        start = hit.start()
        if start < end or (start and _GLUED.match(text, start - 1)):
            continue  # inside the previous token, or glued to a word ("risk-free")
        for rule in _RULES_BY_LITERAL[hit.group()]:
            m = rule.pattern.match(text, start) if rule.type in wanted else None
            if m is None or _placeholder(m.group()[len(hit.group()):]):
                continue
            verdict = rule.judge(m.group())
            if verdict is not None:
                end = m.end()
                yield Finding(type=rule.type, start=start, end=end, confidence=verdict[0],
                              validator=verdict[1])
                break


# ---- PEM private keys --------------------------------------------------------------------
_PEM_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----")
_PEM_HEADER = re.compile(r"^[A-Za-z\-]+: .*$|^=[A-Za-z0-9+/]{4}$", re.MULTILINE)
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=\s]*")


def private_keys(doc: Doc) -> Iterator[Finding]:
    text = doc.text
    if "PRIVATE KEY" not in text:
        return
    for m in _PEM_BEGIN.finditer(text):
        footer = f"-----END {m.group(1)}-----"
        close = text.find(footer, m.end())
        if close != -1:
            body, end = text[m.end():close], close + len(footer)
        else:  # cut off: the key runs as far as its base64 does
            run = _PEM_BODY.match(text, m.end())
            body = run.group() if run is not None else ""
            end = m.end() + len(body.rstrip())
        payload = "".join(_PEM_HEADER.sub("", body).split())
        if len(payload) < 32:
            continue  # a header with no key in it (documentation, a placeholder)
        try:
            base64.b64decode(payload[:len(payload) - len(payload) % 4], validate=True)
        except (binascii.Error, ValueError):
            continue
        yield Finding(type="private_key", start=m.start(), end=end,
                      confidence=0.99 if close != -1 else 0.9, validator="pem")
