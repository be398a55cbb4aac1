# The clean twin of keep's nested session-per-method shape: the inner function takes the
# caller's session when it has one (keep's own `session: Optional[Session] = None`), and each
# method that holds none is its own unit of work (SCN003, off by default, would flag those).
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

engine = create_engine("sqlite:///keep.sqlite3")


def remove_alerts(incident_id: str, session: Session) -> None:
    session.delete(object())


def merge_incidents(source_id: str, destination_id: str) -> None:
    with Session(engine) as session:
        session.add(object())
        remove_alerts(source_id, session=session)
        session.commit()


def close_incident(incident_id: str) -> None:
    with Session(engine) as session:
        session.add(object())
        session.commit()
        read_incident(incident_id)


def read_incident(incident_id: str) -> object:
    with Session(engine) as session:
        return session.get(object, incident_id)
