"""/healthz (the process answers), /readyz (it can serve: store, model, Redis), /metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cortex.api.deps import Services, Svc, run
from cortex.core.errors import CortexError, NotReady

router = APIRouter(tags=["health"])


class Check(BaseModel):
    ok: bool
    ms: float
    error: str | None = None


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, Check]


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, summary="Readiness, with a timing per check",
            responses={503: {"model": Readiness, "description": "Not ready: see the failing checks."}})
async def readyz(svc: Svc) -> JSONResponse:
    checks = await run(_run_checks, svc)
    ready = all(c.ok for c in checks.values())
    body = Readiness(ready=ready, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}})
async def metrics(request: Request, svc: Svc) -> Response:
    body = await run(request.app.state.metrics.exposition, svc.engine)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def _run_checks(svc: Services) -> dict[str, Check]:
    checks = {"store": _timed(svc.engine.store.probe), "model": _timed(lambda: _model(svc)),
              "constitution": _timed(svc.engine.governance.current)}
    if svc.settings.redis_url is not None:
        checks["redis"] = _timed(lambda: svc.limiter.hit("cortex:readyz", 1e9, 1_000_000))
    return checks


def _model(svc: Services) -> None:
    if svc.model_error is not None:
        raise NotReady(f"embedding model failed to load: {svc.model_error}")
    if not svc.model_ready.is_set():
        raise NotReady("embedding model is still loading")


def _timed(check: Callable[[], Any]) -> Check:
    started = time.perf_counter()
    try:
        check()
    except CortexError as exc:
        return Check(ok=False, ms=_ms(started), error=exc.message)
    return Check(ok=True, ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
