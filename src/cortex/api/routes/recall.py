"""POST /v1/recall: hybrid recall with filters, as_of and the session's working memory."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request

from cortex.api.deps import Reader, Services, Svc, run
from cortex.api.schemas import HitOut, RecallIn, RecallOut
from cortex.tenancy import Principal

router = APIRouter(prefix="/v1", tags=["recall"])


def _authorize_reads(svc: Services, caller: Principal, scope: tuple[str, ...] | None) -> None:
    for namespace in scope or ("*",):
        svc.engine.governance.authorize(caller, "read", namespace)


@router.post("/recall", response_model=RecallOut, summary="Recall what matters for a query")
async def recall(body: RecallIn, caller: Reader, svc: Svc, request: Request,
                 proofs: Annotated[bool, Query(description="Attach each hit's audit receipt.")] = False,
                 ) -> RecallOut:
    if body.session is not None:
        caller.require_unscoped("sessions")
    scope = caller.scope(body.namespace)
    await run(_authorize_reads, svc, caller, scope)
    started = time.perf_counter()
    hits = await run(svc.engine.recall, body.query, namespace=scope, k=body.k, kinds=body.kinds,
                     tags=body.tags, metadata=body.metadata, as_of=body.as_of,
                     occurred_after=body.occurred_after, occurred_before=body.occurred_before,
                     session=body.session, tenant=caller.tenant)
    request.app.state.metrics.recall_seconds.observe(time.perf_counter() - started)
    receipts = {}
    if proofs:
        stored = [h.memory.id for h in hits if h.origin == "store"]
        receipts = await run(svc.engine.audit.receipts_for, caller.tenant, stored)
    return RecallOut(hits=[HitOut.of(hit, receipts.get(hit.memory.id)) for hit in hits])
