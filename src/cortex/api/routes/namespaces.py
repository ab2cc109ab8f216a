"""/v1/namespaces: what a tenant has, per namespace."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from cortex.api.deps import Reader, Svc, run
from cortex.api.schemas import NAMESPACE, NamespacesOut
from cortex.core.errors import NamespaceNotFound
from cortex.core.models import NamespaceStats

router = APIRouter(prefix="/v1/namespaces", tags=["namespaces"])


@router.get("", response_model=NamespacesOut, summary="Namespaces with memory counts and bytes")
async def list_namespaces(caller: Reader, svc: Svc) -> NamespacesOut:
    found = await run(svc.engine.namespaces, tenant=caller.tenant)
    return NamespacesOut(namespaces=[s for s in found if caller.sees(s.namespace)])


@router.get("/{namespace:path}", response_model=NamespaceStats, summary="One namespace's counts")
async def namespace_stats(namespace: Annotated[str, Path(pattern=NAMESPACE)], caller: Reader,
                          svc: Svc) -> NamespaceStats:
    found = await run(svc.engine.namespaces, tenant=caller.tenant)
    for stats in found:
        if stats.namespace == namespace and caller.sees(namespace):
            return stats
    raise NamespaceNotFound(f"no memories in namespace {namespace}", namespace=namespace)
