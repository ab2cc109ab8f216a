"""The privacy shield over HTTP: scan a text (dry run), read tokenized values, erase and
export a subject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import AfterValidator, BaseModel, Field, StrictFloat, StrictInt, StrictStr, WithJsonSchema

from cortex.api.deps import Admin, Reader, Services, Svc, run
from cortex.api.routes.memories import MemoryId, visible
from cortex.api.schemas import SUBJECT, Strict, Text
from cortex.core.models import Kind
from cortex.privacy.detect import GROUPS, TYPES, expand
from cortex.privacy.records import Erasure, SubjectExport, VaultEntry
from cortex.tenancy import Principal

router = APIRouter(prefix="/v1", tags=["privacy"])


def _known_entity(name: str) -> str:
    expand(name)  # ValueError naming the known types and groups
    return name


SubjectId = Annotated[str, Path(pattern=SUBJECT, description="The subject's id, as given on remember.")]
_ENTITY_NAMES = sorted([*TYPES, *GROUPS])
# An enum in the schema, so a schema-valid request is one the server accepts.
EntityName = Annotated[str, WithJsonSchema({"type": "string", "enum": _ENTITY_NAMES}),
                       AfterValidator(_known_entity)]


class ScanIn(Strict):
    text: Text = Field(description="Any text; nothing is stored.")
    kind: Kind | None = Field(None, description="Resolve actions as for a memory of this kind.")
    types: list[EntityName] | None = Field(None, max_length=64,
                                           description="Only these entity types or groups.")


class FindingOut(BaseModel):
    type: StrictStr
    start: StrictInt
    end: StrictInt
    confidence: StrictFloat
    validator: StrictStr
    action: StrictStr = Field(description="What the constitution in force does with it on remember.")


class ScanOut(BaseModel):
    findings: list[FindingOut]


class VaultOut(BaseModel):
    memory_id: str
    entries: list[VaultEntry]


@router.post("/privacy/scan", response_model=ScanOut,
             summary="Detect PII and secrets in a text and show the action each would get")
async def scan(body: ScanIn, caller: Reader, svc: Svc) -> ScanOut:
    found = await run(svc.engine.privacy.scan_actions, body.text, tenant=caller.tenant, kind=body.kind,
                      types=body.types)
    return ScanOut(findings=[FindingOut.model_validate(f) for f in found])


@router.get("/memories/{memory_id:ulid}/vault", response_model=VaultOut,
            summary="The originals behind a memory's tokenized values (roles the constitution names)")
async def vault(memory_id: MemoryId, caller: Reader, svc: Svc) -> VaultOut:
    await run(visible, svc, caller, memory_id)
    entries = await run(svc.engine.privacy.reveal, memory_id, role=caller.role.value, tenant=caller.tenant)
    return VaultOut(memory_id=memory_id, entries=entries)


def _erase(svc: Services, caller: Principal, subject: str) -> Erasure:
    caller.require_unscoped("subject erasure")
    svc.engine.governance.authorize(caller, "erase", "*")
    return svc.engine.privacy.erase_subject(subject, tenant=caller.tenant)


def _export(svc: Services, caller: Principal, subject: str) -> SubjectExport:
    caller.require_unscoped("subject export")
    svc.engine.governance.authorize(caller, "admin", "*")
    return svc.engine.privacy.export_subject(subject, tenant=caller.tenant)


@router.delete("/subjects/{subject}", response_model=Erasure,
               summary="Erase a subject: every memory, vector, full-text row, vault entry and its data key")
async def erase_subject(subject: SubjectId, caller: Admin, svc: Svc) -> Erasure:
    return await run(_erase, svc, caller, subject)


@router.get("/subjects/{subject}/export", response_model=SubjectExport,
            summary="Everything kept about a subject (an access request), as JSON")
async def export_subject(subject: SubjectId, caller: Admin, svc: Svc) -> SubjectExport:
    return await run(_export, svc, caller, subject)
