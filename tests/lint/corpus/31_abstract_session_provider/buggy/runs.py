from sqlalchemy.orm import Session

from database import Database


def record_run(db: Database, session: Session, run: object) -> None:
    session.add(run)
    with db.session_context() as other:  # expect: SCN001
        other.add(object())
