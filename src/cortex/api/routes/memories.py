"""/v1/memories: create (one or a batch), get, history, list, update, delete."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

import cortex.api.convertors  # noqa: F401  (registers {…:ulid} before the routes below)
from cortex.api.deps import Reader, Services, Svc, Writer, run
from cortex.api.schemas import (
    MAX_TAGS,
    MEMORY_ID,
    BatchIn,
    BatchOut,
    Deleted,
    History,
    MemoryPage,
    NamespaceName,
    RememberIn,
    Tag,
    UpdateIn,
)
from cortex.core.errors import InvalidInput, MemoryNotFound, QuotaExceeded
from cortex.core.models import Kind, Memory, RememberResult
from cortex.tenancy import Principal

router = APIRouter(prefix="/v1/memories", tags=["memories"])
# The route converter `ulid` (registered in cortex.api.app) keeps /v1/memories/batch from
# matching /{memory_id}; the pattern documents the same rule in the OpenAPI schema.
MemoryId = Annotated[str, Path(pattern=MEMORY_ID, description="A memory id (ULID).")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RememberResult,
             summary="Remember one memory",
             responses={200: {"model": RememberResult, "description": "An exact duplicate: "
                              "nothing new was stored; the existing memory is returned."}})
async def remember(body: RememberIn, caller: Writer, svc: Svc, response: Response) -> RememberResult:
    caller.require_namespace(body.namespace)
    results = await run(_write, svc, caller, [body])
    if not results[0].created:
        response.status_code = status.HTTP_200_OK
    return results[0]


@router.post("/batch", status_code=status.HTTP_201_CREATED, response_model=BatchOut,
             summary="Remember up to 1,000 memories in one all-or-nothing call")
async def remember_batch(body: BatchIn, caller: Writer, svc: Svc) -> BatchOut:
    for item in body.items:
        caller.require_namespace(item.namespace)
    results = await run(_write, svc, caller, body.items)
    return BatchOut(results=results, created=sum(r.created for r in results))


@router.get("", response_model=MemoryPage, summary="List current memories, newest first")
async def list_memories(
    caller: Reader, svc: Svc,
    namespace: Annotated[list[NamespaceName], Query(description="Repeat for several.")] = [],  # noqa: B006
    kind: Annotated[list[Kind], Query(description="Repeat for several.")] = [],  # noqa: B006
    tag: Annotated[list[Tag], Query(max_length=MAX_TAGS, description="Memories must carry every tag.")
                   ] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    after: Annotated[str | None, Query(pattern=MEMORY_ID, description="`next` of the previous page.")] = None,
    include_superseded: bool = False,
) -> MemoryPage:
    scope = caller.scope(namespace or None)
    for space in scope or ("*",):
        await run(svc.engine.governance.authorize, caller, "read", space)
    items = await run(svc.engine.list, namespace=scope, kinds=kind or None, tags=tag or None,
                      limit=limit, after=after, include_superseded=include_superseded, tenant=caller.tenant)
    return MemoryPage(items=items, next=items[-1].id if len(items) == limit else None)


@router.get("/{memory_id:ulid}", response_model=Memory, summary="Get one memory version")
async def get_memory(memory_id: MemoryId, caller: Reader, svc: Svc) -> Memory:
    return await run(visible, svc, caller, memory_id)


@router.get("/{memory_id:ulid}/history", response_model=History, summary="Every version, oldest first")
async def history(memory_id: MemoryId, caller: Reader, svc: Svc) -> History:
    await run(visible, svc, caller, memory_id)
    return History(versions=await run(svc.engine.history, memory_id, tenant=caller.tenant))


@router.patch("/{memory_id:ulid}", response_model=Memory,
              summary="Update: write a new version; the old one stays in history")
async def update(memory_id: MemoryId, body: UpdateIn, caller: Writer, svc: Svc) -> Memory:
    await run(visible, svc, caller, memory_id, "write")
    return await run(svc.engine.update, memory_id, tenant=caller.tenant, **body.changes())


@router.delete("/{memory_id:ulid}", response_model=Deleted,
               summary="Forget: hard-delete every version, its vector and full-text rows")
async def forget(memory_id: MemoryId, caller: Writer, svc: Svc) -> Deleted:
    await run(visible, svc, caller, memory_id, "write")
    return Deleted(deleted=await run(svc.engine.forget, memory_id, tenant=caller.tenant))


def visible(svc: Services, caller: Principal, memory_id: str, action: str = "read") -> Memory:
    """Another tenant's memory, or one outside the key's namespaces, does not exist here;
    the constitution's policy then decides on this memory's namespace and kind."""
    memory = svc.engine.get(memory_id, tenant=caller.tenant)
    if not caller.sees(memory.namespace):
        raise MemoryNotFound(f"no memory {memory_id}", id=memory_id)
    svc.engine.governance.authorize(caller, action, memory.namespace, memory.kind.value)
    return memory


def _write(svc: Services, caller: Principal, items: list[RememberIn]) -> list[RememberResult]:
    raw = [item.engine_item() for item in items]
    for index, item in enumerate(raw):  # 422 for bad input before any quota arithmetic
        try:
            svc.engine.validate(item)
        except InvalidInput as exc:
            exc.detail.setdefault("index", index)
            raise
    for kind, namespace in sorted({(str(i.get("kind", "episode")), str(i["namespace"])) for i in raw}):
        svc.engine.governance.authorize(caller, "write", namespace, kind)
    check_quota(svc, caller.tenant, raw)
    return svc.engine.remember_many(raw, tenant=caller.tenant)


def _size(item: dict[str, Any]) -> int:
    """What the store counts: UTF-8 text plus compact metadata JSON."""
    metadata = json.dumps(item.get("metadata") or {}, sort_keys=True, separators=(",", ":"))
    return len(str(item["text"]).encode("utf-8")) + len(metadata)


def check_quota(svc: Services, tenant: str, raw: list[dict[str, Any]]) -> None:
    """QuotaExceeded unless the tenant has room for these items (also used by MCP)."""
    used = svc.engine.usage(tenant=tenant)
    adding = sum(_size(item) for item in raw)
    cfg = svc.settings
    if used.memories + len(raw) > cfg.max_memories_per_tenant:
        raise QuotaExceeded(f"tenant quota of {cfg.max_memories_per_tenant} memories reached",
                            used=used.memories, limit=cfg.max_memories_per_tenant)
    if used.bytes + adding > cfg.max_bytes_per_tenant:
        raise QuotaExceeded(f"tenant quota of {cfg.max_bytes_per_tenant} bytes reached",
                            used=used.bytes, limit=cfg.max_bytes_per_tenant)
