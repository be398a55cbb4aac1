# Modelled on keephq/keep's keep/api/core/db.py, a session-per-method module (each function
# opens `with Session(engine) as session:` and commits): `merge_incidents_to_id` holds its
# session while it calls `remove_alerts_to_incident_by_incident_id`, which opens and commits a
# second one; a failure later in the merge leaves the alerts removed.
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

engine = create_engine("sqlite:///keep.sqlite3")


def remove_alerts(incident_id: str) -> None:
    with Session(engine) as session:  # expect: SCN001
        session.delete(object())
        session.commit()


def merge_incidents(source_id: str, destination_id: str) -> None:
    with Session(engine) as session:
        session.add(object())
        remove_alerts(source_id)
        session.commit()


def read_incident(incident_id: str) -> object:
    with Session(engine) as session:
        return session.get(object, incident_id)
