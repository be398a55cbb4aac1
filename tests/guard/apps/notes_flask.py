"""A small Flask app over the same `notes` table, sync SQLAlchemy with a `scoped_session`
removed at teardown (the Flask-SQLAlchemy shape; the form POST that answers with a redirect is
modelled on pallets-eco/flask-sqlalchemy's examples/flaskr), wired correctly or with the
incident app's bug: a repository that opens its own session from the session maker and never
commits it."""

from __future__ import annotations

from flask import Flask, redirect, request
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from werkzeug.wrappers import Response

from tests.guard.apps.notes_api import Note

FLASK_WIRINGS = ("clean", "repository_own_session")


class OwnSessionRepository:
    def __init__(self, maker: sessionmaker[Session]) -> None:
        self.maker = maker

    def add(self, body: str) -> None:
        own = self.maker()  # guard: flask repository session
        own.add(Note(body=body))
        own.flush()
        own.close()


def create_app(engine: Engine, wiring: str) -> Flask:
    if wiring not in FLASK_WIRINGS:
        raise ValueError(f"unknown wiring {wiring!r}; one of {', '.join(FLASK_WIRINGS)}")
    maker = sessionmaker(engine)
    db = scoped_session(maker)
    app = Flask(__name__)
    app.extensions["notes_db"] = db

    @app.teardown_appcontext
    def remove_session(_error: BaseException | None) -> None:
        db.remove()

    @app.post("/notes")
    def create() -> tuple[dict[str, str], int]:
        body = str((request.get_json() or {})["body"])
        db.scalar(select(func.count()).select_from(Note))
        if wiring == "repository_own_session":
            OwnSessionRepository(maker).add(body)
        else:
            db.add(Note(body=body))
        db.commit()
        return {"saved": body}, 201

    @app.post("/notes/form")
    def create_from_form() -> Response:
        """An HTML form's POST: saved means a redirect (the flaskr example's shape)."""
        body = request.form["body"]
        if wiring == "repository_own_session":
            OwnSessionRepository(maker).add(body)
        else:
            db.add(Note(body=body))
        db.commit()
        return redirect("/notes/count")

    @app.get("/notes/count")
    def count() -> dict[str, int]:
        return {"count": int(db.scalar(select(func.count()).select_from(Note)) or 0)}

    return app
