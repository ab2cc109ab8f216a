"""/v1/keys and /v1/tenant: an admin's view of its own tenant (keys, usage, limits).

Admins manage their own tenant only; new tenants are made by an operator with
``cortex keys create --tenant T --role admin`` against the store.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from cortex.api.deps import Admin, Svc, run
from cortex.api.schemas import KeyCreated, KeyIn, KeysOut, Limits, TenantOut
from cortex.core.models import ApiKey, utcnow

router = APIRouter(prefix="/v1", tags=["admin"])


@router.get("/tenant", response_model=TenantOut, summary="This tenant's usage and limits")
async def tenant(caller: Admin, svc: Svc) -> TenantOut:
    cfg = svc.settings
    usage = await run(svc.engine.usage, tenant=caller.tenant)
    return TenantOut(tenant=caller.tenant, usage=usage, limits=Limits(
        rate_limit_rps=cfg.rate_limit_rps, rate_limit_burst=cfg.rate_limit_burst,
        max_memories=cfg.max_memories_per_tenant, max_bytes=cfg.max_bytes_per_tenant))


class TenantPolicies(BaseModel):
    policies: str = Field(max_length=65_536, description="Cedar policies, each with an @id; forbid only.")


@router.get("/tenant/policies", response_model=TenantPolicies, summary="This tenant's own Cedar policies")
async def get_policies(caller: Admin, svc: Svc) -> TenantPolicies:
    return TenantPolicies(policies=await run(svc.engine.governance.tenant_policies, caller.tenant))


@router.put("/tenant/policies", response_model=TenantPolicies,
            summary="Replace this tenant's own Cedar policies (forbid only; checked, then logged)")
async def set_policies(body: TenantPolicies, caller: Admin, svc: Svc) -> TenantPolicies:
    await run(svc.engine.governance.set_tenant_policies, caller.tenant, body.policies)
    return body


@router.get("/keys", response_model=KeysOut, summary="This tenant's API keys (never their secrets)")
async def list_keys(caller: Admin, svc: Svc) -> KeysOut:
    return KeysOut(keys=await run(svc.engine.keys.list, caller.tenant))


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=KeyCreated,
             summary="Create an API key for this tenant (the secret is shown once)")
async def create_key(body: KeyIn, caller: Admin, svc: Svc) -> KeyCreated:
    expires_at = None if body.expires_in is None else utcnow() + timedelta(seconds=body.expires_in)
    issued = await run(svc.engine.keys.create, caller.tenant, body.role,
                       namespaces=body.namespaces, name=body.name, expires_at=expires_at)
    return KeyCreated(key=issued.key, record=issued.record)


@router.delete("/keys/{key_id}", response_model=ApiKey, summary="Revoke an API key")
async def revoke_key(key_id: Annotated[str, Path(pattern=r"^[a-z2-7]{12}$")], caller: Admin,
                     svc: Svc) -> ApiKey:
    return await run(svc.engine.keys.revoke, caller.tenant, key_id)
