"""The HTTP API (FastAPI): ``create_app(settings)``; `cortex serve` runs it under uvicorn."""

from cortex.api.app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
