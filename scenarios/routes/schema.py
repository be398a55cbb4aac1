"""The app's OpenAPI schema, read from the app itself in-process, and its write operations.

Schemathesis fetches the schema the way a client would (`GET /openapi.json`, or where the app
says it serves it: FastAPI's `openapi_url`), which also starts an ASGI app's lifespan, so the
app creates its tables before the first generated request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scenarios.sweep.app import UsageError, is_asgi

if TYPE_CHECKING:
    from schemathesis.schemas import APIOperation, BaseSchema

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# FastAPI, Litestar and many others; a FastAPI app under /api; APIFairy (Flask); flasgger.
COMMON_SCHEMA_PATHS = (
    "/openapi.json",
    "/api/openapi.json",
    "/docs/openapi.json",
    "/apispec.json",
    "/swagger.json",
)


@dataclass(frozen=True)
class WriteOperation:
    """One write route of the schema; `error` when Schemathesis cannot generate for it."""

    method: str
    path: str
    operation: APIOperation[Any, Any, Any, Any] | None
    error: str | None = None

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


def schema_paths(app: Any, given: str | None) -> list[str]:
    """Where to look: the path given, else the app's own `openapi_url`, else the usual ones."""
    if given:
        return [given]
    own = getattr(app, "openapi_url", None)
    paths = [own] if isinstance(own, str) and own.startswith("/") else []
    return paths + [p for p in COMMON_SCHEMA_PATHS if p not in paths]


def load_schema(app: Any, given_path: str | None, headers: dict[str, str]) -> BaseSchema:
    """The schema, from the first path that serves one; a UsageError naming the paths tried."""
    import schemathesis
    from schemathesis.core.errors import LoaderError

    loader = schemathesis.openapi.from_asgi if is_asgi(app) else schemathesis.openapi.from_wsgi
    problems = []
    for path in schema_paths(app, given_path):
        try:
            return loader(path, app, headers=headers)
        except LoaderError as error:
            problems.append(f"{path} ({str(error).splitlines()[0][:120]})")
        except RuntimeError as error:  # the app's lifespan failed
            raise UsageError(f"the app did not start: {str(error).splitlines()[0]}") from None
    raise UsageError(
        "no OpenAPI schema found at " + ", ".join(problems) + "; give its path with --schema-path"
    )


def write_operations(schema: BaseSchema) -> list[WriteOperation]:
    """Every POST, PUT, PATCH and DELETE of the schema, in the schema's order."""
    found: list[WriteOperation] = []
    for result in schema.get_all_operations():
        if hasattr(result, "ok"):
            operation = result.ok()
            if operation.method.upper() in WRITE_METHODS:
                found.append(WriteOperation(operation.method.upper(), operation.path, operation))
            continue
        error = result.err()
        method = str(getattr(error, "method", "") or "").upper()
        path = str(getattr(error, "path", "") or "?")
        if method in WRITE_METHODS:
            reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
            found.append(WriteOperation(method, path, None, f"schema error: {reason}"))
    return found
