"""Every write operation, sent in-process through the session guard: each request one unit.

Operations go in rounds: creates (POST, by path depth: `/articles` before
`/articles/{slug}/comments`), creates again (now each can name what any other made: a notebook
created with the notes made after it), updates, and deletes last, so later requests find the
resources earlier ones made. Each request is bounded, and so is the whole run (a time budget and
a number of examples per operation)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scenarios.guard import GuardFinding, SessionGuardMiddleware, SessionGuardWSGIMiddleware
from scenarios.routes.generation import GenerationFailed, generate
from scenarios.routes.schema import WriteOperation
from scenarios.routes.values import Harvest, Use, carry, plausible
from scenarios.sweep.app import is_asgi

if TYPE_CHECKING:
    from schemathesis import Case

REQUEST_TIMEOUT_S = 30.0
_ORDER = {"POST": 0, "PUT": 1, "PATCH": 1, "DELETE": 2}


@dataclass
class Exchange:
    """One generated request, what it carried from earlier ones, and what it got."""

    number: int
    route: str  # "POST /items/{item_id}"
    template: str
    method: str
    path: str  # as sent
    query: dict[str, Any]
    body: Any  # None when the request has none
    media_type: str | None
    headers: dict[str, str]  # the ones generated from the schema (not --header)
    path_parameters: dict[str, Any]
    uses: list[Use]
    status: int | None = None  # None: no answer within the bound
    detail: str = ""
    findings: list[GuardFinding] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        body = "" if self.body is None else " " + json.dumps(self.body, default=str)[:300]
        return f"{self.method} {self.path}{body}"


@dataclass
class OperationRun:
    operation: WriteOperation
    exchanges: list[Exchange] = field(default_factory=list)
    error: str | None = None  # why no request could be made


@dataclass
class DriveResult:
    runs: list[OperationRun]
    requests: int = 0
    duration_s: float = 0.0
    out_of_time: bool = False
    stopped: str | None = None  # a request that never answered: the run could not go on


def ordered(operations: list[WriteOperation]) -> list[WriteOperation]:
    def key(op: WriteOperation) -> tuple[int, int, str]:
        return (_ORDER.get(op.method, 3), op.path.count("/"), op.path)

    return sorted(operations, key=key)


def _parse(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


class Driver:
    """Sends the requests; the guard's sink files each unit's findings under the request."""

    def __init__(
        self,
        app: Any,
        headers: dict[str, str],
        *,
        examples: int,
        budget_s: float,
        seed: int,
        progress: Callable[[str], None],
    ) -> None:
        self.headers = headers
        self.examples = examples
        self.budget_s = budget_s
        self.seed = seed
        self.progress = progress
        self.harvest = Harvest()
        self.exchanges: list[Exchange] = []
        self._current: Exchange | None = None
        self.asgi = is_asgi(app)
        wrapper = SessionGuardMiddleware if self.asgi else SessionGuardWSGIMiddleware
        self.guarded = wrapper(app, sink=self._sink)
        self._deadline = 0.0
        self.stopped: str | None = None
        self.base_path = ""  # the schema's server path (`servers: [{url: /api}]`), if any

    def _sink(self, findings: Any) -> None:
        if self._current is not None:
            self._current.findings.extend(findings)

    def out_of_time(self) -> bool:
        return time.monotonic() >= self._deadline

    def run(self, operations: list[WriteOperation]) -> DriveResult:
        started = time.monotonic()
        self._deadline = started + self.budget_s
        runs = {op.route: OperationRun(op, error=op.error) for op in operations}
        todo = ordered([op for op in operations if op.operation is not None])
        if todo and todo[0].operation is not None:
            base = urlsplit(todo[0].operation.base_url or "").path
            self.base_path = base.rstrip("/")
        creates = [op for op in todo if op.method == "POST"]
        rounds = [
            ("creates", creates),
            ("creates again, naming what every create made", creates),
            ("updates", [op for op in todo if op.method in ("PUT", "PATCH")]),
            ("deletes", [op for op in todo if op.method == "DELETE"]),
        ]
        for number, (name, operations_now) in enumerate(rounds):
            if number == 1:
                operations_now = [op for op in operations_now if _worth_again(runs[op.route])]
            if operations_now and not (self.out_of_time() or self.stopped):
                self.progress(f"{name}: {len(operations_now)} operation(s)")
            for place, op in enumerate(operations_now, start=1):
                if self.out_of_time() or self.stopped:
                    break
                self._operation(runs[op.route], place, len(operations_now), round_=number)
        result = DriveResult(list(runs.values()), len(self.exchanges))
        result.duration_s = time.monotonic() - started
        result.out_of_time = self.out_of_time() and not self.stopped
        result.stopped = self.stopped
        return result

    def _operation(self, run: OperationRun, place: int, total: int, *, round_: int) -> None:
        op = run.operation
        assert op.operation is not None
        seed = self.seed + place + 1000 * round_
        try:
            cases = generate(op.operation, self.examples, seed)
        except GenerationFailed as error:
            run.error = run.error or f"Schemathesis could not generate a request: {error}"
            self.progress(f"[{place}/{total}] {op.route}: {run.error}")
            return
        sent: list[Exchange] = []
        for index, case in enumerate(cases):
            if self.out_of_time() or self.stopped:
                break
            sent.append(self._send(op, case, in_body=index % 2 == 0))
        run.exchanges += sent
        statuses = ", ".join(str(e.status) for e in sent)
        found = sum(1 for e in sent for f in e.findings if not f.note)
        self.progress(
            f"[{place}/{total}] {op.route}: {len(sent)} requests ({statuses})"
            + (f"; {found} guard finding(s)" if found else "")
        )

    def _send(self, op: WriteOperation, case: Case[Any], *, in_body: bool) -> Exchange:
        from schemathesis.core import NOT_SET

        body = None if case.body is NOT_SET else case.body
        uses = carry(self.harvest, op.path, case.path_parameters, body, in_body=in_body)
        if in_body:
            plausible(body, len(self.exchanges))
        exchange = Exchange(
            number=len(self.exchanges),
            route=op.route,
            template=op.path,
            method=op.method,
            path=self.base_path + case.formatted_path,
            query=dict(case.query or {}),
            body=body,
            media_type=case.media_type,
            headers={str(k): str(v) for k, v in dict(case.headers or {}).items()},
            path_parameters=dict(case.path_parameters or {}),
            uses=uses,
        )
        self.exchanges.append(exchange)
        self._current = exchange
        started = time.monotonic()
        try:
            response = self._call(case)
        finally:
            exchange.duration_s = time.monotonic() - started
        self._current = None
        if response is None:
            exchange.detail = f"no answer within {REQUEST_TIMEOUT_S:.0f} s"
            self.stopped = f"{exchange.describe()}: {exchange.detail}"
            return exchange
        if isinstance(response, BaseException):
            exchange.status = 500
            exchange.detail = f"the app raised {type(response).__name__}: {response}"[:300]
            return exchange
        exchange.status = response.status_code
        exchange.detail = response.content[:300].decode("utf-8", "replace")
        if exchange.succeeded and op.method == "DELETE":
            self.harvest.forget(uses)
        elif exchange.succeeded:
            location = (response.headers.get("location") or [None])[0]
            self.harvest.add(exchange.number, op.path, _parse(response.content), location)
        return exchange

    def _call(self, case: Case[Any]) -> Any:
        """The response; an exception the app raised; None when it did not answer in time."""
        if self.asgi:
            import requests

            try:
                return case.call(app=self.guarded, headers=self.headers, timeout=REQUEST_TIMEOUT_S)
            except requests.exceptions.Timeout:
                return None
            except Exception as error:  # noqa: BLE001 - the app's error is the answer
                return error
        box: list[Any] = []

        def call() -> None:
            try:
                box.append(case.call(app=self.guarded, headers=self.headers))
            except Exception as error:  # noqa: BLE001 - the app's error is the answer
                box.append(error)

        worker = threading.Thread(target=call, name="routes-wsgi-request", daemon=True)
        worker.start()
        worker.join(REQUEST_TIMEOUT_S)
        return box[0] if box else None


def _worth_again(run: OperationRun) -> bool:
    """Creates go twice; not one whose every try was refused for want of credentials."""
    return any(e.status not in (401, 403) for e in run.exchanges)
