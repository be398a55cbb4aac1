from sqlalchemy.orm import Session

from database import Database


def record_run(session: Session, run: object) -> None:
    session.add(run)
    session.add(object())


def nightly(db: Database) -> None:
    with db.session_context() as session:
        record_run(session, object())
