from sqlalchemy.orm import Session

from database import provide_db


def set_state(session: Session, flow: object) -> None:
    session.add(flow)
    with provide_db().session_context() as events:  # expect: SCN001
        events.add(object())
