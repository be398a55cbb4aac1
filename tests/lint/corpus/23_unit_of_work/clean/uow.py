# The clean side of cosmicpython/code's unit of work: the UoW opens the session, the repository
# only uses it.
from sqlalchemy.orm import Session, sessionmaker


class SqlAlchemyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, batch: object) -> None:
        self.session.add(batch)


class SqlAlchemyUnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def __enter__(self):
        self.session = self.session_factory()
        self.batches = SqlAlchemyRepository(self.session)
        return self

    def commit(self) -> None:
        self.session.commit()
