"""The HTTP API (FastAPI): ``create_app(settings)``; `cortex serve` runs it under uvicorn.

Imported lazily, so ``cortex.api.schemas`` (shared with clients) does not pull in the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cortex.api.app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from cortex.api import app

        return getattr(app, name)
    raise AttributeError(f"module 'cortex.api' has no attribute {name!r}")
