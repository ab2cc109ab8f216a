"""Settings for the entry points (CLI, HTTP API, MCP server).

Only entry points build ``Settings``; the library takes explicit arguments. Precedence,
highest first, written as code in ``Settings.load``:

    explicit overrides (CLI flags, keyword arguments)  >  CORTEX_* environment  >  defaults
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from cortex.core.errors import ConfigError


class Settings(BaseSettings):
    """Every knob an operator can turn, each readable from a ``CORTEX_<NAME>`` variable."""

    model_config = SettingsConfigDict(env_prefix="CORTEX_", extra="forbid")

    store_url: str = Field(
        "sqlite:///./cortex.db",
        description="Where memories live: sqlite:///relative.db or sqlite:////absolute.db.")
    tenant: str = Field(
        "default", description="Tenant every call is scoped to unless a call names another.")
    embedder: str = Field(
        "minilm", description="Embedding model for memories and queries: minilm (local, "
        "all-MiniLM-L6-v2) or openai+https://HOST/v1?model=NAME.")
    max_text_bytes: int = Field(
        32768, gt=0, description="Largest memory text accepted, in UTF-8 bytes.")
    max_metadata_bytes: int = Field(
        16384, gt=0, description="Largest metadata object accepted, in bytes of compact JSON.")
    batch_size: int = Field(
        64, gt=0, description="Memories written per transaction by bulk writes and import.")
    working_max_messages: int = Field(
        50, gt=0, description="Messages kept per session in working memory.")
    working_max_tokens: int = Field(
        4000, gt=0, description="Token budget per session in working memory (≈4 chars/token).")

    # ---- the HTTP service (cortex serve) --------------------------------------------
    host: str = Field("127.0.0.1", description="Address `cortex serve` listens on.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port `cortex serve` listens on.")
    workers: int = Field(
        1, ge=1, le=64, description="Worker processes of `cortex serve` (each loads the model).")
    max_body_bytes: int = Field(
        1_048_576, gt=0, description="Largest HTTP request body accepted; larger answers 413.")
    redis_url: SecretStr | None = Field(
        None, description="redis://HOST:PORT/DB: share rate limits between API nodes and workers.")
    recall_cache_seconds: float = Field(
        30.0, ge=0, description="With redis_url: how long a recall answer is cached in Redis (shared by "
        "every worker and node, invalidated by any write to the tenant; 0 turns it off).")
    working_ttl_seconds: float = Field(
        86_400.0, gt=0, description="With redis_url: an idle session's working memory expires after this.")
    rate_limit_rps: float = Field(
        100.0, ge=0, description="Requests per second each tenant may make (0 turns limits off). "
        "Without Redis each of N workers enforces 1/N of it.")
    rate_limit_burst: int = Field(
        200, ge=1, description="Requests a tenant may make at once above its sustained rate.")
    max_memories_per_tenant: int = Field(
        1_000_000, gt=0, description="Quota: current memories a tenant may keep.")
    max_bytes_per_tenant: int = Field(
        1_073_741_824, gt=0, description="Quota: bytes of memory text and metadata a tenant may keep.")
    key_cache_seconds: float = Field(
        5.0, ge=0, description="How long a checked API key is cached per process (revocation "
        "through another process takes effect within this time).")
    jwt_secret: SecretStr | None = Field(
        None, description="Accept HS256 JWTs signed with this secret (Authorization: Bearer).")
    jwt_jwks_url: str | None = Field(
        None, description="Accept RS256/ES256 JWTs signed by a key published at this JWKS URL.")
    jwt_audience: str | None = Field(None, description="Required `aud` of accepted JWTs.")
    jwt_issuer: str | None = Field(None, description="Required `iss` of accepted JWTs.")
    jwt_tenant_claim: str = Field("tenant", description="JWT claim holding the tenant id.")
    jwt_role_claim: str = Field("role", description="JWT claim holding the role (admin, writer, reader).")
    jwt_namespaces_claim: str = Field(
        "namespaces", description="JWT claim holding the namespaces a token is scoped to (optional).")
    audit_key_file: str | None = Field(
        None, description="File holding the Ed25519 key that signs audit checkpoints (created 0600 on "
        "first start; default: beside the SQLite file as <db>.audit-key).")
    audit_checkpoint_seconds: float = Field(
        60.0, ge=0, description="How often `cortex serve` signs a checkpoint of each grown tenant log "
        "(0: only on demand).")
    master_key: SecretStr | None = Field(
        None, description="Base64 of a 32-byte master key that wraps every data key (envelope "
        "encryption). Takes precedence over master_key_file. Make one: `openssl rand -base64 32`.")
    master_key_file: str | None = Field(
        None, description="File holding the master key (created 0600 on first start; default: "
        "beside the SQLite file as <db>.master-key, for PostgreSQL ~/.cortex/pg-<hash>.master-key). "
        "Keep it out of database backups.")
    keystore: str | None = Field(
        None, description="SQLite file of the wrapped data keys, per tenant and subject (default: "
        "<db>.keys, for PostgreSQL ~/.cortex/pg-<hash>.keys; every API node must use the same). Kept "
        "apart from the memories so erasing a subject's key reaches backups.")
    sweep_seconds: float = Field(
        300.0, ge=0, description="How often `cortex serve` removes memories past their TTL or their "
        "kind's retention in the constitution (0: only `cortex sweep`).")
    log_level: str = Field("info", description="Log level of the service: debug, info, warning, error.")

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Defaults, then the environment, then every override that is not ``None``."""
        given = {name: value for name, value in overrides.items() if value is not None}
        try:
            return cls(**given)
        except ValidationError as exc:
            raise ConfigError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "settings"
    return f"invalid setting {where} (CORTEX_{where.upper()}): {first['msg']}"


__all__ = ["Settings"]
