"""Malformed requests: each gets a clear 4xx naming the problem, or is stored exactly as sent;
either way the earlier data is intact, as plain SQL on a separate connection shows."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import httpx
import pytest

from benchmarks.audit import read_rows
from benchmarks.load import send_one, serving
from reference_app.api.schemas import MAX_CONTENT_CHARS
from scenarios.databases import Database

FIXED = ["shared_session", "unit_of_work"]
UNKNOWN = "unknown"  # stands for a fresh, never-used session id in the path


@dataclass(frozen=True)
class BodyToRefuse:
    """One malformed request. `body` is sent verbatim; `session` replaces the session id in the
    path. `field` is what the 4xx must name; `stored` is the content that must be stored as is."""

    body: bytes | None = None
    session: str | None = None
    content_type: str | None = "application/json"
    method: str = "POST"
    status: int = 422
    field: str | None = None
    stored: str | None = None


def _json(content: object) -> bytes:
    return json.dumps({"content": content}).encode()


SQL_TEXT = "'); DROP TABLE messages; -- SELECT * FROM sessions WHERE 1=1; \\x00"
MARKUP_TEXT = '<script>alert("x")</script><b>bold</b> &amp; &lt; ${{7*7}} {{7*7}} %s %(x)s'
UNICODE_TEXT = "🙂 ünïcödé עברית Z̸̢a͝l̶g̷o 👩‍👩‍👧 \u200b\u202e text"
PADDED_TEXT = "  keeps its padding\n\tand newlines  \n"
AT_THE_LIMIT = "y" * MAX_CONTENT_CHARS

CASES = {
    "empty": BodyToRefuse(_json(""), field="content"),
    "whitespace-only": BodyToRefuse(_json(" \n\t\u3000 "), field="content"),
    "oversized": BodyToRefuse(_json("x" * (MAX_CONTENT_CHARS + 1)), field="content"),
    "nul-byte": BodyToRefuse(_json("nul \x00 byte"), field="content"),
    "lone-high-surrogate": BodyToRefuse(b'{"content": "lone \\ud800 surrogate"}', field="content"),
    "lone-low-surrogate": BodyToRefuse(b'{"content": "lone \\udfff surrogate"}', field="content"),
    "invalid-utf8": BodyToRefuse(b'{"content": "\xff\xfe bytes"}', field="body"),
    "truncated-json": BodyToRefuse(b'{"content": "no end', field="body"),
    "empty-body": BodyToRefuse(b"", field="body"),
    "body-not-an-object": BodyToRefuse(b'"just a string"', field="body"),
    "body-is-a-list": BodyToRefuse(b'[{"content": "hi"}]', field="body"),
    "not-json-content-type": BodyToRefuse(_json("hi"), content_type="text/plain", field="body"),
    "content-is-a-number": BodyToRefuse(_json(42), field="content"),
    "content-is-null": BodyToRefuse(_json(None), field="content"),
    "content-is-a-list": BodyToRefuse(_json(["hi"]), field="content"),
    "content-is-a-boolean": BodyToRefuse(_json(True), field="content"),
    "missing-content": BodyToRefuse(b'{"text": "hi"}', field="content"),
    "unexpected-field": BodyToRefuse(b'{"content": "hi", "role": "system"}', field="role"),
    "malformed-session-id": BodyToRefuse(session="not-a-uuid", field="session_id"),
    "session-id-with-sql": BodyToRefuse(session="1'; DROP TABLE sessions;--", field="session_id"),
    "session-id-too-short": BodyToRefuse(session="1234", field="session_id"),
    "unknown-session-read": BodyToRefuse(session=UNKNOWN, method="GET", status=404),
    "unknown-session-post-creates-it": BodyToRefuse(session=UNKNOWN, status=201, stored="hi there"),
    "sql-text-verbatim": BodyToRefuse(status=201, stored=SQL_TEXT),
    "markup-text-verbatim": BodyToRefuse(status=201, stored=MARKUP_TEXT),
    "unicode-text-verbatim": BodyToRefuse(status=201, stored=UNICODE_TEXT),
    "padding-kept-verbatim": BodyToRefuse(status=201, stored=PADDED_TEXT),
    "exactly-at-the-limit": BodyToRefuse(status=201, stored=AT_THE_LIMIT),
}


async def _send(client: httpx.AsyncClient, case: BodyToRefuse, session: str) -> httpx.Response:
    path = f"/sessions/{session}/messages"
    if case.method == "GET":
        return await client.get(path)
    if case.body is None:
        return await client.post(path, json={"content": case.stored})
    headers = {"content-type": case.content_type} if case.content_type else {}
    return await client.post(path, content=case.body, headers=headers)


@pytest.mark.parametrize("wiring", FIXED)
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_malformed_request_gets_a_clear_4xx_or_is_stored_exactly(
    clean_database: Database, wiring: str, case: BodyToRefuse
) -> None:
    earlier = uuid.uuid4()
    fresh = uuid.uuid4()
    target = {None: str(earlier), UNKNOWN: str(fresh)}.get(case.session, case.session)
    assert target is not None
    async with serving(clean_database, wiring) as app:
        assert (await send_one(app.client, 0, earlier, "earlier message")).acknowledged
        before = await read_rows(clean_database)
        response = await _send(app.client, case, target)
    after = await read_rows(clean_database)

    assert response.status_code == case.status, response.text
    if case.field is not None:
        problems = response.json()["detail"]
        assert case.field in [problem["field"] for problem in problems]
        assert all(problem["msg"] for problem in problems)
    if case.status == 404:
        assert str(fresh) in response.json()["detail"]
    if case.stored is None:
        assert after.contents() == before.contents()
        return
    stored_in = fresh if case.session == UNKNOWN else earlier
    first = 0 if case.session == UNKNOWN else 2
    added = after.contents() - before.contents()
    expected: list[tuple[object, ...]] = [
        ("message", stored_in, "user", case.stored, first),
        ("message", stored_in, "assistant", f"Echo: {case.stored}", first + 1),
    ]
    if case.session == UNKNOWN:
        expected += [("session", fresh), ("agent_context", fresh, '{"turns": 1}')]
    assert sorted(map(repr, added.elements())) == sorted(map(repr, expected))
    assert before.contents() - after.contents() == {}
    assert [m["content"] for m in response.json()["messages"]] == [
        case.stored,
        f"Echo: {case.stored}",
    ]


MANY = 150


@pytest.mark.slow(reason="sends its MANY requests one after another through the whole app")
@pytest.mark.parametrize("wiring", FIXED)
async def test_very_many_messages_in_one_session_keep_their_order(
    clean_database: Database, wiring: str
) -> None:
    session_id = uuid.uuid4()
    async with serving(clean_database, wiring) as app:
        for i in range(MANY):
            sent = await send_one(app.client, i, session_id, f"message {i}")
            assert sent.positions == (2 * i, 2 * i + 1), sent.describe()
        read = await app.client.get(f"/sessions/{session_id}/messages")
    expected = [
        (role, content, position)
        for i in range(MANY)
        for role, content, position in (
            ("user", f"message {i}", 2 * i),
            ("assistant", f"Echo: message {i}", 2 * i + 1),
        )
    ]
    rows = await read_rows(clean_database)
    assert rows.messages_of(session_id) == expected
    assert [(m["role"], m["content"], m["position"]) for m in read.json()["messages"]] == expected
    assert len(rows.agent_contexts) == 1
