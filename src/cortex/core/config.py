"""Settings for the entry points (CLI, HTTP API, MCP server).

Only entry points build ``Settings``; the library takes explicit arguments. Precedence,
highest first, written as code in ``Settings.load``:

    explicit overrides (CLI flags, keyword arguments)  >  CORTEX_* environment  >  defaults
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError
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
