# Modelled on cosmicpython/code's SqlAlchemyUnitOfWork (src/allocation/service_layer/
# unit_of_work.py), whose __enter__ opens the one session from an injected session_factory:
# that is silent; a repository inside it that opens its own session is reported.
from sqlalchemy.orm import Session, sessionmaker


class SqlAlchemyRepository:
    def __init__(self, session: Session, session_factory: sessionmaker[Session]) -> None:
        self.session = session
        self.session_factory = session_factory

    def add(self, batch: object) -> None:
        with self.session_factory() as own:  # expect: SCN001
            own.add(batch)
            own.commit()


class SqlAlchemyUnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def __enter__(self):
        self.session = self.session_factory()
        self.batches = SqlAlchemyRepository(self.session, self.session_factory)
        return self

    def commit(self) -> None:
        self.session.commit()
