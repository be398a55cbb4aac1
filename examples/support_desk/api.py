"""HTTP: sync FastAPI endpoints (they run in the threadpool), one container scope per request.

Every error answers with the same envelope, `{"error": {"code", "message", "fields"}}`.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from examples.support_desk.container import Container
from examples.support_desk.database import RETRYABLE_CODES, driver_error_code
from examples.support_desk.desk import SupportDesk
from examples.support_desk.model import Post
from examples.support_desk.repositories import ThreadRepository

MAX_CONTENT_CHARS = 10_000


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    content: str

    @field_validator("content")
    @classmethod
    def _storable(cls, content: str) -> str:
        if not content.strip():
            raise ValueError("must not be empty or whitespace only")
        if len(content) > MAX_CONTENT_CHARS:
            raise ValueError(f"must be at most {MAX_CONTENT_CHARS} characters")
        if "\x00" in content:
            raise ValueError("must not contain NUL (U+0000)")
        try:
            content.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode: it contains a lone surrogate") from None
        return content


class PostOut(BaseModel):
    author: str
    body: str
    seq: int

    @classmethod
    def of(cls, post: Post) -> PostOut:
        return cls(author=post.author.value, body=post.body, seq=post.seq)


class ThreadOut(BaseModel):
    thread: int
    posts: list[PostOut]


def _error(status_code: int, code: str | None, message: str, fields: list[str]) -> JSONResponse:
    return JSONResponse(
        status_code=status_code,
        content={"error": {"code": code, "message": message, "fields": fields}},
    )


async def _invalid_request(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = []
    for problem in error.errors():
        names = [p for p in problem["loc"] if isinstance(p, str) and p not in ("body", "path")]
        fields.append(names[-1] if names else "body")
    return _error(422, "invalid_request", "the request is invalid", fields)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if isinstance(error.__cause__, UnicodeDecodeError):
        return _error(422, "invalid_request", "the body is not valid UTF-8", ["body"])
    return _error(error.status_code, None, str(error.detail), [])


async def _database_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DBAPIError)
    code = driver_error_code(error)
    if code in RETRYABLE_CODES:
        return _error(409, code, "the request conflicted with another; retry it", [])
    return _error(500, code, "database error", [])


def create_app(container: Container) -> FastAPI:
    app = FastAPI(title="support desk")

    def add_post(thread_id: int, body: PostIn) -> ThreadOut:
        with container.scope() as scope:
            asked, answered = scope.get(SupportDesk).handle(thread_id, body.content)
        return ThreadOut(thread=thread_id, posts=[PostOut.of(asked), PostOut.of(answered)])

    def list_posts(thread_id: int) -> ThreadOut:
        with container.scope() as scope:
            posts = scope.get(ThreadRepository).history(thread_id)
        if posts is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"thread {thread_id} not found")
        return ThreadOut(thread=thread_id, posts=[PostOut.of(p) for p in posts])

    app.add_api_route("/threads/{thread_id}/posts", add_post, methods=["POST"], status_code=201)
    app.add_api_route("/threads/{thread_id}/posts", list_posts, methods=["GET"])
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    return app
