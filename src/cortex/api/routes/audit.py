"""/v1/audit: the tenant's tamper-evident log — public key, checkpoints, proofs, events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from cortex.api.deps import Admin, Reader, Svc, run
from cortex.api.schemas import MEMORY_ID
from cortex.core.errors import NotFound
from cortex.core.models import Receipt

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class PublicKey(BaseModel):
    public_key: str
    algorithm: str = "ed25519"
    format: str = "C2SP signed-note verifier key (name+keyid+base64)"


class CheckpointOut(BaseModel):
    tenant: str
    size: int
    root: str  # base64
    note: str  # the signed note (C2SP tlog-checkpoint)


class Consistency(BaseModel):
    from_size: int
    to_size: int
    from_root: str
    to_root: str
    proof: list[str]


class LeafOut(BaseModel):
    index: int
    leaf_hash: str
    event: dict[str, Any]


class EventsOut(BaseModel):
    events: list[LeafOut]
    next: int | None


@router.get("/public-key", response_model=PublicKey, summary="The key that signs checkpoints")
async def public_key(svc: Svc) -> PublicKey:
    return PublicKey(public_key=await run(lambda: svc.engine.audit.public_key()))


@router.get("/checkpoint", response_model=CheckpointOut,
            summary="The newest signed checkpoint of this tenant's log (signed now if it grew)")
async def checkpoint(caller: Reader, svc: Svc) -> CheckpointOut:
    head = await run(svc.engine.audit.checkpoint, caller.tenant)
    if head is None:
        raise NotFound("this tenant's audit log is empty")
    import base64

    return CheckpointOut(tenant=head.tenant, size=head.size, root=base64.b64encode(head.root).decode(),
                         note=head.note)


@router.get("/proof/{memory_id:ulid}", response_model=Receipt,
            summary="A memory's receipt: leaf, signed checkpoint and inclusion proof")
async def proof(memory_id: Annotated[str, Path(pattern=MEMORY_ID)], caller: Reader, svc: Svc) -> Receipt:
    from cortex.api.routes.memories import visible

    await run(visible, svc, caller, memory_id)
    return await run(svc.engine.audit.receipt, caller.tenant, memory_id)


@router.get("/consistency", response_model=Consistency,
            summary="Proof that the log at `to` extends the log at `from` (RFC 9162)")
async def consistency(caller: Reader, svc: Svc,
                      from_size: Annotated[int, Query(alias="from", ge=1, le=2**62)],
                      to_size: Annotated[int, Query(alias="to", ge=1, le=2**62)]) -> Consistency:
    if from_size > to_size:  # a proof that cannot exist, like one past the log's end
        raise NotFound(f"no consistency proof from size {from_size} to the smaller size {to_size}")
    found = await run(svc.engine.audit.consistency, caller.tenant, from_size, to_size)
    return Consistency(from_size=found["from"], to_size=found["to"], from_root=found["from_root"],
                       to_root=found["to_root"], proof=found["proof"])


@router.get("/events", response_model=EventsOut, summary="The log's events in order (paged)")
async def events(caller: Admin, svc: Svc, after: Annotated[int, Query(ge=-1, le=2**62)] = -1,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> EventsOut:
    leaves = await run(svc.engine.audit.events, caller.tenant, after + 1, limit)
    out = [LeafOut(index=leaf.index, leaf_hash=leaf.leaf_hash.hex(), event=json.loads(leaf.event))
           for leaf in leaves]
    return EventsOut(events=out, next=out[-1].index if len(out) == limit else None)


@router.get("/export", summary="The whole log as JSON lines, for `cortex audit verify`",
            response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}}, "description": "JSON lines."}})
async def export(caller: Admin, svc: Svc) -> StreamingResponse:
    records = await run(lambda: list(svc.engine.audit.export(caller.tenant)))

    def lines() -> Iterator[str]:
        for record in records:
            yield json.dumps(record, ensure_ascii=False) + "\n"
    return StreamingResponse(lines(), media_type="application/x-ndjson")
