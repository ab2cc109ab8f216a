"""/v1/constitution: the signed constitution in force, and applying the next version."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from pydantic import BaseModel

from cortex.api.deps import Admin, Reader, Svc, run
from cortex.core.errors import NotFound
from cortex.governance.service import governed_errors
from cortex.governance.signing import SignedConstitution

router = APIRouter(prefix="/v1/constitution", tags=["governance"])


class Applied(BaseModel):
    version: int
    threshold: int
    keys: list[str]
    expires: str


@router.get("", summary="The signed constitution in force (envelope: signed + signatures)")
async def current(caller: Reader, svc: Svc) -> dict[str, Any]:
    envelope = await run(svc.engine.governance.envelope)
    if envelope is None:
        raise NotFound("no constitution has been applied to this server")
    return envelope.to_data()


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Applied,
             summary="Apply the next version: it must carry k signatures of the old and of the new keys")
async def apply(caller: Admin, svc: Svc,
                envelope: Annotated[dict[str, Any], Body(description="The envelope {signed, signatures}.")],
                ) -> Applied:
    with governed_errors():
        candidate = SignedConstitution.from_data(envelope)
    document = await run(svc.engine.governance.apply, candidate)
    return Applied(version=document.version, threshold=document.threshold, keys=sorted(document.keys),
                   expires=document.expires.isoformat())
