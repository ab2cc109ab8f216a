"""JwtVerifier: HS256 with a shared secret, RS256/ES256 from a real JWKS server on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cortex.core.errors import ConfigError, Unauthenticated
from cortex.tenancy import JwtVerifier, Principal, Role, looks_like_jwt

SECRET = "a-shared-test-secret-of-at-least-32-bytes"
NOW = int(time.time())
DROP = object()  # a claim to leave out


def claims(**changes: Any) -> dict[str, Any]:
    # A day ahead: parametrized cases are built at collection, long before a slow suite runs them.
    base: dict[str, Any] = {"tenant": "acme", "role": "writer", "sub": "alice",
                            "exp": int(time.time()) + 86_400}
    base.update(changes)
    return {name: value for name, value in base.items() if value is not DROP}


def hs256(payload: dict[str, Any], secret: str = SECRET, **headers: Any) -> str:
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers or None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: Any, payload: Any, secret: bytes = SECRET.encode(), *, rsa_key: Any = None) -> str:
    """A token with any header and payload, signed by hand (PyJWT refuses to mint bad ones)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}".encode()
    if rsa_key is not None:
        signature = RSAAlgorithm(RSAAlgorithm.SHA256).sign(signing_input, rsa_key)
    else:
        signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{b64(signature)}"


def rejected(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token)
    assert token not in str(caught.value)
    return str(caught.value)


@pytest.fixture(scope="module")
def hs() -> JwtVerifier:
    return JwtVerifier(secret=SECRET)


# --- HS256 -------------------------------------------------------------------------------

def test_hs256_claims_become_a_principal(hs: JwtVerifier) -> None:
    token = hs256(claims(role="reader", namespaces=["work", "home", "work"]))
    assert hs.verify(token) == Principal("acme", Role.READER, "jwt:alice", ("work", "home"))


def test_no_sub_is_anonymous_and_no_namespaces_is_the_whole_tenant(hs: JwtVerifier) -> None:
    assert hs.verify(hs256(claims(sub=DROP))) == Principal("acme", Role.WRITER, "jwt:anonymous", None)


def test_claim_names_audience_and_issuer_are_configurable() -> None:
    verifier = JwtVerifier(secret=SECRET, audience="cortex", issuer="https://idp.test",
                           tenant_claim="org", role_claim="cortex_role", namespaces_claim="scopes")
    token = hs256({"org": "globex", "cortex_role": "admin", "scopes": ["a"], "exp": NOW + 86_400,
                   "aud": ["other", "cortex"], "iss": "https://idp.test"})
    assert verifier.verify(token) == Principal("globex", Role.ADMIN, "jwt:anonymous", ("a",))


def test_leeway_forgives_a_little_clock_skew(hs: JwtVerifier) -> None:
    assert hs.verify(hs256(claims(exp=int(time.time()) - 10))).tenant == "acme"
    assert rejected(JwtVerifier(secret=SECRET, leeway=0), hs256(claims(exp=int(time.time()) - 10))) == (
        "token expired")


@pytest.mark.parametrize(("payload", "reason"), [
    (claims(exp=NOW - 120), "token expired"),
    (claims(exp=DROP), "missing exp claim"),
    (claims(exp="soon"), "malformed token"),
    (claims(nbf=NOW + 3600), "token not yet valid"),
    (claims(aud="cortex"), "token names an audience but none is configured"),
    (claims(tenant=DROP), "missing tenant claim"),
    (claims(tenant=""), "tenant claim must be a printable string of 1 to 128 characters"),
    (claims(tenant="x" * 129), "tenant claim must be"),
    (claims(tenant=7), "tenant claim must be"),
    (claims(tenant="ac\nme"), "tenant claim must be"),
    (claims(role=DROP), "missing role claim"),
    (claims(role="root"), "unknown role in role claim"),
    (claims(role=["admin"]), "unknown role"),
    (claims(role={"admin": 1}), "unknown role"),
    (claims(namespaces="work"), "namespaces claim must list one or more non-empty strings"),
    (claims(namespaces=[]), "namespaces claim must"),
    (claims(namespaces=["work", ""]), "namespaces claim must"),
    (claims(namespaces=["work", 3]), "namespaces claim must"),
    (claims(namespaces=None), "namespaces claim must"),
    (claims(sub=42), "malformed sub claim"),
])
def test_each_bad_claim_has_its_own_reason(hs: JwtVerifier, payload: dict[str, Any], reason: str) -> None:
    assert rejected(hs, hs256(payload)).startswith(reason)


def test_longest_tenant_is_accepted(hs: JwtVerifier) -> None:
    assert hs.verify(hs256(claims(tenant="t" * 128))).tenant == "t" * 128


@pytest.mark.parametrize(("payload", "reason"), [
    (claims(aud="someone-else", iss="https://idp.test"), "wrong audience"),
    (claims(iss="https://idp.test"), "missing aud claim"),
    (claims(aud="cortex", iss="https://evil.test"), "wrong issuer"),
    (claims(aud="cortex"), "missing iss claim"),
])
def test_audience_and_issuer_are_checked_when_configured(payload: dict[str, Any], reason: str) -> None:
    verifier = JwtVerifier(secret=SECRET, audience="cortex", issuer="https://idp.test")
    assert rejected(verifier, hs256(payload)) == reason


def test_signature_must_match(hs: JwtVerifier) -> None:
    assert rejected(hs, hs256(claims(), secret="another-secret-also-at-least-32-bytes")) == "bad signature"
    head, _, sig = hs256(claims()).split(".")
    tampered = b64(json.dumps(claims(role="admin")).encode())
    assert rejected(hs, f"{head}.{tampered}.{sig}") == "bad signature"


def test_only_hs256_is_accepted_with_a_secret(hs: JwtVerifier) -> None:
    expected = "token algorithm not allowed (expected HS256)"
    assert rejected(hs, jwt.encode(claims(), None, algorithm="none")) == expected
    assert rejected(hs, jwt.encode(claims(), SECRET + SECRET, algorithm="HS512")) == expected
    assert rejected(hs, forge({"alg": "HS384"}, claims())) == expected
    assert rejected(hs, forge({"typ": "JWT"}, claims())) == expected  # no alg at all


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b", "ctx_ab12cd34_s3cr3t", "eyJ.eyJ.", "!!.!!.!!"])
def test_malformed_tokens(hs: JwtVerifier, token: str) -> None:
    with pytest.raises(Unauthenticated, match=r"^malformed token$"):
        hs.verify(token)


def test_hostile_shapes_are_refused_cheaply(hs: JwtVerifier) -> None:
    assert rejected(hs, "e" * 9000) == "token too long"
    nested = f"{b64(b'[' * 5000)}.{b64(b'{}')}.{b64(b'sig')}"
    assert rejected(hs, nested) == "malformed token"
    assert rejected(hs, forge({"alg": "HS256"}, ["not", "an", "object"])) == "malformed token"
    assert rejected(hs, forge({"alg": "HS256"}, claims(exp=float("inf")))) == "malformed token"


@pytest.mark.parametrize("kwargs", [
    {},
    {"secret": SECRET, "jwks_url": "http://127.0.0.1:1/jwks.json"},
    {"secret": "too-short"},
    {"secret": ""},
    {"secret": SECRET, "leeway": -1},
    {"jwks_url": "file:///etc/passwd"},
    {"jwks_url": ""},
])
def test_bad_configuration_is_a_config_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        JwtVerifier(**kwargs)


def test_looks_like_jwt_tells_tokens_from_api_keys() -> None:
    assert looks_like_jwt(hs256(claims()))
    assert looks_like_jwt(jwt.encode(claims(), None, algorithm="none"))  # the verifier refuses it
    assert looks_like_jwt("eyJh.eyJi.c2ln==")
    for other in ("ctx_ab12cd34_s3cr3t-Value", "", "a.b", "a.b.c.d", "a b.c.d", ".b.c", "a..c", "a.b.c\n"):
        assert not looks_like_jwt(other), other


# --- RS256 / ES256 from a real JWKS endpoint ----------------------------------------------

def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def jwk(public: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if alg.startswith("RS") else ECAlgorithm
    return {**algorithm.to_jwk(public, as_dict=True), "kid": kid, "alg": alg, "use": "sig"}


@dataclass
class Jwks:
    url: str
    base: str
    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey
    weak: rsa.RSAPrivateKey
    fetches: list[str] = field(default_factory=list)

    def token(self, key: Any, alg: str, kid: str | None, payload: dict[str, Any] | None = None) -> str:
        headers = {"kid": kid} if kid else None
        with warnings.catch_warnings():  # minting with the deliberately weak key warns
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            return jwt.encode(payload or claims(), key, algorithm=alg, headers=headers)


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[Jwks]:
    keys = {"rsa": rsa_key(), "ec": ec.generate_private_key(ec.SECP256R1()), "weak": rsa_key(1024)}
    documents: dict[str, Any] = {
        "/.well-known/jwks.json": {"keys": [
            jwk(keys["rsa"].public_key(), "rsa-1", "RS256"),
            jwk(keys["ec"].public_key(), "ec-1", "ES256"),
            jwk(keys["weak"].public_key(), "weak-1", "RS256"),
        ]},
        "/empty/jwks.json": {"keys": []},
        "/unusable/jwks.json": {"keys": [{"kty": "nope", "kid": "x"}]},
        "/array/jwks.json": [],
    }
    fetches: list[str] = []
    app = FastAPI()

    @app.get("/{path:path}")
    async def serve(path: str) -> Response:
        fetches.append("/" + path)
        document = documents.get("/" + path)
        return JSONResponse(document) if document is not None else Response(status_code=404)

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "JWKS server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    yield Jwks(f"{base}/.well-known/jwks.json", base, keys["rsa"], keys["ec"], keys["weak"], fetches)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def rs(jwks_server: Jwks) -> JwtVerifier:
    """One verifier for the property tests, so its JWKS cache is shared like in a server."""
    return JwtVerifier(jwks_url=jwks_server.url)


@pytest.fixture
def idp(jwks_server: Jwks) -> Jwks:
    jwks_server.fetches.clear()
    return jwks_server


def test_rs256_and_es256_tokens_verify_and_keys_are_fetched_once(idp: Jwks) -> None:
    verifier = JwtVerifier(jwks_url=idp.url)
    for _ in range(3):
        rs256 = verifier.verify(idp.token(idp.rsa, "RS256", "rsa-1"))
        assert rs256 == Principal("acme", Role.WRITER, "jwt:alice")
        assert verifier.verify(idp.token(idp.ec, "ES256", "ec-1")).subject == "jwt:alice"
    assert idp.fetches == ["/.well-known/jwks.json"]


def test_a_key_outside_the_jwks_is_refused(idp: Jwks) -> None:
    verifier, stranger = JwtVerifier(jwks_url=idp.url), rsa_key()
    assert rejected(verifier, idp.token(stranger, "RS256", "rsa-1")) == "bad signature"
    unknown = "unknown signing key (kid not in the JWKS)"
    assert rejected(verifier, idp.token(stranger, "RS256", "rogue")) == unknown
    assert rejected(verifier, idp.token(idp.rsa, "RS256", None)) == "token has no key id (kid)"


def test_alg_confusion_hs256_with_the_public_key_as_secret_is_refused(idp: Jwks) -> None:
    public_pem = idp.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    token = forge({"alg": "HS256", "kid": "rsa-1"}, claims(), secret=public_pem)
    expected = "token algorithm not allowed (expected RS256 or ES256)"
    assert rejected(JwtVerifier(jwks_url=idp.url), token) == expected


def test_a_token_cannot_pick_another_algorithm_for_a_key(idp: Jwks) -> None:
    token = idp.token(idp.ec, "ES256", "rsa-1")
    assert rejected(JwtVerifier(jwks_url=idp.url), token) == "token algorithm does not match its signing key"


def test_alg_none_expired_and_weak_keys_are_refused(idp: Jwks) -> None:
    verifier = JwtVerifier(jwks_url=idp.url)
    unsigned = jwt.encode(claims(), None, algorithm="none", headers={"kid": "rsa-1"})
    assert rejected(verifier, unsigned) == "token algorithm not allowed (expected RS256 or ES256)"
    assert rejected(verifier, idp.token(idp.rsa, "RS256", "rsa-1", claims(exp=NOW - 120))) == "token expired"
    weak = idp.token(idp.weak, "RS256", "weak-1")
    assert rejected(verifier, weak) == "signing key rejected (too short or wrong type)"


def test_unreachable_or_broken_jwks_is_told_apart_from_a_bad_kid(idp: Jwks) -> None:
    token = idp.token(idp.rsa, "RS256", "rsa-1")
    assert rejected(JwtVerifier(jwks_url="http://127.0.0.1:1/jwks.json"), token) == "JWKS unreachable"
    assert rejected(JwtVerifier(jwks_url=f"{idp.base}/missing.json"), token) == "JWKS unreachable"
    for path in ("/empty/jwks.json", "/unusable/jwks.json", "/array/jwks.json"):
        verifier = JwtVerifier(jwks_url=idp.base + path)
        assert rejected(verifier, token) == "the JWKS has no usable signing keys", path


# --- anything at all: a Principal or Unauthenticated, never another exception -------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


def good_or_any(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, so examples get past the first checks and reach the later ones."""
    return st.one_of(good, good, JSON)


NEAR_NOW = st.integers(NOW - 1000, NOW + 1000)
CLAIMS = st.fixed_dictionaries(
    {
        "exp": good_or_any(st.integers(NOW + 60, NOW + 10_000)),
        "tenant": good_or_any(st.sampled_from(["acme", "t" * 128, "t" * 129, ""])),
        "role": good_or_any(st.sampled_from(["admin", "writer", "reader", "root"])),
    },
    optional={
        "nbf": good_or_any(NEAR_NOW), "iat": good_or_any(NEAR_NOW), "aud": good_or_any(st.just("cortex")),
        "iss": JSON, "sub": good_or_any(st.text(max_size=5)), "jti": JSON,
        "namespaces": good_or_any(st.lists(st.sampled_from(["a", "b", ""]), max_size=3)),
    },
)
PAYLOADS = CLAIMS | st.dictionaries(st.text(max_size=4), JSON, max_size=4) | JSON
HEADERS = st.fixed_dictionaries(
    {"alg": good_or_any(st.sampled_from(["HS256", "RS256", "ES256", "none", "HS512"]))},
    optional={"kid": good_or_any(st.sampled_from(["rsa-1", "ec-1", "weak-1", "rogue", ""])),
              "typ": JSON, "crit": JSON, "b64": JSON, "jku": JSON},
) | JSON


def accepted_or_unauthenticated(verifier: JwtVerifier, token: str, payload: Any) -> None:
    try:
        principal = verifier.verify(token)
    except Unauthenticated as exc:
        assert len(token) < 16 or token not in str(exc)
    else:
        assert (principal.tenant, principal.role) == (payload["tenant"], payload["role"])
        assert principal.namespaces == (tuple(dict.fromkeys(payload["namespaces"]))
                                        if "namespaces" in payload else None)


@settings(max_examples=300, deadline=None)
@given(token=st.text(max_size=300) | st.from_regex(r"[\w=-]{0,40}(\.[\w=-]{0,40}){2}", fullmatch=True))
def test_garbage_strings_are_always_unauthenticated(hs: JwtVerifier, rs: JwtVerifier, token: str) -> None:
    for verifier in (hs, rs):
        with pytest.raises(Unauthenticated):
            verifier.verify(token)


@settings(max_examples=300, deadline=None)
@given(header=HEADERS, payload=PAYLOADS, sign=st.booleans())
def test_any_header_and_payload_is_a_principal_or_unauthenticated(
    hs: JwtVerifier, rs: JwtVerifier, jwks_server: Jwks, header: Any, payload: Any, sign: bool
) -> None:
    secret, rsa_key = (SECRET.encode(), jwks_server.rsa) if sign else (b"wrong", None)
    accepted_or_unauthenticated(hs, forge(header, payload, secret), payload)
    accepted_or_unauthenticated(rs, forge(header, payload, rsa_key=rsa_key), payload)


@settings(max_examples=500, deadline=None)
@given(payload=st.one_of(CLAIMS, CLAIMS, PAYLOADS))
def test_any_claims_under_a_good_signature_map_exactly_or_are_unauthenticated(
    hs: JwtVerifier, rs: JwtVerifier, jwks_server: Jwks, payload: Any
) -> None:
    accepted_or_unauthenticated(hs, forge({"alg": "HS256"}, payload), payload)
    rsa_signed = forge({"alg": "RS256", "kid": "rsa-1"}, payload, rsa_key=jwks_server.rsa)
    accepted_or_unauthenticated(rs, rsa_signed, payload)
