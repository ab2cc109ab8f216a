"""What every route shares: the engine and its companions, the caller, worker threads.

Handlers are ``async`` but the engine is synchronous (SQLite, the model): every engine
call goes through ``run`` onto a worker thread, so the event loop never blocks. SQLite
writes are serialised by the store's single writer connection.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.routing import APIRoute

from cortex.audit.events import set_actor
from cortex.core.config import Settings
from cortex.core.errors import InvalidInput, RateLimited, Unauthenticated
from cortex.engine import Cortex
from cortex.tenancy import Action, Principal
from cortex.tenancy.jwt import JwtVerifier, looks_like_jwt
from cortex.tenancy.ratelimit import RateLimiter

T = TypeVar("T")


@dataclass
class Services:
    engine: Cortex
    settings: Settings
    limiter: RateLimiter
    jwt: JwtVerifier | None = None
    rate: float = 0.0  # this process's share of the tenant rate limit (see Services.of)
    burst: int = 1
    model_ready: threading.Event = field(default_factory=threading.Event)
    model_error: str | None = None


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def run(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call the synchronous engine on a worker thread."""
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    raise Unauthenticated("missing credentials: send Authorization: Bearer <API key or JWT>")


def authenticate(svc: Services, token: str) -> Principal:
    """An API key or a JWT → Principal, then the tenant's rate limit (also for MCP)."""
    if looks_like_jwt(token):
        if svc.jwt is None:
            raise Unauthenticated("JWTs are not accepted by this server (no JWT settings)")
        principal = svc.jwt.verify(token)
    else:
        principal = svc.engine.keys.authenticate(token)
    if principal.tenant.startswith("_"):  # reserved (the _system audit log), even for a JWT
        raise Unauthenticated("tenant names starting with '_' are reserved")
    if svc.rate > 0:
        decision = svc.limiter.hit(principal.tenant, svc.rate, svc.burst)
        if not decision.allowed:
            raise RateLimited(f"rate limit of {svc.settings.rate_limit_rps:g} requests/s for this "
                              "tenant exceeded", retry_after=decision.retry_after)
    return principal


def _needs(action: Action) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        # The key lookup reads SQLite: on a worker thread. The actor is set here, in the
        # request's own context, so every later engine call (copied into its thread) and
        # so every audit leaf it writes names this caller.
        _reject_unknown_query(request)
        principal = await run(_admit, request, bearer_token(request), action)
        set_actor(principal.subject)
        return principal
    return dependency


def _admit(request: Request, token: str, action: Action) -> Principal:
    svc = services(request)
    principal = authenticate(svc, token)
    request.state.principal = principal  # for the access log, also when refused below
    set_actor(principal.subject)  # this thread's context: a deny leaf names the caller
    svc.engine.governance.authorize(principal, action.value)
    return principal


def _query_names(route: APIRoute) -> frozenset[str]:
    cached: frozenset[str] | None = getattr(route, "_cortex_query_names", None)
    if cached is not None:
        return cached
    names: set[str] = set()
    pending = [route.dependant]
    while pending:  # the route's own parameters and those of its dependencies
        dependant = pending.pop()
        names.update(p.alias for p in dependant.query_params)
        pending.extend(dependant.dependencies)
    found = frozenset(names)
    route.__dict__["_cortex_query_names"] = found  # computed once per route
    return found


def _reject_unknown_query(request: Request) -> None:
    """A typo like ?namepsace= must fail loudly, not silently read everything."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        unknown = set(request.query_params) - _query_names(route)
        if unknown:
            raise InvalidInput(f"unknown query parameter {sorted(unknown)[0]!r}", field="query")


Reader = Annotated[Principal, Depends(_needs(Action.READ))]
Writer = Annotated[Principal, Depends(_needs(Action.WRITE))]
Admin = Annotated[Principal, Depends(_needs(Action.ADMIN))]
Svc = Annotated[Services, Depends(services)]

__all__ = ["Admin", "Reader", "Services", "Svc", "Writer", "authenticate", "bearer_token", "run"]
