"""Structured logs: one JSON object per line, on stderr.

Access lines carry request id, tenant, route, status and latency, never memory text,
queries or credentials (the principal is logged by key id only).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str = "info") -> None:
    """Route cortex and uvicorn logs through one JSON handler (idempotent)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    for name in ("cortex", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(level.upper())
    logging.getLogger("uvicorn.access").disabled = True  # our access line replaces it


def uvicorn_log_config(level: str = "info") -> dict[str, Any]:
    """The same JSON lines for uvicorn's own messages, in each worker process."""
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": "cortex.api.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {
            "cortex": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }
