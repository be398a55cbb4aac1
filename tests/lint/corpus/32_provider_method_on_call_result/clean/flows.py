from sqlalchemy.orm import Session

from database import provide_db


def set_state(session: Session, flow: object) -> None:
    session.add(flow)
    session.add(object())


def sweep() -> None:
    with provide_db().session_context() as session:
        set_state(session, object())
