"""A sync FastAPI app with a module-level engine and session maker (`database.py` in the
tutorials' layout, made at import), an API key on every write, ids the server makes (uuid4),
and writes with Core statements: a note through the request's session, its audit row through
a bare connection (`engine.begin()`).

- `clean_app`: the audit row goes through the request's session, committed with the note;
- `buggy_app`: the audit row goes through `engine.connect()`, which is never committed (the
  connection rolls back when it closes), and the route answers 201: a Core write on a second
  connection, lost.

Swept with `--app tests.sweep.engine_app:clean_app --engine tests.sweep.engine_app:engine
--metadata tests.sweep.engine_app:metadata --header 'X-API-Key: ...'`: the engine attribute is
replaced and `SessionLocal`, bound to it, is rebound; nothing private is touched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel
from sqlalchemy import Column, ForeignKey, MetaData, String, Table, create_engine, insert
from sqlalchemy.orm import Session, sessionmaker

API_KEY = "engine-app-key"

engine = create_engine(os.environ.get("ENGINE_APP_DB", "sqlite:///engine-app.sqlite3"))
SessionLocal = sessionmaker(bind=engine)

metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("text", String(200), nullable=False),
)
audit = Table(
    "audit",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("note_id", ForeignKey("notes.id"), nullable=True),
    Column("action", String(20), nullable=False),
)


def get_db() -> Iterator[Session]:
    session = SessionLocal()
    try:
        yield session
    finally:
        session.close()


def api_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
    if x_api_key != API_KEY:
        raise HTTPException(401, "missing or bad X-API-Key")


class NoteIn(BaseModel):
    text: str


Db = Annotated[Session, Depends(get_db)]


def build(*, planted: bool) -> FastAPI:
    app = FastAPI()

    @app.post("/notes", status_code=201, dependencies=[Depends(api_key)])
    def create_note(body: NoteIn, db: Db) -> dict[str, Any]:
        note_id = uuid.uuid4().hex
        row = {"id": uuid.uuid4().hex, "note_id": None, "action": "create"}
        if planted:
            with engine.connect() as connection:  # the bug: a connection of its own
                connection.execute(insert(audit).values(**row))
        else:
            db.execute(insert(audit).values(**row))
        db.execute(insert(notes).values(id=note_id, text=body.text))
        db.commit()
        return {"note": {"id": note_id, "text": body.text}}

    return app


clean_app = build(planted=False)
buggy_app = build(planted=True)
