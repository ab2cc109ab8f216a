"""/v1/sessions/{session}: a conversation's working memory (recent messages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from cortex.api.deps import Reader, Svc, Writer, run
from cortex.api.schemas import SESSION, Cleared, MessageIn, SessionOut
from cortex.working import WorkingMessage

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
SessionId = Annotated[str, Path(pattern=SESSION, description="Session id, e.g. chat-42.")]


@router.post("/{session}/messages", status_code=status.HTTP_201_CREATED,
             response_model=WorkingMessage, summary="Append a message to a session")
async def append(session: SessionId, body: MessageIn, caller: Writer, svc: Svc) -> WorkingMessage:
    caller.require_unscoped("sessions")
    await run(svc.engine.governance.authorize, caller, "write", "*")
    return await run(svc.engine.session_append, session, body.text, role=body.role,
                     speaker=body.speaker, tenant=caller.tenant)


@router.get("/{session}/messages", response_model=SessionOut,
            summary="A session's messages, oldest first")
async def messages(session: SessionId, caller: Reader, svc: Svc) -> SessionOut:
    caller.require_unscoped("sessions")
    await run(svc.engine.governance.authorize, caller, "read", "*")
    found = await run(svc.engine.session_messages, session, tenant=caller.tenant)
    return SessionOut(session=session, messages=found)


@router.delete("/{session}", response_model=Cleared, summary="Clear a session's messages")
async def clear(session: SessionId, caller: Writer, svc: Svc) -> Cleared:
    caller.require_unscoped("sessions")
    await run(svc.engine.governance.authorize, caller, "write", "*")
    cleared = await run(svc.engine.session_clear, session, tenant=caller.tenant)
    return Cleared(session=session, cleared=cleared)
