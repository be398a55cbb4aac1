"""Input is validated before the driver sees it: a 422 naming the field, nothing stored."""

from __future__ import annotations

import uuid

import pytest

from benchmarks.audit import read_rows
from scenarios.databases import Database
from tests.reference_app.conftest import post, reference_client

BAD_BODIES = [
    pytest.param(b'{"content": ""}', "content", id="empty"),
    pytest.param(b'{"content": "   \\n\\t "}', "content", id="whitespace-only"),
    pytest.param(b'{"content": "' + b"x" * 10_001 + b'"}', "content", id="oversized"),
    pytest.param(b'{"content": "nul \\u0000 byte"}', "content", id="nul-byte"),
    pytest.param(b'{"content": "lone \\ud800 surrogate"}', "content", id="lone-surrogate"),
    pytest.param(b'{"content": 42}', "content", id="wrong-type"),
    pytest.param(b'{"text": "hi"}', "content", id="missing-field"),
    pytest.param(b'{"content": "\xff\xfe"}', "body", id="invalid-utf8"),
    pytest.param(b'{"content": ', "body", id="truncated-json"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
async def test_invalid_body_gets_a_422_naming_the_field_and_stores_nothing(
    clean_database: Database, body: bytes, field: str
) -> None:
    session_id = uuid.uuid4()
    async with reference_client(clean_database, "shared_session") as client:
        assert (await post(client, session_id, "Earlier")).status_code == 201
        response = await client.post(
            f"/sessions/{session_id}/messages",
            content=body,
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 422
    assert field in [problem["field"] for problem in response.json()["detail"]]
    rows = await read_rows(clean_database)
    assert [c for _, c, _ in rows.messages_of(session_id)] == ["Earlier", "Echo: Earlier"]


@pytest.mark.parametrize(
    "session_id", ["not-a-uuid", "1234", "00000000-0000-0000-0000-00000000000g"]
)
async def test_malformed_session_id_gets_a_422_naming_session_id(
    clean_database: Database, session_id: str
) -> None:
    async with reference_client(clean_database, "shared_session") as client:
        response = await client.post(f"/sessions/{session_id}/messages", json={"content": "hi"})
    assert response.status_code == 422
    assert [problem["field"] for problem in response.json()["detail"]] == ["session_id"]
    assert (await read_rows(clean_database)).sessions == set()


async def test_text_that_looks_like_sql_or_markup_is_stored_verbatim(
    clean_database: Database,
) -> None:
    session_id = uuid.uuid4()
    content = "'); DROP TABLE messages; -- <script>alert(1)</script> 🙂 ünïcödé"
    async with reference_client(clean_database, "unit_of_work") as client:
        assert (await post(client, session_id, content)).status_code == 201
        read = await client.get(f"/sessions/{session_id}/messages")
    assert read.json()["messages"][0]["content"] == content
    rows = await read_rows(clean_database)
    assert rows.messages_of(session_id)[0] == ("user", content, 0)


async def test_reading_an_unknown_chat_session_is_a_404(clean_database: Database) -> None:
    async with reference_client(clean_database, "shared_session") as client:
        response = await client.get(f"/sessions/{uuid.uuid4()}/messages")
    assert response.status_code == 404
