"""The FastAPI application: ``create_app(settings)`` over one engine.

    uvicorn --factory cortex.api.app:app_from_env     (what `cortex serve` runs)

Start-up opens the store at once and loads the embedding model on a background thread;
``/readyz`` answers 503 until the model is loaded. Routes are thin: authorise, call the
engine on a worker thread, render.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import Route

import cortex
from cortex.api import mcp_mount, problems
from cortex.api.deps import Services, run
from cortex.api.metrics import MeteredEmbedder, Metrics
from cortex.api.middleware import ServiceMiddleware
from cortex.api.routes import (
    admin,
    audit,
    constitution,
    health,
    memories,
    namespaces,
    privacy,
    recall,
    sessions,
)
from cortex.core.config import Settings
from cortex.core.errors import CortexError
from cortex.embed import Embedder
from cortex.engine import Cortex
from cortex.tenancy.jwt import JwtVerifier
from cortex.tenancy.ratelimit import open_rate_limiter
from cortex.wiring import open_engine

log = logging.getLogger("cortex.api")

DESCRIPTION = """Cortex: a governed memory engine for AI agents.

Authenticate every `/v1` call with `Authorization: Bearer <API key or JWT>`. The tenant
always comes from the credential. Errors are RFC 9457 `application/problem+json` with a
stable `type`."""


def create_app(settings: Settings | None = None, *, engine: Cortex | None = None,
               embedder: Embedder | None = None) -> FastAPI:
    """The app. ``engine`` (or ``embedder``) lets a host or a test share loaded parts."""
    cfg = settings or Settings.load()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = _services(cfg, engine, embedder, metrics)
        app.state.services = svc
        app.state.mcp_app = mcp_mount.build(svc)
        log.info("audit checkpoints are signed by %s", svc.engine.audit.public_key())  # fail closed
        _check_constitution(svc, metrics)  # fail closed: invalid, expired or under-signed stops here
        threading.Thread(target=_load_model, args=(svc,), name="cortex-model-load", daemon=True).start()
        try:
            async with app.state.mcp_app.lifespan(), anyio.create_task_group() as tasks:
                if cfg.audit_checkpoint_seconds > 0:
                    tasks.start_soon(_checkpoints, svc, cfg.audit_checkpoint_seconds)
                if cfg.sweep_seconds > 0:
                    tasks.start_soon(_sweeper, svc, cfg.sweep_seconds)
                yield
                tasks.cancel_scope.cancel()
        finally:
            svc.limiter.close()
            if engine is None:  # ours to close; a host's engine is the host's
                svc.engine.close()

    app = FastAPI(title="Cortex", version=cortex.__version__, description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.metrics = metrics
    problems.install(app)
    for module in (memories, recall, sessions, namespaces, admin, audit, constitution, privacy, health):
        app.include_router(module.router)
    app.router.routes.append(Route("/mcp", endpoint=mcp_mount.Endpoint()))  # not in the OpenAPI
    app.add_middleware(ServiceMiddleware, metrics=metrics, max_body_bytes=cfg.max_body_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers: settings come from CORTEX_* (set by `cortex serve`)."""
    from cortex.api.logs import configure

    cfg = Settings.load()
    configure(cfg.log_level)
    return create_app(cfg)


def _services(cfg: Settings, engine: Cortex | None, embedder: Embedder | None,
              metrics: Metrics) -> Services:
    if engine is None:  # a host's engine is left as it is
        engine = open_engine(cfg, embedder)
        engine.embedder = MeteredEmbedder(engine.embedder, metrics.embed_batch)
    redis_url = cfg.redis_url.get_secret_value() if cfg.redis_url is not None else None
    jwt = None
    if cfg.jwt_secret is not None or cfg.jwt_jwks_url is not None:
        jwt = JwtVerifier(
            secret=cfg.jwt_secret.get_secret_value() if cfg.jwt_secret is not None else None,
            jwks_url=cfg.jwt_jwks_url, audience=cfg.jwt_audience, issuer=cfg.jwt_issuer,
            tenant_claim=cfg.jwt_tenant_claim, role_claim=cfg.jwt_role_claim,
            namespaces_claim=cfg.jwt_namespaces_claim)
    engine.keys.cache_seconds = cfg.key_cache_seconds
    # In-process limits with N workers: each enforces 1/N (the kernel spreads connections
    # about evenly). Redis makes one shared, exact limit.
    share = cfg.workers if redis_url is None else 1
    if share > 1 and cfg.rate_limit_rps > 0:
        log.warning("rate limits are per worker without CORTEX_REDIS_URL: each of %d workers "
                    "enforces 1/%d of the tenant limit", share, share)
    return Services(engine=engine, settings=cfg, limiter=open_rate_limiter(redis_url), jwt=jwt,
                    rate=cfg.rate_limit_rps / share, burst=max(1, cfg.rate_limit_burst // share))


def _check_constitution(svc: Services, metrics: Metrics) -> None:
    document = svc.engine.governance.current()
    metrics.constitution_verify.set(svc.engine.governance.verify_seconds)
    if document is not None:
        log.info("constitution version %d in force until %s", document.version, document.expires)


async def _checkpoints(svc: Services, every: float) -> None:
    """Sign a checkpoint of each tenant log that grew, on a cadence (and once at start)."""
    while True:
        try:
            await run(svc.engine.audit.checkpoint_all)
        except CortexError as exc:  # e.g. the store is busy: try again next round
            log.warning("audit checkpoint round failed: %s", exc.message)
        await anyio.sleep(every)


async def _sweeper(svc: Services, every: float) -> None:
    """Remove memories past their TTL or their kind's retention, on a cadence."""
    while True:
        await anyio.sleep(every)
        try:
            removed = await run(svc.engine.sweep_detail)
        except CortexError as exc:
            log.warning("sweep failed: %s", exc.message)
            continue
        if any(removed.values()):
            log.info("sweep removed %d expired and %d past-retention memories",
                     removed["expired"], removed["retention"])


def _load_model(svc: Services) -> None:
    try:
        svc.engine.embedder.embed_batch(["warm up"])
    except CortexError as exc:
        svc.model_error = exc.message
        log.error("embedding model failed to load: %s", exc.message)
        return
    svc.model_ready.set()
    log.info("embedding model ready")


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with every error response documented as problem+json."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(_problem_schemas())
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            _document_errors(operation, secured=path.startswith("/v1") and path not in _PUBLIC)
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    if any(p.startswith("/v1") for p in schema.get("paths", {})):
        schema["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "An API key (ctx_...) or a JWT."}}
    app.openapi_schema = schema
    return schema


_PUBLIC = {"/v1/audit/public-key"}  # anyone may fetch the key that verifies checkpoints
_ERRORS_V1 = {401: "No, bad, expired or revoked credential.",
              403: "The role or namespace scope does not allow this, or a quota is full.",
              413: "Request body over the size limit.", 422: "Invalid input; `errors` lists the fields.",
              429: "Rate limit exceeded; retry after `Retry-After` seconds.",
              500: "Internal error.", 503: "A dependency is unavailable; retry later."}


def _document_errors(operation: dict[str, Any], *, secured: bool) -> None:
    responses = operation.setdefault("responses", {})
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    wanted = dict(_ERRORS_V1) if secured else {500: "Internal error."}
    if secured:
        wanted[404] = "Not found (another tenant's ids are not found either)."
        operation["security"] = [{"bearer": []}]
    for code, text in wanted.items():
        responses.setdefault(str(code), {"description": text})
    for code, response in responses.items():
        if code[0] in "45" and not (code == "503" and "Readiness" in str(response)):
            response["content"] = {problems.MEDIA_TYPE: ref}


def _problem_schemas() -> dict[str, Any]:
    problem = problems.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = problem.pop("$defs", {})
    return {"Problem": problem, **defs}


__all__ = ["app_from_env", "create_app"]
