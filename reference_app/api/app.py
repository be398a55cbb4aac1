"""`create_app(engine, wiring)`: the ASGI app, wired one of the ways in `reference_app.wirings`."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException

from reference_app.api.routes import chat_router
from reference_app.application.checkpoints import InjectedFault
from reference_app.infrastructure.database import POOL_TIMEOUT_S, create_session_maker
from reference_app.infrastructure.errors import RETRYABLE_CODES, driver_error_code
from reference_app.wirings import SessionModule, module_for


async def database_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DBAPIError)
    code = driver_error_code(error)
    if error.connection_invalidated:
        # The connection died mid-request (server restart, pg_terminate_backend, network): say
        # so, not a bare "database error". Not retryable as such: a connection lost at commit
        # leaves the outcome unknown. The pool reconnects for the next request.
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={
                "detail": "the database connection was lost during the request; read the "
                "conversation back before retrying",
                "code": "database_disconnected",
                "driver_code": code,
                "retryable": False,
            },
        )
    retryable = code in RETRYABLE_CODES
    return JSONResponse(
        status_code=status.HTTP_409_CONFLICT if retryable else 500,
        content={
            "detail": "the request conflicted with another; retry it"
            if retryable
            else "database error",
            "code": code,
            "retryable": retryable,
        },
    )


async def pool_exhausted(_request: Request, error: Exception) -> JSONResponse:
    """Every pooled connection stayed busy for the whole bounded wait (the two-session bug
    holds two a request): a retryable 503 with a code, not a hang or a bare 500."""
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content={
            "detail": f"no database connection was free within {POOL_TIMEOUT_S}s; retry it",
            "code": "pool_timeout",
            "retryable": True,
        },
    )


async def invalid_request(_request: Request, error: Exception) -> JSONResponse:
    """A 422 naming each invalid field, without echoing the input (it may not even encode)."""
    assert isinstance(error, RequestValidationError)
    problems = [
        {
            "field": _field_name(problem["loc"]),
            "loc": [str(part) for part in problem["loc"]],
            "msg": problem["msg"],
            "type": problem["type"],
        }
        for problem in error.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": problems})


async def http_error(request: Request, error: Exception) -> Response:
    """FastAPI answers an undecodable body with a bare 400; name the problem like any other."""
    assert isinstance(error, StarletteHTTPException)
    if isinstance(error.__cause__, UnicodeDecodeError):
        problem = {
            "field": "body",
            "loc": ["body"],
            "msg": f"the body is not valid UTF-8 ({error.__cause__.reason})",
            "type": "utf8_invalid",
        }
        return JSONResponse(status_code=422, content={"detail": [problem]})
    return await http_exception_handler(request, error)


def _field_name(loc: tuple[int | str, ...]) -> str:
    names = [part for part in loc if isinstance(part, str) and part not in ("body", "path")]
    return names[-1] if names else "body"


async def injected_fault(_request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(status_code=500, content={"detail": str(error), "code": "injected_fault"})


def create_app(engine: AsyncEngine, wiring: str | type[SessionModule]) -> FastAPI:
    """The app wired as `wiring`: a name in `WIRINGS`, or a composition of its own (a
    `SessionModule` subclass, as the tests' zoo of variants passes)."""
    module_class = module_for(wiring) if isinstance(wiring, str) else wiring
    app = FastAPI(title=f"reference app ({module_class.name})")
    session_maker = create_session_maker(engine)
    app.state.session_maker = session_maker
    module = module_class(session_maker)
    app.state.session_module = module
    app.state.wiring = module_class.name
    app.include_router(chat_router(module.request_session))
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(PoolTimeout, pool_exhausted)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(InjectedFault, injected_fault)
    return app
