"""The chat routes, made for one wiring's request session (`SessionDependency`).

Which `get_db` the routes depend on, and in which FastAPI dependency scope, is the wiring's
choice, so the routes are made per app. No `from __future__ import annotations` here: FastAPI
reads each parameter's `Depends` from its annotation, and these name local variables.
"""

import inspect
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.api.schemas import ConversationOut, MessageIn, MessageOut
from reference_app.application.checkpoints import Point, checkpoint
from reference_app.application.use_cases import SendUserMessage
from reference_app.wirings import SessionDependency, SessionModule

_HAS_SCOPE = "scope" in inspect.signature(Depends).parameters  # FastAPI >= 0.121


def depends(call: Any, scope: Literal["function", "request"] | None) -> Any:
    """`Depends(call, scope=scope)`; plain `Depends(call)` where FastAPI has no scope (before
    0.118 that is the same thing; from 0.118 to 0.120 no scope can fix the wiring, and its
    expectations say for which versions they hold)."""
    return Depends(call, scope=scope) if scope is not None and _HAS_SCOPE else Depends(call)


async def after_response() -> AsyncIterator[None]:
    """The named point after the response is sent. Its code after `yield` runs then (FastAPI >=
    0.118), before that of every dependency entered earlier, such as get_db's."""
    yield
    await checkpoint(Point.AFTER_RESPONSE)


def chat_router(session: SessionDependency) -> APIRouter:
    router = APIRouter()
    request_db = depends(session.get_db, session.scope)

    async def get_use_case(
        request: Request, db: Annotated[AsyncSession, request_db]
    ) -> AsyncIterator[SendUserMessage]:
        module: SessionModule = request.app.state.session_module
        async with module.provide_use_case(db) as use_case:
            yield use_case

    use_case_dependency = session.use_case or get_use_case

    async def post_message(
        session_id: UUID,
        body: MessageIn,
        use_case: Annotated[SendUserMessage, depends(use_case_dependency, session.scope)],
        _sent: Annotated[None, Depends(after_response)],
    ) -> ConversationOut:
        processed = await use_case.execute(session_id, body.content)
        return ConversationOut(
            session_id=session_id,
            messages=[MessageOut.of(processed.user_message), MessageOut.of(processed.reply)],
        )

    async def get_messages(
        session_id: UUID, request: Request, db: Annotated[AsyncSession, request_db]
    ) -> ConversationOut:
        module: SessionModule = request.app.state.session_module
        async with module.provide_reader(db) as service:
            history = await service.history(session_id)
        if history is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"chat session {session_id} not found")
        return ConversationOut(session_id=session_id, messages=[MessageOut.of(m) for m in history])

    router.add_api_route(
        "/sessions/{session_id}/messages",
        post_message,
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
    )
    router.add_api_route("/sessions/{session_id}/messages", get_messages, methods=["GET"])
    return router
