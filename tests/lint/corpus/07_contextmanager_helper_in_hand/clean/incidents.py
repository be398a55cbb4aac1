from sqlalchemy.orm import Session


def create_incident(db_session: Session, title: str) -> object:
    incident = object()
    db_session.add(incident)
    db_session.add(object())
    return incident
