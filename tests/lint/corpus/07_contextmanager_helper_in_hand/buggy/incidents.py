from sqlalchemy.orm import Session

from database import get_session


def create_incident(db_session: Session, title: str) -> object:
    incident = object()
    db_session.add(incident)
    with get_session() as other:  # expect: SCN001
        other.add(object())
    return incident
