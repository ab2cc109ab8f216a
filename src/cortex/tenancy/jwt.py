"""Bearer JWTs from an identity provider, turned into a ``Principal``.

Two modes, never mixed: a shared secret (HS256 only) or a JWKS URL (RS256 and ES256
only, the key picked by ``kid``). The allowed algorithms come from the mode, never from
the token, so a token cannot choose ``none``, nor HS256 to be checked against an RSA
public key (algorithm confusion). Every rejection is ``Unauthenticated`` with a short
reason and never the token itself, which is a live credential.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cortex.core.errors import ConfigError, Unauthenticated
from cortex.tenancy.principal import Principal, Role

if TYPE_CHECKING:
    import jwt as pyjwt

_MAX_TOKEN = 8192  # larger than any sane JWT; caps the work an unauthenticated caller can cause
_MAX_TENANT = 128
_ROLES = frozenset(Role)
# Three base64url segments (trailing '=' tolerated, as some issuers pad); the signature is
# empty for alg "none", which still goes to the verifier so it is refused with a reason.
_SHAPE = re.compile(r"[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]*={0,2}")


def looks_like_jwt(token: str) -> bool:
    """Whether a bearer token is a JWT rather than an API key (``ctx_<id>_<secret>`` has no dots)."""
    return _SHAPE.fullmatch(token) is not None


class JwtVerifier:
    """Checks signature, ``exp`` (required), ``aud`` and ``iss`` and maps claims to a Principal.

    A token carrying an ``aud`` is refused when no ``audience`` is configured: it was
    minted for some other service. JWKS keys are cached for 5 minutes; an unknown ``kid``
    refetches at most every 30 s (PyJWT's cooldown), so bad tokens cannot flood the issuer.
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        tenant_claim: str = "tenant",
        role_claim: str = "role",
        namespaces_claim: str = "namespaces",
        leeway: float = 30.0,
        jwks_timeout: float = 5.0,
    ) -> None:
        import jwt

        if (secret is None) == (jwks_url is None):
            raise ConfigError("JWT auth needs exactly one of a shared secret or a JWKS URL")
        if leeway < 0:
            raise ConfigError(f"JWT leeway must not be negative, not {leeway}")
        self._audience, self._issuer, self._leeway = audience, issuer, leeway
        self._claims = (tenant_claim, role_claim, namespaces_claim)
        self._keys: str | pyjwt.PyJWKClient  # the shared secret, or where the public keys live
        self._algorithms: tuple[str, ...]
        if secret is not None:
            if len(secret.encode()) < 32:
                raise ConfigError("the JWT secret must be at least 32 bytes (HS256 needs a 256-bit key)")
            self._keys, self._algorithms = secret, ("HS256",)
        else:
            try:
                self._keys = jwt.PyJWKClient(str(jwks_url), lifespan=300, timeout=jwks_timeout)
            except jwt.PyJWKClientError as exc:
                raise ConfigError("the JWKS URL must be an http(s) URL") from exc
            self._algorithms = ("RS256", "ES256")

    def verify(self, token: str) -> Principal:
        import jwt

        if len(token) > _MAX_TOKEN:
            raise Unauthenticated("token too long")
        try:
            header = jwt.get_unverified_header(token)
            alg = header.get("alg")
            if alg not in self._algorithms:
                expected = " or ".join(self._algorithms)
                raise Unauthenticated(f"token algorithm not allowed (expected {expected})")
            keys = self._keys
            key = keys if isinstance(keys, str) else self._signing_key(keys, header.get("kid"))
            claims = jwt.decode(
                token, key, algorithms=[alg], audience=self._audience, issuer=self._issuer,
                leeway=self._leeway, options={"require": ["exp"], "enforce_minimum_key_length": True},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(self._reason(exc)) from exc
        return self._principal(claims)

    @staticmethod
    def _signing_key(client: pyjwt.PyJWKClient, kid: Any) -> pyjwt.PyJWK:
        """The JWKS key for ``kid``; a JWKS that is down or unusable is told apart from a bad kid."""
        import jwt

        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("token has no key id (kid)")
        try:
            client.get_signing_keys()  # cached; fails here when the JWKS itself is the problem
        except (jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
            if isinstance(exc, jwt.PyJWKClientConnectionError):
                raise
            raise Unauthenticated("the JWKS has no usable signing keys") from exc
        try:
            return client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise
        except (jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
            raise Unauthenticated("unknown signing key (kid not in the JWKS)") from exc

    def _reason(self, exc: Exception) -> str:
        """A fixed phrase per failure: PyJWT's own messages may quote token parts."""
        import jwt

        if isinstance(exc, jwt.InvalidAudienceError) and self._audience is None:
            return "token names an audience but none is configured"
        if isinstance(exc, jwt.MissingRequiredClaimError):
            return f"missing {exc.claim} claim"
        reasons: tuple[tuple[type[Exception], str], ...] = (
            (jwt.ExpiredSignatureError, "token expired"),
            (jwt.ImmatureSignatureError, "token not yet valid"),
            (jwt.InvalidAudienceError, "wrong audience"),
            (jwt.InvalidIssuerError, "wrong issuer"),
            (jwt.InvalidSignatureError, "bad signature"),
            (jwt.InvalidAlgorithmError, "token algorithm does not match its signing key"),
            (jwt.InvalidKeyError, "signing key rejected (too short or wrong type)"),
            (jwt.PyJWKClientConnectionError, "JWKS unreachable"),
            (jwt.InvalidIssuedAtError, "malformed iat claim"),
            (jwt.exceptions.InvalidSubjectError, "malformed sub claim"),
            (jwt.exceptions.InvalidJTIError, "malformed jti claim"),
            (jwt.DecodeError, "malformed token"),
        )
        return next((reason for cls, reason in reasons if isinstance(exc, cls)), "invalid token")

    def _principal(self, claims: dict[str, Any]) -> Principal:
        tenant_claim, role_claim, namespaces_claim = self._claims
        tenant, role = claims.get(tenant_claim), claims.get(role_claim)
        for name, value in ((tenant_claim, tenant), (role_claim, role)):
            if value is None:
                raise Unauthenticated(f"missing {name} claim")
        if not (isinstance(tenant, str) and 0 < len(tenant) <= _MAX_TENANT and tenant.isprintable()):
            raise Unauthenticated(f"{tenant_claim} claim must be a printable string of 1 to 128 characters")
        if not isinstance(role, str) or role not in _ROLES:
            raise Unauthenticated(f"unknown role in {role_claim} claim (expected admin, writer or reader)")
        namespaces = None
        if namespaces_claim in claims:
            value = claims[namespaces_claim]
            if not (isinstance(value, list) and value and all(isinstance(n, str) and n for n in value)):
                raise Unauthenticated(f"{namespaces_claim} claim must list one or more non-empty strings")
            namespaces = tuple(dict.fromkeys(value))
        subject = claims.get("sub") or "anonymous"
        return Principal(tenant=tenant, role=Role(role), subject=f"jwt:{subject}", namespaces=namespaces)


__all__ = ["JwtVerifier", "looks_like_jwt"]
