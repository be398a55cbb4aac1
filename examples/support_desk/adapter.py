"""The support desk's adapter for the regression pack, written against `scenarios.adapter` only.

What it maps between the pack and this app:

- the runner's chat-session keys (UUID strings) to the app's integer thread ids, and back;
- `threads` / `posts` / `thread_memory` to the pack's sessions / messages / agent contexts;
- authors `human` / `bot` to roles `user` / `assistant`, and 1-based `seq` to 0-based positions;
- the app's error envelope to `ChatResponse` (the path field `thread_id` is the pack's
  `session_id`), and an injected fault to `INJECTED_FAULT_CODE`;
- the app's checkpoints to the pack's named points; the app is synchronous and runs in
  FastAPI's threadpool, so a checkpoint hands the runner's async hook to the event loop with
  `asyncio.run_coroutine_threadsafe` and waits, bounded, for its answer.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from examples.support_desk import checkpoints
from examples.support_desk.api import create_app
from examples.support_desk.bootstrap import WIRINGS, bootstrap
from examples.support_desk.database import create_schema, make_engine
from examples.support_desk.orm import Base, PostRow, ThreadMemoryRow, ThreadRow
from scenarios.adapter import (
    INJECTED_FAULT_CODE,
    POINTS,
    Capability,
    ChatRequest,
    ChatResponse,
    DatabaseState,
    PointHook,
    SeedConversation,
    StoredMessage,
)
from scenarios.databases import Database
from scenarios.expectations import ExpectedOutcomes

EXPECTED_OUTCOMES_FILE = Path(__file__).with_name("expected_outcomes.toml")

# The app's checkpoint for each of the pack's points.
POINT_OF = {
    checkpoints.Checkpoint.QUESTION_SAVED: "after_user_message",
    checkpoints.Checkpoint.MEMORY_SAVED: "after_agent_context",
    checkpoints.Checkpoint.ANSWER_SAVED: "after_reply",
    checkpoints.Checkpoint.BEFORE_COMMIT: "at_commit",
}
assert sorted(POINT_OF.values()) == sorted(POINTS), "every pack point needs an app checkpoint"

ROLE_OF = {"human": "user", "bot": "assistant"}
AUTHOR_OF = {role: author for author, role in ROLE_OF.items()}
FIELD_OF = {"thread_id": "session_id"}  # the app's names for the pack's fields

# A paused request waits at most this long for the runner (which gives up after 5 s a step).
HOOK_TIMEOUT_S = 30.0

_threads = Base.metadata.tables[ThreadRow.__tablename__]
_posts = Base.metadata.tables[PostRow.__tablename__]
_memory = Base.metadata.tables[ThreadMemoryRow.__tablename__]


class InjectedFault(Exception):
    """Raised inside the app at a checkpoint where the runner asked for a failure."""


def sync_url(url: str) -> str:
    """The runner hands out async URLs; this app drives the same databases synchronously."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
    return parsed.set(drivername=driver[parsed.get_backend_name()]).render_as_string(
        hide_password=False
    )


def malformed_here(raw: str) -> str:
    """The pack calls any session id that is not a UUID malformed; this app calls any thread id
    that is not an integer malformed. A raw id such as "0" is both, so keep it malformed here."""
    try:
        int(raw)
    except ValueError:
        return raw
    return f"{raw}-not-an-integer"


def _parse(response: httpx.Response) -> ChatResponse:
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    error = body.get("error") or {}
    return ChatResponse(
        status=response.status_code,
        messages=tuple(
            StoredMessage(ROLE_OF[p["author"]], p["body"], p["seq"] - 1)
            for p in body.get("posts", [])
        ),
        error_code=error.get("code"),
        invalid_fields=tuple(FIELD_OF.get(f, f) for f in error.get("fields", [])),
        detail=str(error.get("message", "")),
    )


class SupportDeskTarget:
    """One wiring on one database. Every read and reset uses a fresh connection (`NullPool`)."""

    capabilities = Capability.ALL

    def __init__(self, client: httpx.AsyncClient, reader: Engine) -> None:
        self._client = client
        self._reader = reader
        self._ids: dict[str, int] = {}
        self._keys: dict[int, str] = {}
        self._next_id = itertools.count(1)

    def thread_id(self, key: str) -> int:
        """The app's integer id for one of the runner's keys, assigned on first sight."""
        if key not in self._ids:
            number = next(self._next_id)
            self._ids[key], self._keys[number] = number, key
        return self._ids[key]

    def key(self, thread_id: int) -> str:
        return self._keys.get(thread_id, f"thread {thread_id}")

    def _path(self, request: ChatRequest) -> str:
        if request.raw_session is None:
            return f"/threads/{self.thread_id(request.session)}/posts"
        return f"/threads/{malformed_here(request.raw_session)}/posts"

    async def send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        loop = asyncio.get_running_loop()

        async def ask(point: str) -> bool:
            return hook is not None and await hook(point)

        def at_checkpoint(name: checkpoints.Checkpoint) -> None:
            # Runs in the app's worker thread: ask the runner on the event loop, bounded.
            if hook is None:
                return
            point = POINT_OF[name]
            future = asyncio.run_coroutine_threadsafe(ask(point), loop)
            try:
                fail = future.result(timeout=HOOK_TIMEOUT_S)
            except TimeoutError:
                future.cancel()
                raise
            if fail:
                raise InjectedFault(point)

        with checkpoints.installed(at_checkpoint):
            try:
                if request.body is not None:
                    response = await self._client.post(
                        self._path(request),
                        content=request.body,
                        headers={"content-type": "application/json"},
                    )
                else:
                    response = await self._client.post(
                        self._path(request), json={"content": request.content}
                    )
            except InjectedFault as fault:
                return ChatResponse(
                    status=500, error_code=INJECTED_FAULT_CODE, detail=f"fault at {fault}"
                )
            except Exception as error:  # an unhandled app error reaches a client as a 500
                return ChatResponse(status=500, detail=f"{type(error).__name__}: {error}")
        return _parse(response)

    async def read_back(self, session: str) -> ChatResponse:
        return _parse(await self._client.get(f"/threads/{self.thread_id(session)}/posts"))

    async def read_state(self) -> DatabaseState:
        return await asyncio.to_thread(self._read_state)

    def _read_state(self) -> DatabaseState:
        with self._reader.connect() as connection:
            thread_ids = connection.scalars(select(_threads.c.id)).all()
            post_rows = connection.execute(
                select(_posts.c.thread_id, _posts.c.author, _posts.c.body, _posts.c.seq).order_by(
                    _posts.c.thread_id, _posts.c.seq
                )
            ).all()
            memory_rows = connection.execute(
                select(_memory.c.thread_id, func.count()).group_by(_memory.c.thread_id)
            ).all()
        threads = {self.key(t) for t in thread_ids}
        messages: dict[str, list[StoredMessage]] = defaultdict(list)
        for thread_id, author, body, seq in post_rows:
            messages[self.key(thread_id)].append(StoredMessage(ROLE_OF[author], body, seq - 1))
        contexts = {self.key(thread_id): count for thread_id, count in memory_rows}
        dangling = [f"posts.thread_id {k} -> threads" for k in messages if k not in threads] + [
            f"thread_memory.thread_id {k} -> threads" for k in contexts if k not in threads
        ]
        return DatabaseState(
            sessions=frozenset(threads),
            messages={key: tuple(rows) for key, rows in messages.items()},
            agent_contexts=contexts,
            dangling=tuple(dangling),
        )

    async def reset(self) -> None:
        await asyncio.to_thread(self._reset)

    def _reset(self) -> None:
        with self._reader.begin() as connection:
            for table in (_memory, _posts, _threads):
                connection.execute(delete(table))

    async def seed(self, conversations: Sequence[SeedConversation]) -> None:
        rows = [(self.thread_id(c.session), c) for c in conversations]
        await asyncio.to_thread(self._seed, rows)

    def _seed(self, rows: Sequence[tuple[int, SeedConversation]]) -> None:
        with self._reader.begin() as connection:
            for thread_id, conversation in rows:
                connection.execute(insert(_threads).values(id=thread_id))
                if conversation.messages:
                    connection.execute(
                        insert(_posts),
                        [
                            {
                                "thread_id": thread_id,
                                "author": AUTHOR_OF[role],
                                "body": body,
                                "seq": n,
                            }
                            for n, (role, body) in enumerate(conversation.messages, start=1)
                        ],
                    )
                if conversation.agent_context:
                    connection.execute(insert(_memory).values(thread_id=thread_id, state="{}"))


class SupportDeskTargetFactory:
    """What `--target examples.support_desk.adapter:TARGET` names."""

    name = "support_desk"
    wirings: Sequence[str] = tuple(WIRINGS)

    def __init__(self, expected_outcomes_file: Path = EXPECTED_OUTCOMES_FILE) -> None:
        self._expected = ExpectedOutcomes.from_toml(expected_outcomes_file)

    @asynccontextmanager
    async def open(self, wiring: str, database: Database) -> AsyncIterator[SupportDeskTarget]:
        url = sync_url(database.url)
        engine = make_engine(url)
        reader = make_engine(url, poolclass=NullPool)
        try:
            await asyncio.to_thread(create_schema, engine)
            app = create_app(bootstrap(engine, wiring))
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://support-desk"
            ) as client:
                yield SupportDeskTarget(client, reader)
        finally:
            engine.dispose()
            reader.dispose()

    def expected_outcome(self, scenario: str, interleaving: str, wiring: str, database: str) -> str:
        return self._expected(scenario, interleaving, wiring, database)


TARGET = SupportDeskTargetFactory()
