"""Requests as a team writes them: a line (`'POST /orders {"sku": "A"}'`), headers (a token),
setup requests that are sent once and not swept (sign up, log in, create the parent row), and
values taken from an earlier response's JSON by a path (`user.token`, `items.0.id`) and used in
a later request as `${name}`; `${env.NAME}` reads the environment (a token kept out of files).

A request file (TOML) holds all of it:

    headers = { Authorization = "Token ${token}" }     # every request (optional; a setup
                                                       # request goes without it until saved)

    [[setup]]                                          # sent once, in order, not swept
    method = "POST"
    path = "/api/users"
    json = { user = { username = "sweep", email = "s@example.com", password = "pw-12345" } }
    save = { token = "user.token" }                    # name = path in the response's JSON

    [[setup]]                                          # a login form (OAuth2PasswordRequestForm)
    method = "POST"
    path = "/auth/token"
    form = { username = "s@example.com", password = "pw-12345" }
    save = { token = "access_token" }

    [[request]]                                        # swept, in order
    method = "POST"
    path = "/api/articles"
    json = { article = { title = "t", body = "b", description = "d" } }
    save = { slug = "article.slug" }

    [[request]]
    method = "POST"
    path = "/api/articles/${slug}/comments"
    headers = { "X-Trace" = "sweep" }                  # this request only (added to the above)
    json = { comment = { body = "first" } }
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")
_REQUEST_KEYS = frozenset({"method", "path", "json", "form", "headers", "save"})
_FILE_KEYS = frozenset({"headers", "setup", "request"})


class UsageError(ValueError):
    """Bad input to the sweep: the message is the one line the CLI prints."""


Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SweepRequest:
    method: str
    path: str
    body: Any = None  # parsed JSON, or None
    headers: Headers = ()  # sent as given; values may hold ${name}
    save: tuple[tuple[str, str], ...] = ()  # (name, JSON path in the response) to keep
    form: tuple[tuple[str, str], ...] | None = None  # a form body (a login), instead of JSON

    @classmethod
    def parse(cls, line: str) -> SweepRequest:
        """'METHOD PATH [JSON BODY]', as the CLI's --request takes it."""
        parts = line.strip().split(None, 2)
        if len(parts) < 2:
            raise UsageError(f"--request {line!r}: expected 'METHOD PATH [JSON BODY]'")
        body = None
        if len(parts) == 3:
            try:
                body = json.loads(parts[2])
            except json.JSONDecodeError as error:
                raise UsageError(f"--request {line!r}: the body is not JSON ({error})") from None
        return cls.build(parts[0], parts[1], body, where=f"--request {line!r}")

    @classmethod
    def build(
        cls,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Headers = (),
        save: tuple[tuple[str, str], ...] = (),
        form: tuple[tuple[str, str], ...] | None = None,
        where: str = "request",
    ) -> SweepRequest:
        if method.upper() not in METHODS:
            raise UsageError(f"{where}: unknown method {method!r}; use one of {', '.join(METHODS)}")
        if not path.startswith("/"):
            raise UsageError(f"{where}: the path must start with '/', got {path!r}")
        if form is not None and body is not None:
            raise UsageError(f"{where}: give 'json' or 'form', not both")
        return cls(method.upper(), path, body, headers, save, form)

    def with_headers(self, headers: Headers) -> SweepRequest:
        """`headers` first, then the request's own (which win for the same name)."""
        own = {name.lower() for name, _ in self.headers}
        kept = tuple((n, v) for n, v in headers if n.lower() not in own)
        return replace(self, headers=kept + self.headers)

    def describe(self) -> str:
        """Method, path and body: never the headers, which carry tokens."""
        if self.form is not None:  # the keys only: a form carries passwords
            return f"{self.method} {self.path} form({', '.join(k for k, _ in self.form)})"
        return f"{self.method} {self.path}" + (
            "" if self.body is None else f" {json.dumps(self.body)}"
        )

    def resolve(self, values: Mapping[str, Any], *, setup: bool = False) -> SweepRequest:
        """The request with every `${name}` replaced by a saved value (or `${env.NAME}`). A
        setup request leaves out a header naming a value not saved yet (the token a later
        setup request logs in for)."""
        where = f"request {self.describe()!r}"
        headers = []
        for name, value in self.headers:
            if setup and any(
                not m.group(1).startswith("env.") and m.group(1) not in values
                for m in _PLACEHOLDER.finditer(value)
            ):
                continue
            headers.append((name, str(substitute(value, values, where))))
        return replace(
            self,
            path=str(substitute(self.path, values, where)),
            body=substitute(self.body, values, where),
            headers=tuple(headers),
            form=None
            if self.form is None
            else tuple((k, str(substitute(v, values, where))) for k, v in self.form),
        )


@dataclass(frozen=True)
class RequestPlan:
    """What one sweep sends: setup requests (not swept), then the requests to sweep."""

    requests: list[SweepRequest]
    setup: list[SweepRequest] = field(default_factory=list)


def parse_header(text: str, where: str = "--header") -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or any(c.isspace() for c in name.strip()):
        raise UsageError(f"{where} {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def _lookup(name: str, values: Mapping[str, Any], where: str) -> Any:
    if name.startswith("env."):
        variable = name[4:]
        if variable not in os.environ:
            raise UsageError(f"{where}: ${{{name}}} names {variable}, which is not set")
        return os.environ[variable]
    if name not in values:
        known = ", ".join(sorted(values)) or "none yet"
        raise UsageError(
            f"{where}: ${{{name}}} is not a saved value (saved so far: {known}); save it "
            f'from an earlier request with `save = {{ {name} = "path.in.json" }}`'
        )
    return values[name]


def substitute(value: Any, values: Mapping[str, Any], where: str) -> Any:
    """`${name}` in strings, nested in lists and dicts; a string that is only `${name}` takes
    the saved value as it is (a number stays a number)."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), values, where)
        return _PLACEHOLDER.sub(lambda m: str(_lookup(m.group(1), values, where)), value)
    if isinstance(value, list):
        return [substitute(item, values, where) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, values, where) for key, item in value.items()}
    return value


def extract(document: Any, path: str) -> Any:
    """The value at `path` (`user.token`, `items.0.id`, a leading `$.` allowed); KeyError
    naming the first step that is missing."""
    current = document
    steps = [s for s in path.removeprefix("$").strip(".").split(".") if s]
    for number, step in enumerate(steps):
        if isinstance(current, list) and step.lstrip("-").isdigit():
            index = int(step)
            if -len(current) <= index < len(current):
                current = current[index]
                continue
        elif isinstance(current, dict) and step in current:
            current = current[step]
            continue
        raise KeyError(".".join(steps[: number + 1]))
    return current


def saved_values(request: SweepRequest, status: int | None, body: str) -> dict[str, Any]:
    """What `request.save` asks for, from its response; UsageError naming what is missing."""
    if not request.save:
        return {}
    where = f"{request.describe()} (HTTP {status})"
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        raise UsageError(
            f"{where}: cannot save {', '.join(n for n, _ in request.save)}: the response is "
            f"not JSON ({body[:120]!r})"
        ) from None
    found: dict[str, Any] = {}
    for name, path in request.save:
        try:
            found[name] = extract(document, path)
        except KeyError as missing:
            raise UsageError(
                f"{where}: cannot save {name}: the response's JSON has no {missing.args[0]!r} "
                f"(asked for {path!r})"
            ) from None
    return found


def _table(entry: Any, where: str) -> SweepRequest:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: expected a table with method and path")
    unknown = sorted(set(entry) - _REQUEST_KEYS)
    if unknown:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(unknown)}; use {', '.join(sorted(_REQUEST_KEYS))}"
        )
    if not isinstance(entry.get("method"), str) or not isinstance(entry.get("path"), str):
        raise UsageError(f"{where}: 'method' and 'path' are required strings")
    headers = _string_table(entry.get("headers", {}), f"{where}: headers")
    save = _string_table(entry.get("save", {}), f"{where}: save")
    form = None
    if "form" in entry:
        form = tuple(_string_table(entry["form"], f"{where}: form").items())
    return SweepRequest.build(
        entry["method"],
        entry["path"],
        entry.get("json"),
        headers=tuple(headers.items()),
        save=tuple(save.items()),
        form=form,
        where=where,
    )


def _string_table(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise UsageError(f'{where} must be a table of strings, e.g. {{ Name = "value" }}')
    return dict(value)


def load_request_file(path: Path) -> tuple[RequestPlan, Headers]:
    """The file's setup and requests, and its headers for every request."""
    where = f"--request-file {str(path)!r}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"{where}: cannot read it ({error.strerror or error})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{where}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(unknown)}; use headers, setup, request"
        )
    headers = tuple(_string_table(data.get("headers", {}), f"{where}: headers").items())
    setup = _entries(data.get("setup", []), f"{where}: setup")
    requests = _entries(data.get("request", []), f"{where}: request")
    if not requests:
        raise UsageError(f"{where}: no [[request]] to sweep")
    return RequestPlan(requests, setup), headers


def _entries(value: Any, where: str) -> list[SweepRequest]:
    if not isinstance(value, list):
        raise UsageError(f"{where}: expected [[...]] tables")
    return [_table(entry, f"{where} {number}") for number, entry in enumerate(value, start=1)]


def plan_with_headers(plan: RequestPlan, headers: Sequence[tuple[str, str]]) -> RequestPlan:
    """Every request of `plan` with `headers` (its own win)."""
    given = tuple(headers)
    return RequestPlan(
        [r.with_headers(given) for r in plan.requests], [r.with_headers(given) for r in plan.setup]
    )
