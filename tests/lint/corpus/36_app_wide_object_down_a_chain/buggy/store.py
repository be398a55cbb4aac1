# Modelled on the chain issue 28 reports from an agent server (kept aside, written from the
# issue's words); the buggy twin holds the session one step away: the repository it was given
# holds the request's session, and the sync opens a second one next to it.
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


class Syncer:
    def __init__(self, repository: Repository) -> None:
        self.repository = repository

    def sync(self) -> None:
        with SessionLocal() as session:  # expect: SCN001
            session.add(object())
            session.commit()
